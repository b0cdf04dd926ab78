import { managerV1 } from '@agenstra/proto';
import { InvalidArgumentError } from '@agenstra/shared';

// Field rules from proto/agenstra/manager/v1/agents.proto; each error names the field.

const AGENT_ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const ENV_KEY_PATTERN = /^[A-Z_][A-Z0-9_]*$/;
const MAX_ENV_ENTRIES = 64;
const MAX_ENV_VALUE_BYTES = 4096;
/** The manager sets these itself; a user value would silently change the agent's type. */
const RESERVED_ENV_PREFIX = 'AGENSTRA_';
const MIB = 1024 ** 2;

export const MUTABLE_FIELDS = [
  'display_name',
  'image',
  'resources',
  'model',
  'environment',
  'secret_environment',
] as const;
export type MutableField = (typeof MUTABLE_FIELDS)[number];

const fail = (field: string, message: string): never => {
  throw new InvalidArgumentError(`${field}: ${message}`);
};

/** `agents/{agent}` → {agent}. */
export function agentIdOfName(name: string, field = 'name'): string {
  const match = /^agents\/([^/]+)$/.exec(name);
  if (!match || !AGENT_ID_PATTERN.test(match[1])) {
    fail(
      field,
      `expected "agents/{agent}" with {agent} of 1 to 63 characters [a-z0-9-], got "${name}"`,
    );
  }
  return match![1];
}

export function validateAgentId(agentId: string): void {
  if (!AGENT_ID_PATTERN.test(agentId)) {
    fail('agent_id', '1 to 63 characters of [a-z0-9-], starting and ending with a letter or digit');
  }
}

export function validateDisplayName(displayName: string, field = 'agent.display_name'): void {
  const length = [...displayName].length;
  if (length < 1 || length > 63 || displayName.trim() === '') {
    fail(field, 'required, 1 to 63 characters');
  }
}

export function validateType(type: managerV1.AgentType): void {
  const known = Object.values(managerV1.AgentType).includes(type);
  if (
    type === managerV1.AgentType.AGENT_TYPE_UNSPECIFIED ||
    !known ||
    type === managerV1.AgentType.UNRECOGNIZED
  ) {
    fail('agent.type', 'required: one of ECHO, CURSOR, CLAUDE_CODE, OPENCODE, CODEX');
  }
}

export function validateImage(image: string): void {
  if (image.length > 255 || /[\s\0]/.test(image)) {
    fail('agent.image', 'a Docker image reference of at most 255 characters without spaces');
  }
}

export function validateModel(model: string): void {
  if ([...model].length > 128 || /[\0\n]/.test(model))
    fail('agent.model', 'at most 128 characters');
}

export function validateResources(resources: managerV1.AgentResources | undefined): void {
  if (!resources) return;
  const { cpuMillis, pidsLimit } = resources;
  const memory = Number(resources.memoryBytes);
  if (cpuMillis !== 0 && (cpuMillis < 100 || cpuMillis > 64000)) {
    fail('agent.resources.cpu_millis', '0 (default) or 100 to 64000 millicores');
  }
  if (memory !== 0 && (memory < 64 * MIB || memory > 256 * 1024 * MIB)) {
    fail('agent.resources.memory_bytes', '0 (default) or 64 MiB (67108864) to 256 GiB');
  }
  if (pidsLimit !== 0 && (pidsLimit < 64 || pidsLimit > 65536)) {
    fail('agent.resources.pids_limit', '0 (default) or 64 to 65536');
  }
}

export function validateEnvironment(environment: Record<string, string>, field: string): void {
  const entries = Object.entries(environment);
  if (entries.length > MAX_ENV_ENTRIES) fail(field, `at most ${MAX_ENV_ENTRIES} entries`);
  for (const [key, value] of entries) {
    if (!ENV_KEY_PATTERN.test(key)) fail(field, `key "${key}" does not match [A-Z_][A-Z0-9_]*`);
    if (key.startsWith(RESERVED_ENV_PREFIX))
      fail(field, `key "${key}": ${RESERVED_ENV_PREFIX}* is reserved`);
    if (Buffer.byteLength(value) > MAX_ENV_VALUE_BYTES || value.includes('\0')) {
      // Never echo the value: it may be a secret.
      fail(field, `value of "${key}" is longer than 4 KiB or contains NUL`);
    }
  }
}

