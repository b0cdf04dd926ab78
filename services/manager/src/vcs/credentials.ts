import { randomUUID } from 'node:crypto';
import type { RepositoryCredentialsKind } from '../agents/index.js';
import type { CommandRunner } from './container-sessions.js';

/** The opened credentials oneof value, as AgentService stores it (sealed JSON). */
export interface RepositoryCredentials {
  kind: RepositoryCredentialsKind;
  token?: string;
  username?: string;
  password?: string;
  privateKey?: string;
  passphrase?: string;
  knownHosts?: string;
}

/** What one remote git command needs: its environment and the secrets to scrub from its output. */
export interface CredentialSession {
  env: Record<string, string>;
  secrets: string[];
  /** Removes whatever was written into the container for this command. */
  dispose(): Promise<void>;
}

/**
 * HTTPS credentials are answered by a credential helper configured through GIT_CONFIG_* of this
 * exec alone: the helper reads the secret from the exec's environment, so it is in no file,
 * no argv and no process list (only the agent's user and root can read /proc/<pid>/environ).
 * The empty first helper clears any helper the repository configured.
 *
 * An SSH key is written to a 0600 file of the agent user under $HOME/.agenstra (ssh reads keys
 * only from files) and removed after the command. A key's passphrase is answered like an HTTPS
 * password: an askpass script there prints it from the exec's environment.
 */
export async function openCredentialSession(
  exec: CommandRunner,
  containerId: string,
  credentials: RepositoryCredentials | undefined,
): Promise<CredentialSession> {
  if (!credentials) return { env: {}, secrets: [], dispose: async () => undefined };
  if (credentials.kind === 'ssh_key') return sshSession(exec, containerId, credentials);
  const username =
    credentials.kind === 'https_token'
      ? credentials.username || 'x-access-token'
      : (credentials.username ?? '');
  const password =
    (credentials.kind === 'https_token' ? credentials.token : credentials.password) ?? '';
  return {
    env: {
      AGENSTRA_GIT_USERNAME: username,
      AGENSTRA_GIT_PASSWORD: password,
      GIT_CONFIG_COUNT: '2',
      GIT_CONFIG_KEY_0: 'credential.helper',
      GIT_CONFIG_VALUE_0: '',
      GIT_CONFIG_KEY_1: 'credential.helper',
      GIT_CONFIG_VALUE_1:
        '!f() { test "$1" = get && printf \'username=%s\\npassword=%s\\n\' "$AGENSTRA_GIT_USERNAME" "$AGENSTRA_GIT_PASSWORD"; }; f',
    },
    secrets: [password],
    dispose: async () => undefined,
  };
}

async function sshSession(
  exec: CommandRunner,
  containerId: string,
  credentials: RepositoryCredentials,
): Promise<CredentialSession> {
  const dir = `/home/agent/.agenstra/ssh-${randomUUID()}`;
  const key = `${dir}/key`;
  const knownHosts = `${dir}/known_hosts`;
  const askpass = `${dir}/askpass`;
  const write = async (file: string, content: string, mode = '600') => {
    const result = await exec.run(
      containerId,
      [
        'sh',
        '-c',
        'umask 077 && mkdir -p "$(dirname "$1")" && cat > "$1" && chmod "$2" "$1"',
        'sh',
        file,
        mode,
      ],
      { stdin: content.endsWith('\n') ? content : `${content}\n` },
    );
    if (result.exitCode !== 0) throw new Error('could not write the SSH key into the container');
  };
  const dispose = async () => {
    await exec.run(containerId, ['rm', '-rf', '--', dir]);
  };
  const passphrase = credentials.passphrase ?? '';
  try {
    await write(key, credentials.privateKey ?? '');
    if (credentials.knownHosts) await write(knownHosts, credentials.knownHosts);
    if (passphrase) {
      await write(askpass, '#!/bin/sh\nprintf \'%s\\n\' "$AGENSTRA_SSH_PASSPHRASE"\n', '700');
    }
  } catch (error) {
    await dispose();
    throw error;
  }
  const hostsFile = credentials.knownHosts ? knownHosts : '/home/agent/.ssh/known_hosts';
  const options = [
    `-i ${key}`,
    '-o IdentitiesOnly=yes',
    // BatchMode would refuse to ask for the passphrase; without it nothing else may prompt.
    passphrase
      ? '-o BatchMode=no -o NumberOfPasswordPrompts=1 -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no'
      : '-o BatchMode=yes',
    `-o StrictHostKeyChecking=${credentials.knownHosts ? 'yes' : 'accept-new'}`,
    `-o UserKnownHostsFile=${hostsFile}`,
  ];
  return {
    env: {
      GIT_SSH_COMMAND: `ssh ${options.join(' ')}`,
      ...(passphrase
        ? {
            AGENSTRA_SSH_PASSPHRASE: passphrase,
            SSH_ASKPASS: askpass,
            SSH_ASKPASS_REQUIRE: 'force',
          }
        : {}),
    },
    secrets: [credentials.privateKey ?? '', passphrase].filter(Boolean),
    dispose,
  };
}
