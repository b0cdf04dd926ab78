import { eventsV1, managerV1 } from '@agenstra/proto';
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
} from '@agenstra/shared';
import type { Logger } from 'pino';
import type { EventPublisher } from '../events/publisher.js';
import { openCredentialSession, type RepositoryCredentials } from './credentials.js';
import { gitError, readableGitMessage } from './git-errors.js';
import type { CommandRunner } from './container-sessions.js';
import type { ExecResult } from './git-exec.js';
import {
  BRANCH_FORMAT,
  COMMIT_FORMAT,
  changeOf,
  parseBranches,
  parseCommits,
  parseNumstat,
  parseRaw,
  parseStatus,
  RecordCursor,
  type ParsedStatus,
} from './git-parse.js';
import {
  printable,
  validateBranchName,
  validateCommitMessage,
  validateIdentityPart,
  validatePath,
  validatePaths,
  validateRemoteName,
  validateRevision,
} from './git-validation.js';

const { RepositoryOperation, ConflictResolution } = managerV1;
const VcsEventKind = eventsV1.VcsEventKind;

const SECTION = '--agenstra-section--';
const MAX_PATCH_BYTES = 1024 * 1024;
const MAX_CONFLICT_SIDE_BYTES = 1024 * 1024;
const MAX_RESOLVED_BYTES = 2 * 1024 * 1024;

/**
 * One exec for everything GetStatus needs: the operation in progress (files in the git dir), the
 * porcelain v2 status and, concurrently (into a 0600 file on the container's tmpfs /tmp), the
 * numstat against HEAD (and for untracked files) for the binary flags. A fixed script: no request value reaches the shell.
 */
const STATUS_SCRIPT = `
g=$(git rev-parse --git-dir) || exit 128
numstat=$(mktemp) || exit 1
(
  if git rev-parse -q --verify HEAD >/dev/null; then
    git diff --numstat -z --no-ext-diff --no-textconv HEAD
  else
    git diff --numstat -z --no-ext-diff --no-textconv --cached
  fi
  # Untracked files: marked intent-to-add in a throwaway copy of the index, so git's own binary
  # rule applies to them too; the repository's index is never touched.
  idx=$(mktemp) && {
    cp "$g/index" "$idx" 2>/dev/null
    GIT_INDEX_FILE="$idx" git add -N -- . &&
      GIT_INDEX_FILE="$idx" git diff --numstat -z --no-ext-diff --no-textconv
    rm -f "$idx"
  }
) >"$numstat" 2>/dev/null &
for f in rebase-merge rebase-apply MERGE_HEAD CHERRY_PICK_HEAD REVERT_HEAD; do
  [ -e "$g/$f" ] && printf '%s\\0' "$f"
done
printf '%s\\0' '${SECTION}'
git status --porcelain=v2 -z --branch --untracked-files=all
code=$?
wait
if [ $code -eq 0 ]; then
  printf '%s\\0' '${SECTION}'
  cat "$numstat"
fi
rm -f "$numstat"
exit $code
`;

/** Where an agent's repository lives and how to authenticate to its remotes. */
export interface VcsTarget {
  containerId: string;
  credentials?: RepositoryCredentials;
}

export interface VcsOptions {
  exec: CommandRunner;
  /** NOT_FOUND for an unknown agent; FAILED_PRECONDITION when it has no container. */
  resolve: (agentId: string) => Promise<VcsTarget>;
  publisher: EventPublisher;
  defaultAuthor: { name: string; email: string };
  logger: Logger;
}

export interface CommitAuthor {
  name: string;
  email: string;
}

/** The git operations of VcsService on agent workspaces; git runs inside the agent's container. */
export class Vcs {
  constructor(private readonly options: VcsOptions) {}

  private async git(
    target: VcsTarget,
    args: string[],
    options: { stdin?: string | Buffer; env?: Record<string, string> } = {},
  ): Promise<ExecResult> {
    return this.options.exec.run(target.containerId, ['git', ...args], options);
  }

  /** Runs git and throws the mapped error unless it exits 0. */
  private async gitOk(
    target: VcsTarget,
    operation: string,
    args: string[],
    options: { stdin?: string | Buffer; env?: Record<string, string> } = {},
  ): Promise<ExecResult> {
    const result = await this.git(target, args, options);
    if (result.exitCode !== 0) throw gitError(operation, result);
    return result;
  }

