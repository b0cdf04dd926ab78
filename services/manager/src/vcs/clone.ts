import { InvalidArgumentError } from '@agenstra/shared';
import { openCredentialSession, type RepositoryCredentials } from './credentials.js';
import { gitError } from './git-errors.js';
import type { CommandRunner } from './container-sessions.js';
import { validateBranchName } from './git-validation.js';

export interface CloneRequest {
  /** `https://host/path`, `http://...`, `ssh://user@host/path` or `user@host:path`; "" for a new empty repository. */
  url: string;
  /** Branch to check out; "" means the remote's default branch. */
  branch: string;
  credentials?: RepositoryCredentials;
  /** Branch of a new empty repository (no URL). */
  initialBranch?: string;
}

const URL_FORMS = [
  /^https?:\/\/[^\s]+$/i,
  /^ssh:\/\/[^\s]+$/i,
  /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+$/,
];

/**
 * Clones the agent's repository into /workspace inside its (running) container, or creates an
 * empty repository when there is no URL. The workspace must be empty. Credentials exist in the
 * container for the clone alone; a failed clone throws git's message without the secret
 * (PERMISSION_DENIED for refused credentials, UNAVAILABLE for an unreachable remote, NOT_FOUND
 * for a missing repository or branch).
 */
export async function cloneRepository(
  exec: CommandRunner,
  containerId: string,
  request: CloneRequest,
): Promise<void> {
  if (!request.url) {
    const branch = validateBranchName(request.initialBranch || 'main', 'initial_branch');
    const result = await exec.run(containerId, [
      'git',
      'init',
      '-q',
      `--initial-branch=${branch}`,
      '.',
    ]);
    if (result.exitCode !== 0) throw gitError('create repository', result);
    return;
  }
  if (!URL_FORMS.some((form) => form.test(request.url)) || request.url.startsWith('-')) {
    throw new InvalidArgumentError(
      'repository.url must be an https://, ssh:// or user@host:path URL',
    );
  }
  if (request.branch) validateBranchName(request.branch, 'repository.branch');
  const session = await openCredentialSession(exec, containerId, request.credentials);
  try {
    const result = await exec.run(
      containerId,
      [
        'git',
        'clone',
        '-q',
        ...(request.branch ? ['--branch', request.branch] : []),
        '--',
        request.url,
        '.',
      ],
      { env: session.env },
    );
    if (result.exitCode !== 0) throw gitError('clone', result, session.secrets);
  } finally {
    await session.dispose();
  }
}
