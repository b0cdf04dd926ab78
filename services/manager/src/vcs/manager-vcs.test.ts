import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { eventsV1, managerV1 } from '@agenstra/proto';
import { closeNats, connectNats, createLogger } from '@agenstra/shared';
import {
  startService,
  stopService,
  throwawayDatabase,
  type RunningService,
} from '@agenstra/shared/testing';
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { expect } from 'chai';
import type { NatsConnection } from 'nats';
import { startGitHttpServer } from './testing/git-http-server.js';
import { commitToBareRepository } from './testing/host-commit.js';

const run = promisify(execFile);
const MAIN = path.join(__dirname, '../main.js');

function unary<Res>(client: object, method: string, request: object): Promise<Res> {
  type Send = (
    request: object,
    callback: (error: ServiceError | null, response: Res) => void,
  ) => void;
  const send = (client as Record<string, Send>)[method];
  return new Promise((resolve, reject) =>
    send.call(client, request, (error, response) => (error ? reject(error) : resolve(response))),
  );
}

async function failure(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as ServiceError;
  }
  throw new Error('expected the call to fail');
}

describe('VcsService in a started manager with a created agent', function () {
  this.timeout(120_000);
  const database = throwawayDatabase('agenstra_vcs_test');
  const managerId = `vcs-e2e-${randomBytes(4).toString('hex')}`;
  let workspaces: string;
  let manager: RunningService;
  let nats: NatsConnection;
  let agents: managerV1.AgentServiceClient;
  let vcs: managerV1.VcsServiceClient;
  const events: eventsV1.VcsEvent[] = [];

  before(async function () {
    if (
      spawnSync('docker', ['image', 'inspect', 'agenstra/agent:latest'], { stdio: 'ignore' })
        .status !== 0
    ) {
      this.skip();
    }
    workspaces = await fs.mkdtemp(path.join(os.tmpdir(), 'agenstra-vcs-e2e-'));
    manager = await startService(MAIN, {
      DATABASE_URL: database.url,
      MANAGER_GRPC_PORT: '0',
      GRPC_HOST: '127.0.0.1',
      WORKSPACES_DIR: workspaces,
      MANAGER_STATE_DIR: workspaces,
      MANAGER_ID: managerId,
      // The test's git server speaks plain HTTP on the Docker bridge.
      GIT_ALLOW_PLAINTEXT_HTTP: 'true',
    });
    nats = await connectNats({
      url: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
      name: 'agenstra-vcs-e2e',
      logger: createLogger({ service: 'vcs-e2e', level: 'silent' }),
    });
    nats.subscribe(`agenstra.v1.managers.${managerId}.agents.*.vcs`, {
      callback: (_error, message) => {
        const event = eventsV1.Event.decode(message.data);
        if (event.payload?.$case === 'vcs') events.push(event.payload.value);
      },
    });
    await nats.flush();
    const address = `127.0.0.1:${manager.port}`;
    agents = new managerV1.AgentServiceClient(address, credentials.createInsecure());
    vcs = new managerV1.VcsServiceClient(address, credentials.createInsecure());
  });

  after(async () => {
    agents?.close();
    vcs?.close();
    if (manager) await stopService(manager);
    const { stdout } = await run('docker', [
      'ps',
      '-aq',
      '--filter',
      `label=agenstra.manager=${managerId}`,
    ]);
    const leftovers = stdout.split('\n').filter(Boolean);
    if (leftovers.length) await run('docker', ['rm', '-f', ...leftovers]);
    if (nats) await closeNats(nats);
    await database.drop();
    if (workspaces) await fs.rm(workspaces, { recursive: true, force: true });
  });

  it('answers NOT_FOUND for an unknown agent and INVALID_ARGUMENT for a malformed name', async () => {
    expect((await failure(unary(vcs, 'getStatus', { agent: 'agents/nobody' }))).code).to.equal(
      status.NOT_FOUND,
    );
    expect((await failure(unary(vcs, 'getStatus', { agent: 'nobody' }))).code).to.equal(
      status.INVALID_ARGUMENT,
    );
  });

  it('serves status, stage and commit of the agent workspace and publishes .vcs events', async () => {
    const { agent } = await unary<managerV1.CreateAgentResponse>(agents, 'createAgent', {
      agentId: 'gitter',
      agent: managerV1.Agent.fromPartial({
        displayName: 'vcs e2e',
        type: managerV1.AgentType.AGENT_TYPE_ECHO,
      }),
    });
    const name = agent!.name;
    // The container starts in the background; until it runs, git cannot be asked.
    let last: ServiceError | undefined;
    for (let attempt = 0; attempt < 100; attempt++) {
      try {
        await unary(vcs, 'getStatus', { agent: name });
        last = undefined;
        break;
      } catch (error) {
        last = error as ServiceError;
        // The workspace answers once the container runs: as a repository, or as not being one.
        if (/not a git repository/.test(last.details)) break;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    if (last) expect(last.details).to.include('not a git repository');

    const { stdout } = await run('docker', [
      'ps',
      '-q',
      '--filter',
      'label=agenstra.agent=gitter',
      '--filter',
      `label=agenstra.manager=${managerId}`,
    ]);
    const container = stdout.trim();
    await run('docker', [
      'exec',
      '-u',
      '1000:1000',
      '-w',
      '/workspace',
      container,
      'sh',
      '-c',
      '[ -d .git ] || git init -q -b main; echo hi > hello.txt',
    ]);

    const staged = await unary<managerV1.StageFilesResponse>(vcs, 'stageFiles', {
      paths: [],
      agent: name,
      all: true,
    });
    expect(staged.status?.entries.map((entry) => [entry.path, entry.staged])).to.deep.equal([
      ['hello.txt', true],
    ]);
    const { commit } = await unary<managerV1.CommitResponse>(vcs, 'commit', {
      agent: name,
      message: 'first\n\nfrom the console',
      authorName: 'Console User',
      authorEmail: 'user@example.com',
    });
    expect(commit).to.include({ subject: 'first', authorName: 'Console User' });
    const after = await unary<managerV1.GetStatusResponse>(vcs, 'getStatus', { agent: name });
    expect(after.status).to.include({ headSha: commit!.sha, detached: false });

    const hostile = await failure(
      unary(vcs, 'createBranch', { agent: name, branchName: '--upload-pack=touch /tmp/x' }),
    );
    expect(hostile.code).to.equal(status.INVALID_ARGUMENT);
    const empty = await failure(unary(vcs, 'commit', { agent: name, message: 'nothing' }));
    expect(empty.code).to.equal(status.FAILED_PRECONDITION);

    for (let attempt = 0; attempt < 50 && events.length < 2; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(events.map((event) => [event.agentId, event.kind])).to.deep.include.members([
      ['gitter', eventsV1.VcsEventKind.VCS_EVENT_KIND_WORKING_TREE_CHANGED],
      ['gitter', eventsV1.VcsEventKind.VCS_EVENT_KIND_HEAD_MOVED],
    ]);
    expect(
      events.find((event) => event.kind === eventsV1.VcsEventKind.VCS_EVENT_KIND_HEAD_MOVED)
        ?.headSha,
    ).to.equal(commit!.sha);
  });

  describe('CreateAgent with a repository', () => {
    const gateway = process.env.AGENSTRA_TEST_DOCKER_GATEWAY ?? '172.17.0.1';
    const username = 'carol';
    const password = `pw-${randomBytes(9).toString('hex')}`;
    let repositoryUrl: string;
    let closeServer: () => Promise<void>;

    before(async () => {
      const server = await startGitHttpServer({ host: gateway, username, password });
      closeServer = () => server.close();
      server.createBareRepository('project');
      commitToBareRepository(server.pathOf('project'), 'README.md', 'from the remote\n', 'seed');
      repositoryUrl = server.urlOf('project');
    });
    after(() => closeServer?.());

    it('clones the repository into the workspace with the given credentials', async () => {
      await unary(agents, 'createAgent', {
        agentId: 'cloned',
        agent: managerV1.Agent.fromPartial({
          displayName: 'cloned',
          type: managerV1.AgentType.AGENT_TYPE_ECHO,
          repository: {
            url: repositoryUrl,
            credentials: { $case: 'usernamePassword', value: { username, password } },
          },
        }),
      });
      const readme = await fs.readFile(path.join(workspaces, 'cloned', 'README.md'), 'utf8');
      expect(readme).to.equal('from the remote\n');
      const { status: repository } = await unary<managerV1.GetStatusResponse>(vcs, 'getStatus', {
        agent: 'agents/cloned',
      });
      expect(repository).to.include({ branch: 'main', upstream: 'origin/main' });
    });

    it('fails the creation cleanly on a wrong password, without the password and without leftovers', async () => {
      const wrong = `wrong-${randomBytes(9).toString('hex')}`;
      const error = await failure(
        unary(agents, 'createAgent', {
          agentId: 'refused',
          agent: managerV1.Agent.fromPartial({
            displayName: 'refused',
            type: managerV1.AgentType.AGENT_TYPE_ECHO,
            repository: {
              url: repositoryUrl,
              credentials: { $case: 'usernamePassword', value: { username, password: wrong } },
            },
          }),
        }),
      );
      expect(error.code).to.equal(status.PERMISSION_DENIED);
      expect(error.details).to.include('clone');
      expect(error.details).not.to.include(wrong);
      expect((await failure(unary(agents, 'getAgent', { name: 'agents/refused' }))).code).to.equal(
        status.NOT_FOUND,
      );
      const { stdout } = await run('docker', [
        'ps',
        '-aq',
        '--filter',
        'label=agenstra.agent=refused',
        '--filter',
        `label=agenstra.manager=${managerId}`,
      ]);
      expect(stdout.trim()).to.equal('');
      expect(await fs.stat(path.join(workspaces, 'refused')).catch(() => null)).to.equal(null);
    });
  });
});
