import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { managerV1 } from '@agenstra/proto';
import {
  closeNats,
  connectNats,
  createLogger,
  FailedPreconditionError,
  PermissionDeniedError,
} from '@agenstra/shared';
import { expect } from 'chai';
import type { NatsConnection } from 'nats';
import { EventPublisher } from '../events/publisher.js';
import { ContainerRuntime } from '../runtime/container-runtime.js';
import { createDockerClient } from '../runtime/docker-client.js';
import { cloneRepository } from './clone.js';
import type { RepositoryCredentials } from './credentials.js';
import { ContainerSessions } from './container-sessions.js';
import { ContainerExec } from './git-exec.js';
import { commitToBareRepository } from './testing/host-commit.js';
import {
  generateKeyPair,
  startSshGitServer,
  type SshGitServer,
  type SshKeyPair,
} from './testing/ssh-git-server.js';
import { Vcs, type VcsTarget } from './vcs.js';

const TEST_LABEL = 'agenstra.test';
// The Docker bridge gateway: the host as agent containers see it.
const GATEWAY = process.env.AGENSTRA_TEST_DOCKER_GATEWAY ?? '172.17.0.1';

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

/** Lines of a private key's base64 body: none of them may appear in an error. */
function keyMaterial(privateKey: string): string[] {
  return privateKey.split('\n').filter((line) => line !== '' && !line.startsWith('-----'));
}

