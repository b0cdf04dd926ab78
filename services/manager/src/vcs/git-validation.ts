import { InvalidArgumentError } from '@agenstra/shared';
import { parseWorkspacePath } from '../files/workspace-path.js';

export const MAX_PATHS = 1000;
export const MAX_MESSAGE_BYTES = 64 * 1024;
const MAX_REF_CHARS = 255;
// Space, ~ ^ : ? * [ \ and control characters are never part of a ref name (git-check-ref-format).
// eslint-disable-next-line no-control-regex -- control characters are what these refuse
const FORBIDDEN_REF_CHARACTERS = /[\x00-\x20\x7f~^:?*[\\]/;

/**
 * A branch name by git's ref rules (git check-ref-format --branch), checked before git sees it;
 * the caller also runs `git check-ref-format --branch` inside the container. Never starts with
 * "-", so git cannot read it as an option.
 */
export function validateBranchName(name: string, field = 'branch_name'): string {
  const problem = refNameProblem(name);
  if (problem) throw new InvalidArgumentError(`${field} "${printable(name)}" ${problem}`);
  return name;
}

function refNameProblem(name: string): string | undefined {
  if (name === '') return 'is empty';
  if (name.length > MAX_REF_CHARS) return `is longer than ${MAX_REF_CHARS} characters`;
  if (name.startsWith('-')) return 'starts with "-"';
  if (name === '@' || name === 'HEAD') return 'is reserved';
  if (FORBIDDEN_REF_CHARACTERS.test(name)) {
    return 'contains a space, a control character or one of ~ ^ : ? * [ \\';
  }
  if (name.includes('..')) return 'contains ".."';
  if (name.includes('@{')) return 'contains "@{"';
  if (name.startsWith('/') || name.endsWith('/') || name.includes('//')) {
    return 'has an empty "/" component';
  }
  if (name.endsWith('.')) return 'ends with "."';
  for (const component of name.split('/')) {
    if (component.startsWith('.')) return 'has a component starting with "."';
    if (component.endsWith('.lock')) return 'has a component ending with ".lock"';
  }
  return undefined;
}

const SHA = /^[0-9a-f]{4,64}$/i;
const RELATIVE_SUFFIX = /^((?:[~^]\d{0,4})*)$/;

/**
 * A revision a user may name: a branch or remote-tracking branch, a tag, HEAD or a (short) SHA,
 * optionally followed by ~N / ^N. Resolved to a SHA with `rev-parse --verify --end-of-options`
 * before any other command uses it.
 */
export function validateRevision(revision: string, field: string): string {
  const match = /^(.*?)((?:[~^]\d{0,4})*)$/.exec(revision);
  const base = match?.[1] ?? revision;
  const suffix = match?.[2] ?? '';
  if (!RELATIVE_SUFFIX.test(suffix) || revision.length > MAX_REF_CHARS) {
    throw new InvalidArgumentError(`${field} "${printable(revision)}" is not a revision`);
  }
  if (base === 'HEAD' || SHA.test(base)) return revision;
  const problem = refNameProblem(base);
  if (problem) throw new InvalidArgumentError(`${field} "${printable(revision)}" ${problem}`);
  return revision;
}

const REMOTE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export function validateRemoteName(remote: string, field = 'remote'): string {
  if (!REMOTE_NAME.test(remote) || remote.endsWith('.lock')) {
    throw new InvalidArgumentError(
      `${field} "${printable(remote)}" is not a remote name (letters, digits, ".", "_", "-")`,
    );
  }
  return remote;
}

/**
 * Workspace-relative paths (the rules of FileService). They are passed after "--" and git reads
 * them literally (GIT_LITERAL_PATHSPECS), so "-x" or "*" name exactly those files.
 */
export function validatePaths(paths: string[], field = 'paths'): string[] {
  if (paths.length > MAX_PATHS) {
    throw new InvalidArgumentError(`${field}: at most ${MAX_PATHS} paths, got ${paths.length}`);
  }
  return paths.map(
    (path, index) => parseWorkspacePath(path, `${field}[${index}]`, { allowRoot: false }).text,
  );
}

export function validatePath(path: string, field = 'path', allowRoot = true): string {
  return parseWorkspacePath(path, field, { allowRoot }).text;
}

export function validateCommitMessage(message: string): string {
  const bytes = Buffer.byteLength(message);
  if (message.trim() === '') throw new InvalidArgumentError('message must not be empty');
  if (bytes > MAX_MESSAGE_BYTES) {
    throw new InvalidArgumentError(`message is ${bytes} bytes; at most ${MAX_MESSAGE_BYTES}`);
  }
  if (message.includes('\0')) throw new InvalidArgumentError('message must not contain a NUL byte');
  return message;
}

/** An author name or e-mail: one line, no angle brackets (they delimit the e-mail in a commit). */
export function validateIdentityPart(value: string, field: string): string {
  if (value.length > 255) throw new InvalidArgumentError(`${field} is longer than 255 characters`);
  // eslint-disable-next-line no-control-regex -- control characters are what these refuse
  if (/[\x00-\x1f\x7f<>]/.test(value)) {
    throw new InvalidArgumentError(`${field} must be one line without "<" or ">"`);
  }
  return value;
}

/** Shows a hostile value in an error message without its control characters. */
export function printable(value: string): string {
  const shown = value.length > 80 ? `${value.slice(0, 80)}...` : value;
  return shown.replace(
    // eslint-disable-next-line no-control-regex -- control characters are what these refuse
    /[\x00-\x1f\x7f]/g,
    (character) => `\\x${character.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}