  /** Runs a remote operation with the agent's repository credentials present for it alone. */
  private async withCredentials(
    target: VcsTarget,
    operation: string,
    args: string[],
  ): Promise<ExecResult> {
    const session = await openCredentialSession(
      this.options.exec,
      target.containerId,
      target.credentials,
    );
    try {
      const result = await this.git(target, args, { env: session.env });
      if (result.exitCode !== 0) throw gitError(operation, result, session.secrets);
      return result;
    } finally {
      await session.dispose();
    }
  }

  private async publish(
    agentId: string,
    kind: eventsV1.VcsEventKind,
    status: managerV1.RepositoryStatus,
  ) {
    try {
      await this.options.publisher.publish(
        this.options.publisher.envelope(agentId, {
          $case: 'vcs',
          value: { agentId, kind, branch: status.branch, headSha: status.headSha },
        }),
      );
    } catch (error) {
      this.options.logger.warn({ err: error, agentId }, 'could not publish a vcs event');
    }
  }

  private async readStatus(target: VcsTarget): Promise<ParsedStatus> {
    const result = await this.options.exec.run(target.containerId, ['sh', '-c', STATUS_SCRIPT]);
    if (result.exitCode !== 0) throw gitError('status', result);
    const cursor = new RecordCursor(result.stdout.toString('utf8'));
    const operations = new Set<string>();
    while (!cursor.done) {
      const record = cursor.next();
      if (record === SECTION) break;
      operations.add(record);
    }
    const parsed = parseStatus(cursor, SECTION);
    parsed.status.operation = operationOf(operations);
    const binary = new Set(
      parseNumstat(cursor)
        .filter((entry) => entry.binary)
        .map((entry) => entry.path),
    );
    for (const entry of parsed.status.entries) entry.isBinary = binary.has(entry.path);
    return parsed;
  }

  async getStatus(agentId: string): Promise<managerV1.RepositoryStatus> {
    const target = await this.options.resolve(agentId);
    return (await this.readStatus(target)).status;
  }

