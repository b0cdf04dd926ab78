import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eventsV1, managerV1 } from '@agenstra/proto';
import {
  AlreadyExistsError,
  closeNats,
  connectNats,
  createLogger,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  UnavailableError,
} from '@agenstra/shared';
import { expect } from 'chai';
import type { NatsConnection } from 'nats';
import { EventPublisher } from '../events/publisher.js';
import { agentSubject } from '../events/subjects.js';
import { ContainerRuntime } from '../runtime/container-runtime.js';
import { createDockerClient } from '../runtime/docker-client.js';
import { cloneRepository } from './clone.js';
import type { RepositoryCredentials } from './credentials.js';
import { ContainerSessions } from './container-sessions.js';
import { ContainerExec } from './git-exec.js';
import { commitToBareRepository } from './testing/host-commit.js';
import { startGitHttpServer, type GitHttpServer } from './testing/git-http-server.js';
import { Vcs, type VcsTarget } from './vcs.js';

const { FileChange, RepositoryOperation, ConflictKind, ConflictResolution, PullStrategy } =
  managerV1;
const TEST_LABEL = 'agenstra.test';
// The Docker bridge gateway: the host as agent containers see it.
const GATEWAY = process.env.AGENSTRA_TEST_DOCKER_GATEWAY ?? '172.17.0.1';
const USERNAME = 'alice';
const PASSWORD = `pw-${randomBytes(9).toString('hex')}`;

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('VcsService git operations in a real agent container against a git HTTP server', function () {
  this.timeout(180_000);
  const logger = createLogger({ service: 'vcs-test', level: 'silent' });
  const managerId = `vcs-test-${randomBytes(4).toString('hex')}`;
  const docker = createDockerClient(process.env.DOCKER_HOST);
  const exec = new ContainerExec(docker);
  // The production path: one helper exec per container (plain exec stays for setup and clone).
  const sessions = new ContainerSessions(docker, exec, logger, 5_000);
  let workspaces: string;
  let runtime: ContainerRuntime;
  let server: GitHttpServer;
  let nats: NatsConnection;
  let events: eventsV1.Event[];
  const containers: string[] = [];

  const credentials: RepositoryCredentials = {
    kind: 'username_password',
    username: USERNAME,
    password: PASSWORD,
  };

  async function newAgent(): Promise<{ agentId: string; target: VcsTarget; vcs: Vcs }> {
    const agentId = `vcs-${randomBytes(4).toString('hex')}`;
    await runtime.prepareWorkspace(agentId);
    const containerId = await runtime.create({
      agentId,
      image: process.env.AGENT_IMAGE ?? 'agenstra/agent:latest',
      cpuMillis: 1000,
      memoryBytes: 512 * 1024 ** 2,
      pidsLimit: 256,
      environment: {},
    });
    containers.push(containerId);
    await runtime.start(containerId);
    const target: VcsTarget = { containerId, credentials };
    const vcs = new Vcs({
      exec: sessions,
      resolve: async () => target,
      publisher: new EventPublisher(nats, managerId),
      defaultAuthor: { name: 'Agenstra Test', email: 'test@agenstra.local' },
      logger,
    });
    nats.subscribe(agentSubject(managerId, agentId, 'vcs'), {
      callback: (_error, message) => events.push(eventsV1.Event.decode(message.data)),
    });
    return { agentId, target, vcs };
  }

  /** Runs a fixed setup command in the container as the agent user. */
  async function inContainer(target: VcsTarget, script: string, stdin?: string): Promise<string> {
    const result = await exec.run(target.containerId, ['sh', '-c', script], {
      stdin,
      env: {
        GIT_AUTHOR_NAME: 'Setup',
        GIT_AUTHOR_EMAIL: 'setup@example.com',
        GIT_COMMITTER_NAME: 'Setup',
        GIT_COMMITTER_EMAIL: 'setup@example.com',
      },
    });
    if (result.exitCode !== 0) throw new Error(`setup failed: ${result.stderr}`);
    return result.stdout.toString('utf8');
  }

  const hostCommit = (repository: string, file: string, content: string, message: string) =>
    commitToBareRepository(server.pathOf(repository), file, content, message);

  /** An agent with a clone of a fresh remote that has one commit (README and a binary file). */
  async function clonedAgent() {
    const repository = `repo-${randomBytes(4).toString('hex')}`;
    server.createBareRepository(repository);
    hostCommit(repository, 'README.md', 'line 1\nline 2\n', 'initial');
    const agent = await newAgent();
    await cloneRepository(exec, agent.target.containerId, {
      url: server.urlOf(repository),
      branch: '',
      credentials,
    });
    return { ...agent, repository };
  }

  before(async () => {
    workspaces = mkdtempSync(path.join(os.tmpdir(), 'agenstra-vcs-ws-'));
    runtime = new ContainerRuntime({
      docker,
      managerId,
      workspacesDir: workspaces,
      logger,
      commandOverride: ['sleep', 'infinity'],
      extraLabels: { [TEST_LABEL]: 'vcs' },
    });
    server = await startGitHttpServer({ host: GATEWAY, username: USERNAME, password: PASSWORD });
    nats = await connectNats({
      url: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
      name: 'agenstra-vcs-test',
      logger,
    });
    events = [];
  });

  after(async () => {
    sessions.close();
    for (const id of containers) await runtime.remove(id).catch(() => undefined);
    rmSync(workspaces, { recursive: true, force: true });
    await server?.close();
    if (nats) await closeNats(nats);
  });

  describe('clone', () => {
    it('clones over HTTPS-style basic auth with a user name and password, and with a token', async () => {
      const { vcs, agentId, repository } = await clonedAgent();
      const status = await vcs.getStatus(agentId);
      expect(status.branch).to.equal('main');
      expect(status.upstream).to.equal('origin/main');
      expect(status.headSha).to.match(/^[0-9a-f]{40}$/);

      const other = await newAgent();
      await cloneRepository(exec, other.target.containerId, {
        url: server.urlOf(repository),
        branch: 'main',
        credentials: { kind: 'https_token', username: USERNAME, token: PASSWORD },
      });
      expect((await other.vcs.getStatus(other.agentId)).headSha).to.equal(status.headSha);
    });

    it('fails a clone with a wrong password as PERMISSION_DENIED without the password anywhere in the error', async () => {
      const repository = `repo-${randomBytes(4).toString('hex')}`;
      server.createBareRepository(repository);
      const agent = await newAgent();
      const wrong = `wrong-${randomBytes(8).toString('hex')}`;
      const error = await rejection(
        cloneRepository(exec, agent.target.containerId, {
          url: server.urlOf(repository),
          branch: '',
          credentials: { kind: 'username_password', username: USERNAME, password: wrong },
        }),
      );
      expect(error).to.be.instanceOf(PermissionDeniedError);
      expect(error.message).to.include('clone');
      expect(error.message).not.to.include(wrong);
      expect(JSON.stringify(error)).not.to.include(wrong);
    });

    it('removes the SSH key from the container after the clone, and an unreachable SSH remote fails as UNAVAILABLE without the key', async () => {
      const agent = await newAgent();
      const key = await inContainer(
        agent.target,
        'ssh-keygen -q -t ed25519 -N "" -f /tmp/k >/dev/null && cat /tmp/k && rm -f /tmp/k /tmp/k.pub',
      );
      const marker = key.split('\n')[1];
      const error = await rejection(
        cloneRepository(exec, agent.target.containerId, {
          url: `ssh://git@${GATEWAY}:1/nothing.git`,
          branch: '',
          credentials: { kind: 'ssh_key', privateKey: key },
        }),
      );
      expect(error).to.be.instanceOf(UnavailableError);
      expect(error.message).not.to.include(marker);
      expect(
        await inContainer(agent.target, 'ls -A /home/agent/.agenstra 2>/dev/null || true'),
      ).to.equal('');
    });

    it('clones into the empty repository a fresh workspace starts with, and a missing branch is NOT_FOUND', async () => {
      const repository = `repo-${randomBytes(4).toString('hex')}`;
      server.createBareRepository(repository);
      const sha = hostCommit(repository, 'a.txt', 'a\n', 'first');
      const agent = await newAgent();
      await inContainer(agent.target, 'git init -q -b main .');
      await cloneRepository(exec, agent.target.containerId, {
        url: server.urlOf(repository),
        branch: '',
        credentials,
      });
      const status = await agent.vcs.getStatus(agent.agentId);
      expect(status).to.include({ branch: 'main', upstream: 'origin/main', headSha: sha });
      expect(await inContainer(agent.target, 'cat a.txt')).to.equal('a\n');

      const other = await newAgent();
      const error = await rejection(
        cloneRepository(exec, other.target.containerId, {
          url: server.urlOf(repository),
          branch: 'no-such-branch',
          credentials,
        }),
      );
      expect(error).to.be.instanceOf(NotFoundError);
    });

    it('creates an empty repository on branch main when there is no URL', async () => {
      const agent = await newAgent();
      await cloneRepository(exec, agent.target.containerId, { url: '', branch: '' });
      const status = await agent.vcs.getStatus(agent.agentId);
      expect(status).to.include({ branch: 'main', headSha: '', detached: false });
    });
  });

  describe('status and diff', () => {
    it('reports staged, unstaged, untracked, renamed and binary entries', async () => {
      const { vcs, agentId, target } = await clonedAgent();
      await inContainer(
        target,
        `printf 'a\\0b' > blob.bin && printf 'move me\\n' > old.txt && printf 'x\\n' > edited.txt &&
         git add -A && git commit -q -m base &&
         printf 'c\\0d\\0e' > blob.bin && git mv old.txt new.txt &&
         printf 'staged\\n' > added.txt && git add added.txt &&
         printf 'y\\n' >> edited.txt && printf 'u\\n' > 'with space.txt' &&
         printf 'f\\0g' > untracked.bin`,
      );
      const status = await vcs.getStatus(agentId);
      const byPath = new Map(status.entries.map((entry) => [entry.path, entry]));
      expect(status.entries.map((entry) => entry.path)).to.deep.equal([
        'added.txt',
        'blob.bin',
        'edited.txt',
        'new.txt',
        'untracked.bin',
        'with space.txt',
      ]);
      expect(byPath.get('added.txt')).to.include({
        staged: true,
        unstaged: false,
        indexChange: FileChange.FILE_CHANGE_ADDED,
      });
      expect(byPath.get('edited.txt')).to.include({
        staged: false,
        unstaged: true,
        worktreeChange: FileChange.FILE_CHANGE_MODIFIED,
        isBinary: false,
      });
      expect(byPath.get('new.txt')).to.include({
        originalPath: 'old.txt',
        indexChange: FileChange.FILE_CHANGE_RENAMED,
        staged: true,
      });
      expect(byPath.get('with space.txt')).to.include({
        untracked: true,
        worktreeChange: FileChange.FILE_CHANGE_UNTRACKED,
        isBinary: false,
      });
      expect(byPath.get('untracked.bin')).to.include({ untracked: true, isBinary: true });
      expect(byPath.get('blob.bin')).to.include({ unstaged: true, isBinary: true });
      expect(status.ahead).to.equal(1);
      expect(status.operation).to.equal(RepositoryOperation.REPOSITORY_OPERATION_NONE);

      const unstaged = await vcs.getDiff(agentId, { path: '', staged: false, contextLines: 0 });
      const edited = unstaged.find((file) => file.path === 'edited.txt');
      expect(edited).to.include({ addedLines: 1, deletedLines: 0, isBinary: false });
      expect(edited?.patch).to.match(/^@@ /);
      expect(edited?.patch).to.include('+y');
      const blob = unstaged.find((file) => file.path === 'blob.bin');
      expect(blob).to.include({ isBinary: true, patch: '', oldSizeBytes: '3', newSizeBytes: '5' });

      const staged = await vcs.getDiff(agentId, {
        path: 'added.txt',
        staged: true,
        contextLines: 0,
      });
      expect(staged.map((file) => [file.path, file.change])).to.deep.equal([
        ['added.txt', FileChange.FILE_CHANGE_ADDED],
      ]);
    });

    it('refuses a workspace that is not a git repository with FAILED_PRECONDITION', async () => {
      const agent = await newAgent();
      const error = await rejection(agent.vcs.getStatus(agent.agentId));
      expect(error).to.be.instanceOf(FailedPreconditionError);
      expect(error.message).to.include('not a git repository');
    });
  });

  describe('branches, stage, commit, push, fetch and pull', () => {
    it('creates, lists, switches and deletes branches', async () => {
      const { vcs, agentId } = await clonedAgent();
      const created = await vcs.createBranch(agentId, {
        branchName: 'feature/x',
        startPoint: '',
        switchTo: false,
      });
      expect(created).to.include({ name: 'feature/x', current: false, remote: false });
      expect(
        await rejection(
          vcs.createBranch(agentId, { branchName: 'feature/x', startPoint: '', switchTo: false }),
        ),
      ).to.be.instanceOf(AlreadyExistsError);
      const switched = await vcs.switchBranch(agentId, 'feature/x');
      expect(switched.branch).to.equal('feature/x');
      const list = await vcs.listBranches(agentId, true);
      expect(list.currentBranch).to.equal('feature/x');
      expect(list.branches.map((branch) => [branch.name, branch.remote])).to.deep.equal([
        ['feature/x', false],
        ['main', false],
        ['origin/main', true],
      ]);
      expect(await rejection(vcs.deleteBranch(agentId, 'feature/x', false))).to.be.instanceOf(
        FailedPreconditionError,
      );
      await vcs.switchBranch(agentId, 'main');
      await vcs.deleteBranch(agentId, 'feature/x', false);
      expect(await rejection(vcs.switchBranch(agentId, 'feature/x'))).to.be.instanceOf(
        NotFoundError,
      );
    });

    it('stages, commits with the given author, pushes, then fetches and pulls a commit made elsewhere', async () => {
      const { vcs, agentId, target, repository } = await clonedAgent();
      events.length = 0;
      await inContainer(target, `printf 'hello\\n' > hello.txt`);
      const staged = await vcs.stage(agentId, ['hello.txt'], false);
      expect(staged.entries[0]).to.include({ path: 'hello.txt', staged: true });
      const commit = await vcs.commit(agentId, {
        message: 'Add hello\n\nBody line',
        author: { name: 'Carol Console', email: 'carol@example.com' },
        amend: false,
        allowEmpty: false,
      });
      expect(commit).to.include({
        subject: 'Add hello',
        message: 'Add hello\n\nBody line',
        authorName: 'Carol Console',
        authorEmail: 'carol@example.com',
      });
      expect(
        await rejection(
          vcs.commit(agentId, {
            message: 'again',
            author: { name: '', email: '' },
            amend: false,
            allowEmpty: false,
          }),
        ),
      )
        .to.be.instanceOf(FailedPreconditionError)
        .with.property('message')
        .that.includes('nothing to commit');

      const pushed = await vcs.push(agentId, {
        remote: '',
        branch: '',
        forceWithLease: false,
        setUpstream: false,
      });
      expect(pushed.headSha).to.equal(commit.sha);
      expect(pushed.status?.ahead).to.equal(0);
      expect(
        execFileSync('git', ['-C', server.pathOf(repository), 'rev-parse', 'main'])
          .toString()
          .trim(),
      ).to.equal(commit.sha);

      const remoteSha = hostCommit(repository, 'other.txt', 'from bob\n', 'Bob was here');
      const fetched = await vcs.fetch(agentId, { remote: 'origin', prune: true });
      expect(fetched.behind).to.equal(1);
      const pulled = await vcs.pull(agentId, {
        remote: '',
        branch: '',
        strategy: PullStrategy.PULL_STRATEGY_UNSPECIFIED,
      });
      expect(pulled).to.include({ headSha: remoteSha, behind: 0, ahead: 0 });

      const commits = await vcs.listCommits(agentId, {
        ref: '',
        path: '',
        pageSize: 2,
        pageToken: '',
      });
      expect(commits.commits.map((c) => c.subject)).to.deep.equal(['Bob was here', 'Add hello']);
      const rest = await vcs.listCommits(agentId, {
        ref: '',
        path: '',
        pageSize: 2,
        pageToken: commits.nextPageToken,
      });
      expect(rest.commits.map((c) => c.subject)).to.deep.equal(['initial']);
      expect(rest.nextPageToken).to.equal('');

      const kinds = events
        .filter((event) => event.agentId === agentId)
        .map((event) => (event.payload?.$case === 'vcs' ? event.payload.value.kind : undefined));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(kinds).to.include.members([
        eventsV1.VcsEventKind.VCS_EVENT_KIND_WORKING_TREE_CHANGED,
        eventsV1.VcsEventKind.VCS_EVENT_KIND_HEAD_MOVED,
        eventsV1.VcsEventKind.VCS_EVENT_KIND_REMOTE_UPDATED,
      ]);
    });

    it('refuses a push that is not a fast-forward, and force-with-lease does not clobber a remote that moved', async () => {
      const { vcs, agentId, target, repository } = await clonedAgent();
      await inContainer(
        target,
        `printf 'mine\\n' > mine.txt && git add mine.txt && git commit -q -m mine`,
      );
      const moved = hostCommit(repository, 'theirs.txt', 'theirs\n', 'moved meanwhile');
      const plain = await rejection(
        vcs.push(agentId, {
          remote: 'origin',
          branch: 'main',
          forceWithLease: false,
          setUpstream: false,
        }),
      );
      expect(plain).to.be.instanceOf(FailedPreconditionError);
      expect(plain.message).to.include('non-fast-forward');
      const leased = await rejection(
        vcs.push(agentId, {
          remote: 'origin',
          branch: 'main',
          forceWithLease: true,
          setUpstream: false,
        }),
      );
      expect(leased).to.be.instanceOf(FailedPreconditionError);
      expect(leased.message).to.include('moved');
      expect(
        execFileSync('git', ['-C', server.pathOf(repository), 'rev-parse', 'main'])
          .toString()
          .trim(),
      ).to.equal(moved);
      const diverged = await rejection(
        vcs.pull(agentId, {
          remote: '',
          branch: '',
          strategy: PullStrategy.PULL_STRATEGY_FAST_FORWARD_ONLY,
        }),
      );
      expect(diverged).to.be.instanceOf(FailedPreconditionError);
    });
  });

  describe('rebase and conflicts', () => {
    it('stops a conflicting rebase, lists the conflict with its sides, resolves it with content and continues', async () => {
      const { vcs, agentId, target, repository } = await clonedAgent();
      await inContainer(
        target,
        `printf 'line 1\\nours\\n' > README.md && git commit -q -am 'our change'`,
      );
      hostCommit(repository, 'README.md', 'line 1\ntheirs\n', 'their change');
      await vcs.fetch(agentId, { remote: '', prune: false });
      const stopped = await vcs.rebase(agentId, 'origin/main');
      expect(stopped.operation).to.equal(RepositoryOperation.REPOSITORY_OPERATION_REBASE);
      expect(stopped.entries.find((entry) => entry.path === 'README.md')).to.include({
        conflicted: true,
      });

      const conflicts = await vcs.listConflicts(agentId, true);
      expect(conflicts.operation).to.equal(RepositoryOperation.REPOSITORY_OPERATION_REBASE);
      expect(conflicts.conflicts).to.have.length(1);
      const [conflict] = conflicts.conflicts;
      expect(conflict).to.include({
        path: 'README.md',
        kind: ConflictKind.CONFLICT_KIND_BOTH_MODIFIED,
      });
      expect(conflict.baseContent.toString()).to.equal('line 1\nline 2\n');
      expect(conflict.oursContent.toString()).to.equal('line 1\ntheirs\n');
      expect(conflict.theirsContent.toString()).to.equal('line 1\nours\n');

      expect(await rejection(vcs.continueRebase(agentId))).to.be.instanceOf(
        FailedPreconditionError,
      );
      const resolved = await vcs.resolveConflict(agentId, {
        path: 'README.md',
        resolution: ConflictResolution.CONFLICT_RESOLUTION_CONTENT,
        content: Buffer.from('line 1\ntheirs\nours\n'),
      });
      expect(resolved.entries.filter((entry) => entry.conflicted)).to.deep.equal([]);
      const done = await vcs.continueRebase(agentId);
      expect(done).to.include({
        operation: RepositoryOperation.REPOSITORY_OPERATION_NONE,
        ahead: 1,
        behind: 0,
      });
      expect(await inContainer(target, 'cat README.md')).to.equal('line 1\ntheirs\nours\n');
      expect(await rejection(vcs.abortRebase(agentId))).to.be.instanceOf(FailedPreconditionError);
    });

    it('aborts a rebase and resolves by theirs', async () => {
      const { vcs, agentId, target, repository } = await clonedAgent();
      await inContainer(target, `printf 'mine\\n' > README.md && git commit -q -am mine`);
      hostCommit(repository, 'README.md', 'remote\n', 'remote');
      await vcs.fetch(agentId, { remote: 'origin', prune: false });
      const head = (await vcs.getStatus(agentId)).headSha;
      await vcs.rebase(agentId, 'origin/main');
      const aborted = await vcs.abortRebase(agentId);
      expect(aborted).to.include({
        operation: RepositoryOperation.REPOSITORY_OPERATION_NONE,
        headSha: head,
      });
      await vcs.rebase(agentId, 'origin/main');
      await vcs.resolveConflict(agentId, {
        path: 'README.md',
        resolution: ConflictResolution.CONFLICT_RESOLUTION_THEIRS,
        content: Buffer.alloc(0),
      });
      expect(await inContainer(target, 'cat README.md')).to.equal('mine\n');
    });
  });

  describe('hostile inputs', () => {
    it('refuses option-like and malformed branch names before git runs', async () => {
      const { vcs, agentId, target } = await clonedAgent();
      for (const name of [
        '--upload-pack=touch /tmp/pwned',
        '-b',
        'a..b',
        'x\ny',
        'bad~1',
        'end.lock',
        '@{-1}',
      ]) {
        const error = await rejection(
          vcs.createBranch(agentId, { branchName: name, startPoint: '', switchTo: true }),
        );
        expect(error, name).to.be.instanceOf(InvalidArgumentError);
      }
      expect(
        await rejection(
          vcs.push(agentId, {
            remote: '--receive-pack=touch /tmp/pwned',
            branch: '',
            forceWithLease: false,
            setUpstream: false,
          }),
        ),
      ).to.be.instanceOf(InvalidArgumentError);
      expect(await rejection(vcs.rebase(agentId, '--exec=touch /tmp/pwned'))).to.be.instanceOf(
        InvalidArgumentError,
      );
      expect(
        await rejection(
          vcs.createBranch(agentId, { branchName: 'ok', startPoint: '--all', switchTo: false }),
        ),
      ).to.be.instanceOf(InvalidArgumentError);
      expect(await inContainer(target, 'ls /tmp')).not.to.include('pwned');
    });

    it('treats paths starting with "-" and glob characters as plain file names', async () => {
      const { vcs, agentId, target } = await clonedAgent();
      await inContainer(
        target,
        `printf 1 > ./-A && printf 2 > ./--all && printf 3 > '*' && printf 4 > other.txt`,
      );
      const status = await vcs.stage(agentId, ['-A', '--all', '*'], false);
      const staged = status.entries.filter((entry) => entry.staged).map((entry) => entry.path);
      expect(staged).to.deep.equal(['*', '--all', '-A']);
      expect(status.entries.find((entry) => entry.path === 'other.txt')).to.include({
        untracked: true,
      });
      const unstaged = await vcs.unstage(agentId, ['-A'], false);
      expect(unstaged.entries.find((entry) => entry.path === '-A')).to.include({ untracked: true });
      expect(await rejection(vcs.stage(agentId, ['../outside'], false))).to.be.instanceOf(
        InvalidArgumentError,
      );
    });

    it('keeps newlines and option-like text in a commit message as the message', async () => {
      const { vcs, agentId, target } = await clonedAgent();
      await inContainer(target, `printf 'n\\n' > n.txt`);
      await vcs.stage(agentId, [], true);
      const message = '--amend\n\n-F /etc/passwd\nthird line';
      const commit = await vcs.commit(agentId, {
        message,
        author: { name: 'Dave', email: 'dave@example.com' },
        amend: false,
        allowEmpty: false,
      });
      expect(commit.message).to.equal(message);
      expect(commit.parentShas).to.have.length(1);
      expect(
        await rejection(
          vcs.commit(agentId, {
            message: 'x',
            author: { name: 'Eve\nInjected', email: '' },
            amend: false,
            allowEmpty: true,
          }),
        ),
      ).to.be.instanceOf(InvalidArgumentError);
    });
  });
});