export function validateEnvironments(
  environment: Record<string, string>,
  secretEnvironment: Record<string, string>,
): void {
  validateEnvironment(environment, 'agent.environment');
  validateEnvironment(secretEnvironment, 'agent.secret_environment');
  const both = Object.keys(secretEnvironment).filter((key) => key in environment);
  if (both.length > 0) {
    fail('agent.secret_environment', `keys also in environment: ${both.sort().join(', ')}`);
  }
}

export interface RepositoryRules {
  /** `http://` URLs are refused unless the operator allows them (GIT_ALLOW_PLAINTEXT_HTTP). */
  allowPlaintextHttp: boolean;
}

export function validateRepository(
  repository: managerV1.Repository | undefined,
  rules: RepositoryRules,
): void {
  if (!repository) return;
  const { url, branch, credentials } = repository;
  const field = 'agent.repository';
  if (!url || url.length > 2048) fail(`${field}.url`, 'required, at most 2048 characters');
  if (/^http:\/\//.test(url) && !rules.allowPlaintextHttp) {
    fail(`${field}.url`, 'http:// sends credentials unencrypted; use https:// or ssh://');
  }
  if (/^https?:\/\//.test(url)) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      fail(`${field}.url`, 'not a valid https URL');
    }
    if (parsed!.username || parsed!.password) {
      fail(`${field}.url`, 'must not contain credentials; use repository.credentials');
    }
  } else if (
    !/^ssh:\/\/[^\s:/@]+@[^\s/]+\/\S+$/.test(url) &&
    !/^[^\s:/@]+@[^\s:/]+:\S+$/.test(url)
  ) {
    fail(`${field}.url`, 'expected https://host/path, ssh://user@host/path or user@host:path');
  }
  if (branch.length > 255 || /[\s\0~^:?*[\\]|\.\.|^-/.test(branch)) {
    fail(`${field}.branch`, 'a git branch name of at most 255 characters');
  }
  switch (credentials?.$case) {
    case 'httpsToken': {
      const { token, username } = credentials.value;
      if (!token || token.length > 4096)
        fail(`${field}.https_token.token`, 'required, 1 to 4096 characters');
      if (username.length > 255) fail(`${field}.https_token.username`, 'at most 255 characters');
      break;
    }
    case 'usernamePassword': {
      const { username, password } = credentials.value;
      if (!username || username.length > 255) {
        fail(`${field}.username_password.username`, 'required, 1 to 255 characters');
      }
      if (!password || password.length > 4096) {
        fail(`${field}.username_password.password`, 'required, 1 to 4096 characters');
      }
      break;
    }
    case 'sshKey': {
      const { privateKey, knownHosts } = credentials.value;
      if (!privateKey || Buffer.byteLength(privateKey) > 16 * 1024) {
        fail(`${field}.ssh_key.private_key`, 'required, at most 16 KiB');
      }
      if (Buffer.byteLength(knownHosts) > 64 * 1024)
        fail(`${field}.ssh_key.known_hosts`, 'at most 64 KiB');
      break;
    }
  }
}

/** The mask's paths as mutable fields; `resources.cpu_millis` and the like select `resources`. */
export function mutableFieldsOf(paths: string[] | undefined): Set<MutableField> {
  if (!paths || paths.length === 0) fail('update_mask', 'required: name the fields to update');
  const fields = new Set<MutableField>();
  for (const path of paths!) {
    const top = path.split('.')[0];
    if (
      !(MUTABLE_FIELDS as readonly string[]).includes(top) ||
      (path !== top && top !== 'resources')
    ) {
      fail('update_mask', `"${path}" is not updatable; updatable: ${MUTABLE_FIELDS.join(', ')}`);
    }
    fields.add(top as MutableField);
  }
  return fields;
}