  async getDiff(
    agentId: string,
    request: { path: string; staged: boolean; contextLines: number },
  ): Promise<managerV1.FileDiff[]> {
    const path = validatePath(request.path);
    if (request.contextLines > 100)
      throw new InvalidArgumentError('context_lines must be at most 100');
    const target = await this.options.resolve(agentId);
    const base = [
      'diff',
      '--no-color',
      '--no-ext-diff',
      '--no-textconv',
      ...(request.staged ? ['--cached'] : []),
    ];
    const limit = path === '' ? [] : ['--', path];
    const [summary, patches] = await Promise.all([
      this.gitOk(target, 'diff', [...base, '--raw', '--numstat', '-z', '--no-abbrev', ...limit]),
      this.gitOk(target, 'diff', [...base, `-U${request.contextLines || 3}`, ...limit]),
    ]);
    // With --raw and --numstat together, git writes all raw records, then all numstat records.
    const text = summary.stdout.toString('utf8');
    const cursor = new RecordCursor(text);
    const rawText: string[] = [];
    while (!cursor.done && cursor.peek().startsWith(':')) {
      rawText.push(cursor.next());
      rawText.push(cursor.next());
      const letter = rawText[rawText.length - 2].split(' ')[4]?.[0];
      if (letter === 'R' || letter === 'C') rawText.push(cursor.next());
    }
    const raw = parseRaw(new RecordCursor(rawText.join('\0')));
    const numstat = parseNumstat(cursor);
    const patchesByIndex = splitPatches(patches.stdout.toString('utf8'));
    const sizes = await this.blobSizes(target, raw, numstat);
    const files = raw.map((entry, index): managerV1.FileDiff => {
      const stats = numstat[index];
      const patch = patchesByIndex[index] ?? '';
      const patchBytes = Buffer.from(patch);
      const binary = stats?.binary ?? false;
      return {
        path: entry.path,
        originalPath: entry.originalPath,
        change: changeOf(entry.letter),
        isBinary: binary,
        oldSizeBytes: String(sizes.get(`old:${entry.path}`) ?? 0),
        newSizeBytes: String(sizes.get(`new:${entry.path}`) ?? 0),
        patch: binary ? '' : patchBytes.subarray(0, MAX_PATCH_BYTES).toString('utf8'),
        patchTruncated: !binary && patchBytes.length > MAX_PATCH_BYTES,
        addedLines: stats?.added ?? 0,
        deletedLines: stats?.deleted ?? 0,
      };
    });
    return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** Sizes of the blobs on each side (cat-file), and of working-tree files (git's zero SHA). */
  private async blobSizes(
    target: VcsTarget,
    raw: ReturnType<typeof parseRaw>,
    numstat: ReturnType<typeof parseNumstat>,
  ): Promise<Map<string, number>> {
    const sizes = new Map<string, number>();
    const zero = /^0+$/;
    const queries: { key: string; sha: string }[] = [];
    const worktree: string[] = [];
    raw.forEach((entry, index) => {
      if (!numstat[index]?.binary) return;
      if (!zero.test(entry.oldSha)) queries.push({ key: `old:${entry.path}`, sha: entry.oldSha });
      if (!zero.test(entry.newSha)) queries.push({ key: `new:${entry.path}`, sha: entry.newSha });
      else if (entry.letter !== 'D') worktree.push(entry.path);
    });
    if (queries.length > 0) {
      const result = await this.gitOk(target, 'diff', ['cat-file', '--batch-check=%(objectsize)'], {
        stdin: queries.map((query) => query.sha).join('\n') + '\n',
      });
      const lines = result.stdout.toString('utf8').split('\n');
      queries.forEach((query, index) => sizes.set(query.key, Number(lines[index]) || 0));
    }
    if (worktree.length > 0) {
      const result = await this.options.exec.run(target.containerId, [
        'stat',
        '-L',
        '--printf=%s\\n',
        '--',
        ...worktree,
      ]);
      const lines = result.stdout.toString('utf8').split('\n');
      worktree.forEach((path, index) => sizes.set(`new:${path}`, Number(lines[index]) || 0));
    }
    return sizes;
  }

  async listCommits(
    agentId: string,
    request: { ref: string; path: string; pageSize: number; pageToken: string },
  ): Promise<managerV1.ListCommitsResponse> {
    const path = validatePath(request.path);
    const pageSize = request.pageSize <= 0 ? 50 : Math.min(request.pageSize, 500);
    const skip =
      request.pageToken === '' ? 0 : Number(Buffer.from(request.pageToken, 'base64url').toString());
    if (!Number.isSafeInteger(skip) || skip < 0) {
      throw new InvalidArgumentError('page_token: not a token from ListCommits');
    }
    const target = await this.options.resolve(agentId);
    const sha = await this.resolveCommit(target, request.ref || 'HEAD', 'ref');
    const result = await this.gitOk(target, 'log', [
      'log',
      '-z',
      `--format=${COMMIT_FORMAT}`,
      `--max-count=${pageSize + 1}`,
      `--skip=${skip}`,
      sha,
      ...(path === '' ? [] : ['--', path]),
    ]);
    const commits = parseCommits(result.stdout.toString('utf8'));
    const more = commits.length > pageSize;
    return {
      commits: commits.slice(0, pageSize),
      nextPageToken: more ? Buffer.from(String(skip + pageSize)).toString('base64url') : '',
    };
  }

  /** A user-named revision as a full SHA; NOT_FOUND when it names nothing. */
  private async resolveCommit(target: VcsTarget, revision: string, field: string): Promise<string> {
    validateRevision(revision, field);
    const result = await this.git(target, [
      'rev-parse',
      '-q',
      '--verify',
      '--end-of-options',
      `${revision}^{commit}`,
    ]);
    if (result.exitCode !== 0) {
      if (/not a git repository/.test(result.stderr)) throw gitError('rev-parse', result);
      throw new NotFoundError(`${field} "${printable(revision)}" names no commit`);
    }
    return result.stdout.toString('utf8').trim();
  }

  /** Validates a new branch name by our rules and by git's own check inside the container. */
  private async checkBranchName(
    target: VcsTarget,
    name: string,
    field = 'branch_name',
  ): Promise<void> {
    validateBranchName(name, field);
    const result = await this.git(target, ['check-ref-format', '--branch', name]);
    if (result.exitCode !== 0) {
      throw new InvalidArgumentError(`${field} "${printable(name)}" is not a valid branch name`);
    }
  }

  async listBranches(
    agentId: string,
    includeRemote: boolean,
  ): Promise<managerV1.ListBranchesResponse> {
    const target = await this.options.resolve(agentId);
    const result = await this.gitOk(target, 'list branches', [
      'for-each-ref',
      `--format=${BRANCH_FORMAT}`,
      'refs/heads',
      ...(includeRemote ? ['refs/remotes'] : []),
    ]);
    const branches = parseBranches(result.stdout.toString('utf8'));
    const byName = (a: managerV1.Branch, b: managerV1.Branch) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
    const local = branches.filter((branch) => !branch.remote).sort(byName);
    const remote = branches.filter((branch) => branch.remote).sort(byName);
    return {
      branches: [...local, ...remote],
      currentBranch: local.find((branch) => branch.current)?.name ?? '',
    };
  }

  private async branch(target: VcsTarget, name: string): Promise<managerV1.Branch> {
    const result = await this.gitOk(target, 'list branches', [
      'for-each-ref',
      `--format=${BRANCH_FORMAT}`,
      `refs/heads/${name}`,
    ]);
    const [branch] = parseBranches(result.stdout.toString('utf8')).filter(
      (found) => found.name === name,
    );
    if (!branch) throw new NotFoundError(`branch "${printable(name)}" does not exist`);
    return branch;
  }

  private async branchExists(target: VcsTarget, name: string): Promise<boolean> {
    const result = await this.git(target, [
      'show-ref',
      '--verify',
      '--quiet',
      `refs/heads/${name}`,
    ]);
    return result.exitCode === 0;
  }

  async createBranch(
    agentId: string,
    request: { branchName: string; startPoint: string; switchTo: boolean },
  ): Promise<managerV1.Branch> {
    validateBranchName(request.branchName);
    if (request.startPoint) validateRevision(request.startPoint, 'start_point');
    const target = await this.options.resolve(agentId);
    await this.checkBranchName(target, request.branchName);
    if (await this.branchExists(target, request.branchName)) {
      throw new AlreadyExistsError(`branch "${request.branchName}" already exists`);
    }
    const start = await this.resolveCommit(target, request.startPoint || 'HEAD', 'start_point');
    if (request.switchTo) {
      await this.gitOk(target, 'create branch', [
        'switch',
        '--no-guess',
        '-c',
        request.branchName,
        start,
      ]);
    } else {
      await this.gitOk(target, 'create branch', [
        'branch',
        '--no-track',
        request.branchName,
        start,
      ]);
    }
    const status = (await this.readStatus(target)).status;
    await this.publish(
      agentId,
      request.switchTo
        ? VcsEventKind.VCS_EVENT_KIND_BRANCH_CHANGED
        : VcsEventKind.VCS_EVENT_KIND_HEAD_MOVED,
      status,
    );
    return this.branch(target, request.branchName);
  }

  async switchBranch(agentId: string, branchName: string): Promise<managerV1.RepositoryStatus> {
    validateBranchName(branchName);
    const target = await this.options.resolve(agentId);
    if (await this.branchExists(target, branchName)) {
      await this.gitOk(target, 'switch branch', ['switch', '--no-guess', branchName]);
    } else {
      const remoteRef = await this.git(target, [
        'show-ref',
        '--verify',
        '--quiet',
        `refs/remotes/${branchName}`,
      ]);
      const slash = branchName.indexOf('/');
      if (remoteRef.exitCode !== 0 || slash === -1) {
        throw new NotFoundError(`branch "${printable(branchName)}" does not exist`);
      }
      const local = branchName.slice(slash + 1);
      await this.checkBranchName(target, local);
      await this.gitOk(target, 'switch branch', [
        'switch',
        '--no-guess',
        '--track',
        '-c',
        local,
        `refs/remotes/${branchName}`,
      ]);
    }
    const status = (await this.readStatus(target)).status;
    await this.publish(agentId, VcsEventKind.VCS_EVENT_KIND_BRANCH_CHANGED, status);
    return status;
  }

  async deleteBranch(agentId: string, branchName: string, force: boolean): Promise<void> {
    validateBranchName(branchName);
    const target = await this.options.resolve(agentId);
    if (!(await this.branchExists(target, branchName))) {
      throw new NotFoundError(`branch "${printable(branchName)}" does not exist`);
    }
    const status = (await this.readStatus(target)).status;
    if (status.branch === branchName) {
      throw new FailedPreconditionError(
        `branch "${branchName}" is checked out; switch to another branch first`,
      );
    }
    const result = await this.git(target, ['branch', force ? '-D' : '-d', '--', branchName]);
    if (result.exitCode !== 0) {
      if (/not fully merged/.test(result.stderr)) {
        throw new FailedPreconditionError(
          `branch "${branchName}" is not fully merged; delete it with force to lose its commits`,
        );
      }
      throw gitError('delete branch', result);
    }
    await this.publish(agentId, VcsEventKind.VCS_EVENT_KIND_HEAD_MOVED, status);
  }

  async stage(agentId: string, paths: string[], all: boolean): Promise<managerV1.RepositoryStatus> {
    const valid = pathsOrAll(paths, all);
    const target = await this.options.resolve(agentId);
    await this.gitOk(target, 'stage', all ? ['add', '--all'] : ['add', '--all', '--', ...valid]);
    return this.afterChange(agentId, target, VcsEventKind.VCS_EVENT_KIND_WORKING_TREE_CHANGED);
  }

  async unstage(
    agentId: string,
    paths: string[],
    all: boolean,
  ): Promise<managerV1.RepositoryStatus> {
    const valid = pathsOrAll(paths, all);
    const target = await this.options.resolve(agentId);
    const hasHead =
      (await this.git(target, ['rev-parse', '-q', '--verify', 'HEAD'])).exitCode === 0;
    const pathspec = all ? ['.'] : valid;
    // Before the first commit there is no HEAD to restore from: remove from the index instead.
    const args = hasHead
      ? ['restore', '--staged', '--', ...pathspec]
      : ['rm', '--cached', '-r', '-q', '--ignore-unmatch', '--', ...pathspec];
    await this.gitOk(target, 'unstage', args);
    return this.afterChange(agentId, target, VcsEventKind.VCS_EVENT_KIND_WORKING_TREE_CHANGED);
  }

  async commit(
    agentId: string,
    request: { message: string; author: CommitAuthor; amend: boolean; allowEmpty: boolean },
  ): Promise<managerV1.CommitInfo> {
    const message = validateCommitMessage(request.message);
    const name =
      validateIdentityPart(request.author.name, 'author_name') || this.options.defaultAuthor.name;
    const email =
      validateIdentityPart(request.author.email, 'author_email') ||
      this.options.defaultAuthor.email;
    const target = await this.options.resolve(agentId);
    const identity = {
      GIT_AUTHOR_NAME: name,
      GIT_AUTHOR_EMAIL: email,
      GIT_COMMITTER_NAME: this.options.defaultAuthor.name,
      GIT_COMMITTER_EMAIL: this.options.defaultAuthor.email,
    };
    const result = await this.git(
      target,
      [
        'commit',
        '--no-edit',
        '--cleanup=verbatim',
        '-F',
        '-',
        ...(request.amend ? ['--amend', '--reset-author'] : []),
        ...(request.allowEmpty ? ['--allow-empty'] : []),
      ],
      { stdin: message, env: identity },
    );
    if (result.exitCode !== 0) {
      const text = `${result.stdout.toString()}${result.stderr}`;
      if (/nothing to commit|no changes added to commit|nothing added to commit/.test(text)) {
        throw new FailedPreconditionError('commit: nothing to commit; stage changes first');
      }
      throw gitError('commit', result);
    }
    const log = await this.gitOk(target, 'commit', [
      'log',
      '-1',
      '-z',
      `--format=${COMMIT_FORMAT}`,
      'HEAD',
    ]);
    const [commit] = parseCommits(log.stdout.toString('utf8'));
    const status = (await this.readStatus(target)).status;
    await this.publish(agentId, VcsEventKind.VCS_EVENT_KIND_HEAD_MOVED, status);
    return commit;
  }

  async push(
    agentId: string,
    request: { remote: string; branch: string; forceWithLease: boolean; setUpstream: boolean },
  ): Promise<managerV1.PushResponse> {
    const remote = validateRemoteName(request.remote || 'origin');
    if (request.branch) validateBranchName(request.branch, 'branch');
    const target = await this.options.resolve(agentId);
    let branch = request.branch;
    if (!branch) {
      branch = (await this.readStatus(target)).status.branch;
      if (!branch)
        throw new FailedPreconditionError('push: HEAD is detached; name the branch to push');
    } else if (!(await this.branchExists(target, branch))) {
      throw new NotFoundError(`branch "${printable(branch)}" does not exist`);
    }
    const remoteRef = `refs/heads/${branch}`;
    await this.pushWithCredentials(target, [
      'push',
      '--porcelain',
      ...(request.forceWithLease ? [`--force-with-lease=${remoteRef}`] : []),
      ...(request.setUpstream ? ['--set-upstream'] : []),
      remote,
      `${remoteRef}:${remoteRef}`,
    ]);
    const headSha = (await this.gitOk(target, 'push', ['rev-parse', '--verify', remoteRef])).stdout
      .toString()
      .trim();
    const status = (await this.readStatus(target)).status;
    await this.publish(agentId, VcsEventKind.VCS_EVENT_KIND_REMOTE_UPDATED, status);
    return { remoteRef, headSha, status };
  }

  private async pushWithCredentials(target: VcsTarget, args: string[]): Promise<ExecResult> {
    const session = await openCredentialSession(
      this.options.exec,
      target.containerId,
      target.credentials,
    );
    try {
      const result = await this.git(target, args, { env: session.env });
      if (result.exitCode !== 0) {
        const rejected = result.stdout
          .toString('utf8')
          .split('\n')
          .find((line) => line.startsWith('!'));
        if (rejected) {
          const reason = rejected.split('\t')[2] ?? 'rejected';
          const why = /stale info/.test(reason)
            ? 'the remote branch moved since it was last fetched (force-with-lease refused to overwrite it); fetch first'
            : /non-fast-forward|fetch first/.test(reason)
              ? 'non-fast-forward: the remote has commits the branch lacks; pull first'
              : readableGitMessage(reason, session.secrets);
          throw new FailedPreconditionError(`push rejected: ${why}`);
        }
        throw gitError('push', result, session.secrets);
      }
      return result;
    } finally {
      await session.dispose();
    }
  }

  async pull(
    agentId: string,
    request: { remote: string; branch: string; strategy: managerV1.PullStrategy },
  ): Promise<managerV1.RepositoryStatus> {
    if (request.remote) validateRemoteName(request.remote);
    if (request.branch) validateBranchName(request.branch, 'branch');
    const target = await this.options.resolve(agentId);
    const before = await this.readStatus(target);
    if (before.status.operation !== RepositoryOperation.REPOSITORY_OPERATION_NONE) {
      throw new FailedPreconditionError(
        'pull: a merge or rebase is in progress; finish or abort it first',
      );
    }
    let remote = request.remote;
    let branch = request.branch;
    if (!remote || !branch) {
      if (!before.status.branch) throw new FailedPreconditionError('pull: HEAD is detached');
      const upstreamRemote = await this.git(target, [
        'config',
        '--get',
        `branch.${before.status.branch}.remote`,
      ]);
      const upstreamMerge = await this.git(target, [
        'config',
        '--get',
        `branch.${before.status.branch}.merge`,
      ]);
      if (upstreamRemote.exitCode !== 0 || upstreamMerge.exitCode !== 0) {
        throw new FailedPreconditionError(
          `pull: branch "${before.status.branch}" has no upstream; give remote and branch or push with set_upstream`,
        );
      }
      remote ||= upstreamRemote.stdout.toString().trim();
      branch ||= upstreamMerge.stdout
        .toString()
        .trim()
        .replace(/^refs\/heads\//, '');
      validateRemoteName(remote);
      validateBranchName(branch, 'branch');
    }
    const mode =
      request.strategy === managerV1.PullStrategy.PULL_STRATEGY_MERGE
        ? ['--no-rebase', '--no-ff', '--no-edit']
        : request.strategy === managerV1.PullStrategy.PULL_STRATEGY_REBASE
          ? ['--rebase']
          : ['--ff-only'];
    const session = await openCredentialSession(
      this.options.exec,
      target.containerId,
      target.credentials,
    );
    try {
      const result = await this.git(target, ['pull', ...mode, remote, `refs/heads/${branch}`], {
        env: {
          ...session.env,
          GIT_COMMITTER_NAME: this.options.defaultAuthor.name,
          GIT_COMMITTER_EMAIL: this.options.defaultAuthor.email,
          GIT_AUTHOR_NAME: this.options.defaultAuthor.name,
          GIT_AUTHOR_EMAIL: this.options.defaultAuthor.email,
        },
      });
      if (result.exitCode !== 0) {
        const after = await this.readStatus(target);
        if (after.status.operation !== RepositoryOperation.REPOSITORY_OPERATION_NONE) {
          await this.publish(agentId, VcsEventKind.VCS_EVENT_KIND_CONFLICTS_CHANGED, after.status);
          return after.status;
        }
        const text = `${result.stderr}${result.stdout.toString()}`;
        if (/Not possible to fast-forward|diverg/i.test(text)) {
          throw new FailedPreconditionError(
            'pull: the branch and its upstream have diverged; pull with MERGE or REBASE',
          );
        }
        throw gitError('pull', result, session.secrets);
      }
    } finally {
      await session.dispose();
    }
    return this.afterChange(agentId, target, VcsEventKind.VCS_EVENT_KIND_HEAD_MOVED);
  }

  async fetch(
    agentId: string,
    request: { remote: string; prune: boolean },
  ): Promise<managerV1.RepositoryStatus> {
    if (request.remote) validateRemoteName(request.remote);
    const target = await this.options.resolve(agentId);
    await this.withCredentials(target, 'fetch', [
      'fetch',
      ...(request.prune ? ['--prune'] : []),
      ...(request.remote ? [request.remote] : ['--all']),
    ]);
    return this.afterChange(agentId, target, VcsEventKind.VCS_EVENT_KIND_REMOTE_UPDATED);
  }

  async rebase(agentId: string, onto: string): Promise<managerV1.RepositoryStatus> {
    if (!onto) throw new InvalidArgumentError('onto is required, e.g. "origin/main"');
    const target = await this.options.resolve(agentId);
    const sha = await this.resolveCommit(target, onto, 'onto');
    const before = await this.readStatus(target);
    if (before.status.operation !== RepositoryOperation.REPOSITORY_OPERATION_NONE) {
      throw new FailedPreconditionError('rebase: a merge or rebase is already in progress');
    }
    return this.rebaseStep(agentId, target, ['rebase', sha], 'rebase');
  }

  async continueRebase(agentId: string): Promise<managerV1.RepositoryStatus> {
    const target = await this.options.resolve(agentId);
    const before = await this.readStatus(target);
    if (before.status.operation !== RepositoryOperation.REPOSITORY_OPERATION_REBASE) {
      throw new FailedPreconditionError('continue rebase: no rebase is in progress');
    }
    if (before.conflicts.size > 0) {
      throw new FailedPreconditionError(
        `continue rebase: ${before.conflicts.size} conflicted file(s) remain; resolve them first`,
      );
    }
    return this.rebaseStep(agentId, target, ['rebase', '--continue'], 'continue rebase');
  }

  async abortRebase(agentId: string): Promise<managerV1.RepositoryStatus> {
    const target = await this.options.resolve(agentId);
    const before = await this.readStatus(target);
    if (before.status.operation !== RepositoryOperation.REPOSITORY_OPERATION_REBASE) {
      throw new FailedPreconditionError('abort rebase: no rebase is in progress');
    }
    await this.gitOk(target, 'abort rebase', ['rebase', '--abort']);
    return this.afterChange(agentId, target, VcsEventKind.VCS_EVENT_KIND_HEAD_MOVED);
  }

  /** A rebase step that may stop at conflicts: then the status shows them and no error is raised. */
  private async rebaseStep(
    agentId: string,
    target: VcsTarget,
    args: string[],
    operation: string,
  ): Promise<managerV1.RepositoryStatus> {
    const result = await this.git(target, args, {
      env: {
        GIT_COMMITTER_NAME: this.options.defaultAuthor.name,
        GIT_COMMITTER_EMAIL: this.options.defaultAuthor.email,
      },
    });
    const after = await this.readStatus(target);
    if (result.exitCode !== 0) {
      if (after.conflicts.size > 0) {
        await this.publish(agentId, VcsEventKind.VCS_EVENT_KIND_CONFLICTS_CHANGED, after.status);
        return after.status;
      }
      throw gitError(operation, result);
    }
    await this.publish(agentId, VcsEventKind.VCS_EVENT_KIND_HEAD_MOVED, after.status);
    return after.status;
  }

  async listConflicts(
    agentId: string,
    includeContent: boolean,
  ): Promise<managerV1.ListConflictsResponse> {
    const target = await this.options.resolve(agentId);
    const { status, conflicts } = await this.readStatus(target);
    const list: managerV1.Conflict[] = [];
    for (const [path, kind] of [...conflicts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const conflict: managerV1.Conflict = {
        path,
        kind,
        isBinary: false,
        baseContent: Buffer.alloc(0),
        oursContent: Buffer.alloc(0),
        theirsContent: Buffer.alloc(0),
      };
      if (includeContent) {
        const [base, ours, theirs] = await Promise.all(
          [1, 2, 3].map((stage) => this.stageContent(target, stage, path)),
        );
        conflict.isBinary = [base, ours, theirs].some((side) => side?.includes(0));
        if (!conflict.isBinary) {
          conflict.baseContent = base ?? Buffer.alloc(0);
          conflict.oursContent = ours ?? Buffer.alloc(0);
          conflict.theirsContent = theirs ?? Buffer.alloc(0);
        }
      }
      list.push(conflict);
    }
    return {
      operation:
        list.length === 0 ? RepositoryOperation.REPOSITORY_OPERATION_NONE : status.operation,
      conflicts: list,
    };
  }

  /** The content of one stage of an unmerged path (1 base, 2 ours, 3 theirs); undefined when absent or too large. */
  private async stageContent(
    target: VcsTarget,
    stage: number,
    path: string,
  ): Promise<Buffer | undefined> {
    const result = await this.git(target, ['cat-file', 'blob', `:${stage}:${path}`]);
    if (result.exitCode !== 0 || result.stdout.length > MAX_CONFLICT_SIDE_BYTES) return undefined;
    return result.stdout;
  }

  async resolveConflict(
    agentId: string,
    request: { path: string; resolution: managerV1.ConflictResolution; content: Buffer },
  ): Promise<managerV1.RepositoryStatus> {
    const path = validatePath(request.path, 'path', false);
    if (request.resolution === ConflictResolution.CONFLICT_RESOLUTION_UNSPECIFIED) {
      throw new InvalidArgumentError('resolution is required: OURS, THEIRS or CONTENT');
    }
    if (
      request.resolution !== ConflictResolution.CONFLICT_RESOLUTION_CONTENT &&
      request.content.length > 0
    ) {
      throw new InvalidArgumentError('content is only allowed with resolution CONTENT');
    }
    if (request.content.length > MAX_RESOLVED_BYTES) {
      throw new InvalidArgumentError(`content is larger than ${MAX_RESOLVED_BYTES} bytes`);
    }
    const target = await this.options.resolve(agentId);
    const { conflicts } = await this.readStatus(target);
    const kind = conflicts.get(path);
    if (kind === undefined)
      throw new FailedPreconditionError(`path "${printable(path)}" has no conflict`);
    if (request.resolution === ConflictResolution.CONFLICT_RESOLUTION_CONTENT) {
      // `tee` writes stdin to the path the agent user may write; "--" ends its options.
      const written = await this.options.exec.run(target.containerId, ['tee', '--', path], {
        stdin: request.content,
      });
      if (written.exitCode !== 0) throw gitError('resolve conflict', written);
      await this.gitOk(target, 'resolve conflict', ['add', '--', path]);
    } else {
      const side = request.resolution === ConflictResolution.CONFLICT_RESOLUTION_OURS ? 2 : 3;
      const exists =
        (await this.git(target, ['cat-file', '-e', `:${side}:${path}`])).exitCode === 0;
      if (exists) {
        await this.gitOk(target, 'resolve conflict', [
          'checkout',
          side === 2 ? '--ours' : '--theirs',
          '--',
          path,
        ]);
        await this.gitOk(target, 'resolve conflict', ['add', '--', path]);
      } else {
        await this.gitOk(target, 'resolve conflict', ['rm', '-q', '--ignore-unmatch', '--', path]);
      }
    }
    return this.afterChange(agentId, target, VcsEventKind.VCS_EVENT_KIND_CONFLICTS_CHANGED);
  }

  private async afterChange(
    agentId: string,
    target: VcsTarget,
    kind: eventsV1.VcsEventKind,
  ): Promise<managerV1.RepositoryStatus> {
    const status = (await this.readStatus(target)).status;
    await this.publish(agentId, kind, status);
    return status;
  }
}

function pathsOrAll(paths: string[], all: boolean): string[] {
  if (all && paths.length > 0) throw new InvalidArgumentError('give either paths or all, not both');
  if (!all && paths.length === 0)
    throw new InvalidArgumentError('paths is empty; give paths or set all');
  return validatePaths(paths);
}

function operationOf(found: Set<string>): managerV1.RepositoryOperation {
  if (found.has('rebase-merge') || found.has('rebase-apply'))
    return RepositoryOperation.REPOSITORY_OPERATION_REBASE;
  if (found.has('MERGE_HEAD')) return RepositoryOperation.REPOSITORY_OPERATION_MERGE;
  if (found.has('CHERRY_PICK_HEAD')) return RepositoryOperation.REPOSITORY_OPERATION_CHERRY_PICK;
  if (found.has('REVERT_HEAD')) return RepositoryOperation.REPOSITORY_OPERATION_REVERT;
  return RepositoryOperation.REPOSITORY_OPERATION_NONE;
}

/** Splits `git diff -p` output into each file's hunks (from the first "@@" on), in git's order. */
export function splitPatches(text: string): string[] {
  if (text === '') return [];
  const sections = text.split(/^diff --git /m).slice(1);
  return sections.map((section) => {
    const hunk = section.search(/^@@/m);
    return hunk === -1 ? '' : section.slice(hunk);
  });
}