describe('VcsService over SSH with a private key against a real sshd', function () {
  this.timeout(180_000);
  const logger = createLogger({ service: 'vcs-ssh-test', level: 'silent' });
  const managerId = `vcs-ssh-test-${randomBytes(4).toString('hex')}`;
  const docker = createDockerClient(process.env.DOCKER_HOST);
  const exec = new ContainerExec(docker);
  const sessions = new ContainerSessions(docker, exec, logger, 5_000);
  let workspaces: string;
  let runtime: ContainerRuntime;
  let server: SshGitServer;
  let nats: NatsConnection;
  let authorizedKey: SshKeyPair;
  const containers: string[] = [];

  async function newAgent(
    credentials: RepositoryCredentials,
  ): Promise<{ agentId: string; target: VcsTarget; vcs: Vcs }> {
    const agentId = `vcs-ssh-${randomBytes(4).toString('hex')}`;
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
    return { agentId, target, vcs };
  }

  /** Runs a fixed command in the container as the agent user. */
  async function inContainer(target: VcsTarget, script: string): Promise<string> {
    const result = await exec.run(target.containerId, ['sh', '-c', script]);
    if (result.exitCode !== 0) throw new Error(`setup failed: ${result.stderr}`);
    return result.stdout.toString('utf8');
  }

  /**
   * What is left of an SSH key in the container: entries under the credentials directory and any
   * file under the agent's home, /tmp or the repository that holds a line of the key.
   */
  async function keyLeftovers(target: VcsTarget, privateKey: string): Promise<string> {
    const line = keyMaterial(privateKey)[1];
    return inContainer(
      target,
      `ls -A /home/agent/.agenstra 2>/dev/null; grep -rlF -e '${line}' /home/agent /tmp /workspace/.git 2>/dev/null; true`,
    );
  }

  const hostCommit = (repository: string, file: string, content: string, message: string) =>
    commitToBareRepository(server.pathOf(repository), file, content, message);

  function remoteRepository(): { repository: string; sha: string } {
    const repository = `repo-${randomBytes(4).toString('hex')}`;
    server.createBareRepository(repository);
    return { repository, sha: hostCommit(repository, 'README.md', 'hello\n', 'initial') };
  }

  before(async () => {
    // Fails (never skips) without sshd: the error names the package to install.
    server = await startSshGitServer({ host: GATEWAY });
    authorizedKey = generateKeyPair('agenstra-authorized');
    server.authorize(authorizedKey.publicKey);
    workspaces = mkdtempSync(path.join(os.tmpdir(), 'agenstra-vcs-ssh-ws-'));
    runtime = new ContainerRuntime({
      docker,
      managerId,
      workspacesDir: workspaces,
      logger,
      commandOverride: ['sleep', 'infinity'],
      extraLabels: { [TEST_LABEL]: 'vcs-ssh' },
    });
    nats = await connectNats({
      url: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
      name: 'agenstra-vcs-ssh-test',
      logger,
    });
  });

  after(async () => {
    sessions.close();
    for (const id of containers) await runtime?.remove(id).catch(() => undefined);
    if (workspaces) rmSync(workspaces, { recursive: true, force: true });
    await server?.close();
    if (nats) await closeNats(nats);
  });

  it('clones over ssh:// with a key and a pinned host key; status shows the upstream and the key is gone afterwards', async () => {
    const { repository, sha } = remoteRepository();
    const credentials: RepositoryCredentials = {
      kind: 'ssh_key',
      privateKey: authorizedKey.privateKey,
      knownHosts: server.knownHostsLine(),
    };
    const agent = await newAgent(credentials);
    await cloneRepository(exec, agent.target.containerId, {
      url: server.urlOf(repository),
      branch: '',
      credentials,
    });
    const status = await agent.vcs.getStatus(agent.agentId);
    expect(status).to.include({ branch: 'main', upstream: 'origin/main', headSha: sha });
    expect(await inContainer(agent.target, 'cat README.md')).to.equal('hello\n');
    expect(await keyLeftovers(agent.target, authorizedKey.privateKey)).to.equal('');
    // A pinned key is used for this command only: nothing was added to the user's known_hosts.
    expect(await inContainer(agent.target, 'ls -A /home/agent/.ssh 2>/dev/null; true')).to.equal(
      '',
    );
  });

  it('fetches, pulls and pushes with the same key, removing it from the container after each operation', async () => {
    const { repository } = remoteRepository();
    const credentials: RepositoryCredentials = {
      kind: 'ssh_key',
      privateKey: authorizedKey.privateKey,
      knownHosts: server.knownHostsLine(),
    };
    const { vcs, agentId, target } = await newAgent(credentials);
    await cloneRepository(exec, target.containerId, {
      url: server.urlOf(repository),
      branch: 'main',
      credentials,
    });

    const remoteSha = hostCommit(repository, 'bob.txt', 'from bob\n', 'Bob was here');
    const fetched = await vcs.fetch(agentId, { remote: 'origin', prune: false });
    expect(fetched).to.include({ behind: 1, ahead: 0 });
    expect(await keyLeftovers(target, authorizedKey.privateKey)).to.equal('');

    const pulled = await vcs.pull(agentId, {
      remote: '',
      branch: '',
      strategy: managerV1.PullStrategy.PULL_STRATEGY_UNSPECIFIED,
    });
    expect(pulled).to.include({ headSha: remoteSha, behind: 0, ahead: 0 });
    expect(await keyLeftovers(target, authorizedKey.privateKey)).to.equal('');

    await inContainer(target, `printf 'from the agent\\n' > agent.txt`);
    await vcs.stage(agentId, ['agent.txt'], false);
    const commit = await vcs.commit(agentId, {
      message: 'Agent change',
      author: { name: 'Carol Console', email: 'carol@example.com' },
      amend: false,
      allowEmpty: false,
    });
    const pushed = await vcs.push(agentId, {
      remote: '',
      branch: '',
      forceWithLease: false,
      setUpstream: false,
    });
    expect(pushed).to.include({ remoteRef: 'refs/heads/main', headSha: commit.sha });
    expect(pushed.status).to.include({ ahead: 0, behind: 0 });
    expect(
      execFileSync('git', ['-C', server.pathOf(repository), 'rev-parse', 'main'])
        .toString()
        .trim(),
    ).to.equal(commit.sha);
    expect(await keyLeftovers(target, authorizedKey.privateKey)).to.equal('');
  });

  it('accepts the host key on first use without known_hosts, pins it, and refuses a changed host key afterwards with FAILED_PRECONDITION', async () => {
    const { repository, sha } = remoteRepository();
    const credentials: RepositoryCredentials = {
      kind: 'ssh_key',
      privateKey: authorizedKey.privateKey,
    };
    const { vcs, agentId, target } = await newAgent(credentials);
    await cloneRepository(exec, target.containerId, {
      url: server.urlOf(repository),
      branch: '',
      credentials,
    });
    expect((await vcs.getStatus(agentId)).headSha).to.equal(sha);
    const firstHostKey = server.hostKeyMaterial();
    expect(await inContainer(target, 'cat /home/agent/.ssh/known_hosts')).to.include(firstHostKey);
    // The pinned key keeps working for the next operation.
    await vcs.fetch(agentId, { remote: 'origin', prune: false });

    await server.replaceHostKey();
    const error = await rejection(vcs.fetch(agentId, { remote: 'origin', prune: false }));
    expect(error).to.be.instanceOf(FailedPreconditionError);
    expect(error.message).to.match(/^fetch: .*host key/);
    for (const secret of [...keyMaterial(authorizedKey.privateKey), server.hostKeyMaterial()]) {
      expect(error.message).not.to.include(secret);
    }
    expect(await inContainer(target, 'cat /home/agent/.ssh/known_hosts')).to.include(firstHostKey);
    expect(await keyLeftovers(target, authorizedKey.privateKey)).to.equal('');
  });

  it('fails a clone whose pinned known_hosts names another host key as FAILED_PRECONDITION, readable and without key material', async () => {
    const { repository } = remoteRepository();
    const otherHostKey = generateKeyPair('not-the-server').publicKey.trim().split(/\s+/);
    const knownHosts = server
      .knownHostsLine()
      .replace(/ssh-ed25519 \S+/, otherHostKey.slice(0, 2).join(' '));
    const credentials: RepositoryCredentials = {
      kind: 'ssh_key',
      privateKey: authorizedKey.privateKey,
      knownHosts,
    };
    const { target } = await newAgent(credentials);
    const error = await rejection(
      cloneRepository(exec, target.containerId, {
        url: server.urlOf(repository),
        branch: '',
        credentials,
      }),
    );
    expect(error).to.be.instanceOf(FailedPreconditionError);
    expect(error.message).to.equal(
      "clone: the remote's SSH host key does not match the pinned known_hosts (host key verification failed); check ssh_key.known_hosts or the server's host key",
    );
    for (const secret of [
      ...keyMaterial(authorizedKey.privateKey),
      server.hostKeyMaterial(),
      otherHostKey[1],
    ]) {
      expect(JSON.stringify({ message: error.message, error })).not.to.include(secret);
    }
    expect(await keyLeftovers(target, authorizedKey.privateKey)).to.equal('');
  });

  it('fails a clone with a key the server does not accept as PERMISSION_DENIED without key material in the message', async () => {
    const { repository } = remoteRepository();
    const wrongKey = generateKeyPair('agenstra-not-authorized');
    const credentials: RepositoryCredentials = {
      kind: 'ssh_key',
      privateKey: wrongKey.privateKey,
      knownHosts: server.knownHostsLine(),
    };
    const { target } = await newAgent(credentials);
    const error = await rejection(
      cloneRepository(exec, target.containerId, {
        url: server.urlOf(repository),
        branch: '',
        credentials,
      }),
    );
    expect(error).to.be.instanceOf(PermissionDeniedError);
    expect(error.message).to.match(/^clone: .*Permission denied \(publickey\)/);
    for (const secret of keyMaterial(wrongKey.privateKey)) {
      expect(JSON.stringify({ message: error.message, error })).not.to.include(secret);
    }
    expect(await keyLeftovers(target, wrongKey.privateKey)).to.equal('');
  });

  it('clones with a passphrase-protected key, and a wrong passphrase is PERMISSION_DENIED without the passphrase in the message', async () => {
    const { repository, sha } = remoteRepository();
    const passphrase = `pp-${randomBytes(9).toString('hex')}`;
    const protectedKey = generateKeyPair('agenstra-protected', passphrase);
    server.authorize(protectedKey.publicKey);
    const credentials: RepositoryCredentials = {
      kind: 'ssh_key',
      privateKey: protectedKey.privateKey,
      passphrase,
      knownHosts: server.knownHostsLine(),
    };
    const agent = await newAgent(credentials);
    await cloneRepository(exec, agent.target.containerId, {
      url: server.urlOf(repository),
      branch: '',
      credentials,
    });
    expect((await agent.vcs.getStatus(agent.agentId)).headSha).to.equal(sha);
    expect(await keyLeftovers(agent.target, protectedKey.privateKey)).to.equal('');

    const wrongPassphrase = `wrong-${randomBytes(9).toString('hex')}`;
    const other = await newAgent({ ...credentials, passphrase: wrongPassphrase });
    const error = await rejection(
      cloneRepository(exec, other.target.containerId, {
        url: server.urlOf(repository),
        branch: '',
        credentials: { ...credentials, passphrase: wrongPassphrase },
      }),
    );
    expect(error).to.be.instanceOf(PermissionDeniedError);
    for (const secret of [wrongPassphrase, passphrase, ...keyMaterial(protectedKey.privateKey)]) {
      expect(JSON.stringify({ message: error.message, error })).not.to.include(secret);
    }
    expect(await keyLeftovers(other.target, protectedKey.privateKey)).to.equal('');
  });
});
