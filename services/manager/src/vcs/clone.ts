import { InvalidArgumentError, NotFoundError } from '@agenstra/shared';
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
  /** Initial branch of the repository before a checkout; "" means main. */
  initialBranch?: string;
}

const URL_FORMS = [
  /^https?:\/\/[^\s]+$/i,
  /^ssh:\/\/[^\s]+$/i,
  /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+$/,
];

/**
 * Clones the agent's repository into /workspace inside its (running) container, or leaves an
 * empty repository when there is no URL. Works in an empty directory and in the empty repository
 * AgentService initialises for a fresh workspace (a plain `git clone` refuses a non-empty
 * directory): init (idempotent), add `origin`, fetch, check out the requested or the remote's
 * default branch with its upstream. Credentials exist in the container for these commands alone;
 * a failure throws git's message without the secret (PERMISSION_DENIED for refused credentials,
 * UNAVAILABLE for an unreachable remote, NOT_FOUND for a missing repository or branch,
 * FAILED_PRECONDITION for an SSH host key that does not match known_hosts).
 */
export async function cloneRepository(
  exec: CommandRunner,
  containerId: string,
  request: CloneRequest,
): Promise<void> {
  const initialBranch = validateBranchName(request.initialBranch || 'main', 'initial_branch');
  if (request.url) {
    if (!URL_FORMS.some((form) => form.test(request.url)) || request.url.startsWith('-')) {
      throw new InvalidArgumentError(
        'repository.url must be an https://, ssh:// or user@host:path URL',
      );
    }
    if (request.branch) validateBranchName(request.branch, 'repository.branch');
  }
  const git = async (args: string[], env: Record<string, string> = {}, secrets: string[] = []) => {
    const result = await exec.run(containerId, ['git', ...args], { env });
    if (result.exitCode !== 0) throw gitError('clone', result, secrets);
    return result.stdout.toString('utf8');
  };
  await git(['init', '-q', `--initial-branch=${initialBranch}`, '.']);
  if (!request.url) return;
  await git(['remote', 'add', 'origin', request.url]);
  const session = await openCredentialSession(exec, containerId, request.credentials);
  try {
    const remote = (args: string[]) => git(args, session.env, session.secrets);
    let branch = request.branch;
    if (!branch) {
      // "ref: refs/heads/main\tHEAD": the remote's default branch; nothing for an empty remote.
      const head = await remote(['ls-remote', '--symref', 'origin', 'HEAD']);
      branch = /^ref: refs\/heads\/(\S+)\tHEAD$/m.exec(head)?.[1] ?? '';
      if (!branch) return;
      validateBranchName(branch, 'the remote default branch');
    }
    await remote(['fetch', '-q', 'origin']);
    const tracking = await exec.run(containerId, [
      'git',
      'show-ref',
      '--verify',
      '--quiet',
      `refs/remotes/origin/${branch}`,
    ]);
    if (tracking.exitCode !== 0) {
      throw new NotFoundError(`clone: the remote has no branch "${branch}"`);
    }
    await git(['remote', 'set-head', 'origin', branch]);
    await git(['checkout', '-q', '-B', branch, '--track', `refs/remotes/origin/${branch}`]);
  } finally {
    await session.dispose();
  }
}
