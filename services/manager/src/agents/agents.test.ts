import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { eventsV1, managerV1 } from '@agenstra/proto';
import {
  closeNats,
  connectNats,
  createGrpcServer,
  createLogger,
  loadConfig,
  openDatabase,
  Shutdown,
  type Database,
  type GrpcServer,
} from '@agenstra/shared';
import { throwawayDatabase } from '@agenstra/shared/testing';
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { expect } from 'chai';
import type Docker from 'dockerode';
import type { NatsConnection } from 'nats';
import { managerConfigSchema } from '../config.js';
import { agentSubject } from '../events/subjects.js';
import { MANAGER_SCHEMA, managerEntities, managerMigrations } from '../migrations/index.js';
import { startAgentRuntime, type AgentRuntime } from '../runtime/agent-runtime.js';
import { AGENT_LABEL, MANAGER_LABEL } from '../runtime/container-runtime.js';
import { createDockerClient } from '../runtime/docker-client.js';
import type { RunnerOutput } from '../runtime/runner-protocol.js';
import { Agent } from './agent.entity.js';
import { verifyAgentPassword } from './agent-password.js';

const AgentState = eventsV1.AgentState;
/** Every container these tests create carries this label; `after` removes them all. */
const TEST_LABEL = 'agenstra.test';
const TEST_RUN = `agents-${randomBytes(4).toString('hex')}`;

type Client = InstanceType<typeof managerV1.AgentServiceClient>;
type UnaryMethods = {
  createAgent: [managerV1.CreateAgentRequest, managerV1.CreateAgentResponse];
  getAgent: [managerV1.GetAgentRequest, managerV1.GetAgentResponse];
  listAgents: [managerV1.ListAgentsRequest, managerV1.ListAgentsResponse];
  updateAgent: [managerV1.UpdateAgentRequest, managerV1.UpdateAgentResponse];
  deleteAgent: [managerV1.DeleteAgentRequest, managerV1.DeleteAgentResponse];
  startAgent: [managerV1.StartAgentRequest, managerV1.StartAgentResponse];
  stopAgent: [managerV1.StopAgentRequest, managerV1.StopAgentResponse];
  restartAgent: [managerV1.RestartAgentRequest, managerV1.RestartAgentResponse];
};

/** One unary AgentService call as a promise. */
function rpc<M extends keyof UnaryMethods>(
  client: Client,
  method: M,
  request: UnaryMethods[M][0],
): Promise<UnaryMethods[M][1]> {
  const invoke = client[method].bind(client) as unknown as (
    request: UnaryMethods[M][0],
    callback: (error: ServiceError | null, response: UnaryMethods[M][1]) => void,
  ) => unknown;
  return new Promise((resolve, reject) =>
    invoke(request, (error, response) => (error ? reject(error) : resolve(response))),
  );
}

const quiet = () =>
  createLogger({
    service: 'agents-test',
    level: (process.env.AGENTS_TEST_LOG_LEVEL as 'debug') ?? 'silent',
  });

/** A manager's agent runtime in this process: real PostgreSQL, NATS, Docker and gRPC. */
class Manager {
  server!: GrpcServer;
  shutdown!: Shutdown;
  agentRuntime!: AgentRuntime;
  client!: InstanceType<typeof managerV1.AgentServiceClient>;

  static async start(
    database: Database,
    nats: NatsConnection,
    managerId: string,
    workspacesDir: string,
    stateDir: string,
  ) {
    const manager = new Manager();
    const logger = quiet();
    const config = loadConfig(managerConfigSchema, {
      ...process.env,
      WORKSPACES_DIR: workspacesDir,
      MANAGER_STATE_DIR: stateDir,
      MANAGER_SECRET_KEYS: '',
    });
    manager.server = createGrpcServer({ host: '127.0.0.1', port: 0, logger });
    manager.shutdown = new Shutdown({ logger, deadlineMs: 10_000 });
    manager.agentRuntime = await startAgentRuntime(
      { logger, database, nats, server: manager.server, shutdown: manager.shutdown },
      config,
      managerId,
      { extraLabels: { [TEST_LABEL]: TEST_RUN } },
    );
    const { address } = await manager.server.start();
    manager.client = new managerV1.AgentServiceClient(address, credentials.createInsecure());
    return manager;
  }

  create(agent: Partial<managerV1.Agent>, agentId = ''): Promise<managerV1.CreateAgentResponse> {
    return rpc(this.client, 'createAgent', {
      agentId,
      agent: managerV1.Agent.fromPartial({
        displayName: 'Test agent',
        type: managerV1.AgentType.AGENT_TYPE_ECHO,
        ...agent,
      }),
    });
  }

  get(agentId: string) {
    return rpc(this.client, 'getAgent', { name: `agents/${agentId}` }).then(
      (response) => response.agent!,
    );
  }

  async stop(): Promise<void> {
    this.client.close();
    await this.shutdown.run('test over');
    await this.server.drain(1000);
  }
}

describe('agents in real containers', function () {
  this.timeout(120_000);
  const databaseUrl = throwawayDatabase('agenstra_agents');
  const managerId = `test-${randomBytes(4).toString('hex')}`;
  let root: string;
  let workspacesDir: string;
  let database: Database;
  let nats: NatsConnection;
  let docker: Docker;
  let manager: Manager;

  before(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'agenstra-agents-'));
    workspacesDir = path.join(root, 'workspaces');
    database = await openDatabase({
      url: databaseUrl.url,
      schema: MANAGER_SCHEMA,
      entities: managerEntities,
      migrations: managerMigrations,
      logger: quiet(),
    });
    nats = await connectNats({
      url: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
      name: 'agents-test',
      logger: quiet(),
    });
    docker = createDockerClient(process.env.DOCKER_HOST);
    manager = await Manager.start(
      database,
      nats,
      managerId,
      workspacesDir,
      path.join(root, 'state'),
    );
  });

  after(async () => {
    await manager?.stop();
    const leftovers = await docker.listContainers({
      all: true,
      filters: JSON.stringify({ label: [`${TEST_LABEL}=${TEST_RUN}`] }),
    });
    await Promise.all(
      leftovers.map((container) => docker.getContainer(container.Id).remove({ force: true })),
    );
    await closeNats(nats);
    await database.close();
    await databaseUrl.drop();
    await fs.rm(root, { recursive: true, force: true });
  });

  const containersOf = (agentId: string) =>
    docker.listContainers({
      all: true,
      filters: JSON.stringify({
        label: [`${AGENT_LABEL}=${agentId}`, `${MANAGER_LABEL}=${managerId}`],
      }),
    });
  const rowOf = (agentId: string) => database.fork().findOne(Agent, { id: agentId });
  const expectCode = async (promise: Promise<unknown>, code: status, text: string) => {
    const error = await promise.then(
      () => expect.fail('expected an error'),
      (failure: ServiceError) => failure,
    );
    expect(error.code, error.details).to.equal(code);
    expect(error.details).to.contain(text);
  };

  it('creates a running container with the labels, limits and hardening, and an empty git workspace', async () => {
    const { agent } = await manager.create(
      { resources: { cpuMillis: 500, memoryBytes: String(256 * 1024 ** 2), pidsLimit: 128 } },
      'hardened',
    );
    expect(agent!.name).to.equal('agents/hardened');
    expect(agent!.state).to.equal(AgentState.AGENT_STATE_RUNNING);
    const info = await docker.getContainer(agent!.containerId).inspect();
    expect(info.Name).to.equal('/agenstra-agent-hardened');
    expect(info.Config.Labels).to.include({
      [AGENT_LABEL]: 'hardened',
      [MANAGER_LABEL]: managerId,
    });
    expect(info.HostConfig).to.deep.include({
      NanoCpus: 500_000_000,
      Memory: 256 * 1024 ** 2,
      PidsLimit: 128,
      CapDrop: ['ALL'],
      Privileged: false,
    });
    expect(info.HostConfig.SecurityOpt).to.deep.equal(['no-new-privileges:true']);
    expect(info.HostConfig.RestartPolicy?.Name).to.equal('unless-stopped');
    expect(info.Config.User).to.equal('1000:1000');
    expect(info.Config.Env).to.include('AGENSTRA_AGENT_TYPE=echo');
    expect(info.HostConfig.Binds).to.deep.equal([
      `${path.join(workspacesDir, 'hardened')}:/workspace`,
    ]);
    expect(info.HostConfig.Binds!.join()).to.not.contain('docker.sock');
    const workspace = await fs.stat(path.join(workspacesDir, 'hardened'));
    expect([workspace.uid, workspace.gid, workspace.mode & 0o777]).to.deep.equal([
      1000, 1000, 0o750,
    ]);
    expect((await fs.stat(path.join(workspacesDir, 'hardened', '.git', 'HEAD'))).uid).to.equal(
      1000,
    );
    expect(
      await fs.readFile(path.join(workspacesDir, 'hardened', '.git', 'HEAD'), 'utf8'),
    ).to.equal('ref: refs/heads/main\n');
    const gitEntries = await fs.readdir(path.join(workspacesDir, 'hardened', '.git'), {
      recursive: true,
    });
    const owners = await Promise.all(
      gitEntries.map(async (entry) => {
        const stat = await fs.lstat(path.join(workspacesDir, 'hardened', '.git', entry));
        return `${stat.uid}:${stat.gid}`;
      }),
    );
    expect(gitEntries).to.include('config');
    expect(new Set(owners)).to.deep.equal(new Set(['1000:1000']));
  });

  it('returns the password once and stores only its scrypt hash; secret environment is sealed and never returned', async () => {
    const { agent, password } = await manager.create(
      {
        environment: { PLAIN: 'visible' },
        secretEnvironment: { ANTHROPIC_API_KEY: 'sk-ant-very-secret' },
      },
      'secretive',
    );
    expect(Buffer.from(password, 'base64url').length * 8).to.be.at.least(128);
    const row = (await rowOf('secretive'))!;
    expect(row.passwordHash)
      .to.match(/^scrypt\$/)
      .and.not.contain(password);
    expect(await verifyAgentPassword(password, row.passwordHash)).to.equal(true);
    expect(row.secretEnvironment)
      .to.match(/^sb1\./)
      .and.not.contain('sk-ant-very-secret');
    const fetched = await manager.get('secretive');
    for (const view of [agent!, fetched]) {
      expect(view.secretEnvironment).to.deep.equal({});
      expect(view.secretEnvironmentKeys).to.deep.equal(['ANTHROPIC_API_KEY']);
      expect(view.environment).to.deep.equal({ PLAIN: 'visible' });
      expect(JSON.stringify(view)).to.not.contain(password);
    }
    const info = await docker.getContainer(agent!.containerId).inspect();
    expect(info.Config.Env).to.include('ANTHROPIC_API_KEY=sk-ant-very-secret');
  });

  it('refuses invalid fields with INVALID_ARGUMENT naming the field, and a taken id with ALREADY_EXISTS', async () => {
    await expectCode(
      manager.create({ displayName: '' }),
      status.INVALID_ARGUMENT,
      'agent.display_name',
    );
    await expectCode(
      manager.create({ type: managerV1.AgentType.AGENT_TYPE_UNSPECIFIED }),
      status.INVALID_ARGUMENT,
      'agent.type',
    );
    await expectCode(manager.create({}, 'Upper_Case'), status.INVALID_ARGUMENT, 'agent_id');
    await expectCode(
      manager.create({ resources: { cpuMillis: 10, memoryBytes: '0', pidsLimit: 0 } }),
      status.INVALID_ARGUMENT,
      'agent.resources.cpu_millis',
    );
    await expectCode(
      manager.create({ environment: { 'bad-key': 'x' } }),
      status.INVALID_ARGUMENT,
      'agent.environment',
    );
    await expectCode(
      manager.create({ environment: { AGENSTRA_AGENT_TYPE: 'codex' } }),
      status.INVALID_ARGUMENT,
      'reserved',
    );
    await expectCode(
      manager.create({
        repository: {
          url: 'https://user:pw@example.com/r.git',
          branch: '',
          credentials: undefined,
          credentialsKind: '',
        },
      }),
      status.INVALID_ARGUMENT,
      'agent.repository.url',
    );
    await expectCode(
      manager.create({
        repository: {
          url: 'http://example.com/r.git',
          branch: '',
          credentials: undefined,
          credentialsKind: '',
        },
      }),
      status.INVALID_ARGUMENT,
      'http:// sends credentials unencrypted',
    );
    await expectCode(manager.create({}, 'hardened'), status.ALREADY_EXISTS, 'agents/hardened');
  });

  it('leaves no container, row or workspace behind when the container cannot be created', async () => {
    await expectCode(
      manager.create({ image: 'agenstra/does-not-exist:never' }, 'doomed'),
      status.FAILED_PRECONDITION,
      'agenstra/does-not-exist:never',
    );
    expect(await containersOf('doomed')).to.have.length(0);
    expect(await rowOf('doomed')).to.equal(null);
    await expectCode(
      fs.stat(path.join(workspacesDir, 'doomed')) as Promise<never>,
      undefined as never,
      '',
    ).catch(() => undefined);
    expect(
      await fs.stat(path.join(workspacesDir, 'doomed')).then(
        () => 'exists',
        () => 'gone',
      ),
    ).to.equal('gone');
  });

  it('stops, starts and restarts, with the state read from the engine', async () => {
    await manager.create({}, 'cycled');
    const stopped = await rpc(manager.client, 'stopAgent', {
      name: 'agents/cycled',
      timeoutSeconds: 1,
    });
    expect(stopped.agent!.state).to.equal(AgentState.AGENT_STATE_STOPPED);
    const container = (await containersOf('cycled'))[0];
    expect(container.State).to.equal('exited');
    const started = await rpc(manager.client, 'startAgent', {
      name: 'agents/cycled',
    });
    expect(started.agent!.state).to.equal(AgentState.AGENT_STATE_RUNNING);
    const before = await docker.getContainer(container.Id).inspect();
    const restarted = await rpc(manager.client, 'restartAgent', {
      name: 'agents/cycled',
      timeoutSeconds: 1,
    });
    expect(restarted.agent!.state).to.equal(AgentState.AGENT_STATE_RUNNING);
    expect(restarted.agent!.containerId).to.equal(container.Id);
    const after = await docker.getContainer(container.Id).inspect();
    expect(after.State.StartedAt).to.not.equal(before.State.StartedAt);
  });

  it('recreates the container on restart after its environment changed, on the same workspace', async () => {
    const { agent } = await manager.create({}, 'changed');
    await rpc(manager.client, 'updateAgent', {
      agent: managerV1.Agent.fromPartial({
        name: 'agents/changed',
        environment: { GREETING: 'hello' },
      }),
      updateMask: ['environment'],
    });
    const restarted = await rpc(manager.client, 'restartAgent', {
      name: 'agents/changed',
      timeoutSeconds: 1,
    });
    expect(restarted.agent!.containerId).to.not.equal(agent!.containerId);
    expect(
      (await docker.getContainer(restarted.agent!.containerId).inspect()).Config.Env,
    ).to.include('GREETING=hello');
    expect(await containersOf('changed')).to.have.length(1);
  });

  it('reports a container removed behind its back as CONTAINER_MISSING; Start recreates it with the same workspace', async () => {
    const { agent } = await manager.create({}, 'vanishing');
    await fs.writeFile(path.join(workspacesDir, 'vanishing', 'notes.txt'), 'kept');
    await docker.getContainer(agent!.containerId).remove({ force: true });
    const missing = await manager.get('vanishing');
    expect(missing.state).to.equal(AgentState.AGENT_STATE_CONTAINER_MISSING);
    expect(missing.containerId).to.equal('');
    const started = await rpc(manager.client, 'startAgent', {
      name: 'agents/vanishing',
    });
    expect(started.agent!.state).to.equal(AgentState.AGENT_STATE_RUNNING);
    expect(started.agent!.containerId).to.not.equal(agent!.containerId);
    const [result] = await Promise.all([
      manager.agentRuntime.runtime.exec(started.agent!.containerId, [
        'cat',
        '/workspace/notes.txt',
      ]),
    ]);
    expect(result.output).to.equal('kept');
  });

  it("publishes status changes on the agent's .status subject", async () => {
    const subscription = nats.subscribe(agentSubject(managerId, 'announced', 'status'));
    const states: eventsV1.AgentState[] = [];
    const collecting = (async () => {
      for await (const message of subscription) {
        const event = eventsV1.Event.decode(message.data);
        if (event.payload?.$case === 'status') states.push(event.payload.value.state);
        if (states.includes(AgentState.AGENT_STATE_STOPPED)) break;
      }
    })();
    await manager.create({}, 'announced');
    await rpc(manager.client, 'stopAgent', {
      name: 'agents/announced',
      timeoutSeconds: 1,
    });
    await collecting;
    expect(states[0]).to.equal(AgentState.AGENT_STATE_CREATING);
    expect(states).to.include.members([
      AgentState.AGENT_STATE_RUNNING,
      AgentState.AGENT_STATE_STOPPED,
    ]);
  });

  it('talks to the real runner through the hub: hello is answered with ready, a message with its echo', async () => {
    await manager.create({}, 'chatty');
    const outputs: RunnerOutput[] = [];
    const replied = new Promise<void>((resolve) => {
      const unsubscribe = manager.agentRuntime.hub.subscribe((agentId, output) => {
        if (agentId !== 'chatty') return;
        outputs.push(output);
        if (output.type === 'done') {
          unsubscribe();
          resolve();
        }
      });
    });
    await manager.agentRuntime.hub.send('chatty', { type: 'hello', protocol: 1 });
    await manager.agentRuntime.hub.send('chatty', { type: 'message', id: 'm1', text: 'ping' });
    await replied;
    expect(outputs.map((output) => output.type)).to.include('ready');
    expect(outputs.find((output) => output.type === 'message')).to.include({
      id: 'm1',
      text: 'echo: ping',
    });
  });

  it('attaches before the container starts: the runner answers the hello of the attachment, unprompted by the caller', async () => {
    const ready = new Promise<RunnerOutput>((resolve, reject) => {
      const unsubscribe = manager.agentRuntime.hub.subscribe((agentId, output) => {
        if (agentId !== 'early' || output.type !== 'ready') return;
        unsubscribe();
        clearTimeout(timer);
        resolve(output);
      });
      // Fails with a message instead of the suite's long timeout when the hello was lost.
      const timer = setTimeout(() => {
        unsubscribe();
        reject(new Error('the runner never answered the hello written before its start'));
      }, 30_000);
    });
    await manager.create({}, 'early');
    expect(await ready).to.include({ type: 'ready', agentType: 'echo' });
  });

  it('makes a kept workspace without .git a git repository again, in the container, keeping its files', async () => {
    await manager.create({}, 'reborn');
    await rpc(manager.client, 'deleteAgent', { name: 'agents/reborn', keepWorkspace: true });
    const workspace = path.join(workspacesDir, 'reborn');
    await fs.rm(path.join(workspace, '.git'), { recursive: true });
    await fs.writeFile(path.join(workspace, 'notes.txt'), 'kept');
    const { agent } = await manager.create({}, 'reborn');
    expect(agent!.state).to.equal(AgentState.AGENT_STATE_RUNNING);
    expect(await fs.readFile(path.join(workspace, 'notes.txt'), 'utf8')).to.equal('kept');
    const head = await fs.stat(path.join(workspace, '.git', 'HEAD'));
    expect([head.uid, head.gid]).to.deep.equal([1000, 1000]);
  });

  it('refuses to send to an agent whose container is stopped, with FAILED_PRECONDITION', async () => {
    await manager.create({}, 'asleep');
    await rpc(manager.client, 'stopAgent', {
      name: 'agents/asleep',
      timeoutSeconds: 1,
    });
    const error = await manager.agentRuntime.hub
      .send('asleep', { type: 'hello', protocol: 1 })
      .catch((failure: Error) => failure);
    expect(error).to.have.property('name', 'FailedPreconditionError');
  });

  it('streams the container log and resource samples', async () => {
    await manager.create({}, 'observed');
    // The runner answered the hub's hello with a `ready` line on stdout: the log is not empty.
    const lines: managerV1.AgentLogLine[] = [];
    await new Promise<void>((resolve, reject) => {
      const stream = manager.client.streamAgentLogs({
        name: 'agents/observed',
        tailLines: 0,
        follow: true,
        sinceTime: undefined,
      });
      stream.on('data', (response: managerV1.StreamAgentLogsResponse) => {
        lines.push(...response.lines);
        if (lines.length > 0) {
          stream.cancel();
          resolve();
        }
      });
      stream.on('error', (error: ServiceError) =>
        error.code === status.CANCELLED ? resolve() : reject(error),
      );
    });
    expect(lines[0].text).to.be.a('string');
    expect(lines[0].time).to.be.a('string');

    const samples: managerV1.StreamAgentStatsResponse[] = [];
    await new Promise<void>((resolve, reject) => {
      const stream = manager.client.streamAgentStats({
        name: 'agents/observed',
        intervalSeconds: 1,
      });
      stream.on('data', (sample: managerV1.StreamAgentStatsResponse) => {
        samples.push(sample);
        if (samples.length === 2) {
          stream.cancel();
          resolve();
        }
      });
      stream.on('error', (error: ServiceError) =>
        error.code === status.CANCELLED ? resolve() : reject(error),
      );
    });
    expect(Number(samples[1].memoryBytes)).to.be.greaterThan(0);
    expect(Number(samples[1].memoryLimitBytes)).to.equal(2 * 1024 ** 3);
    expect(samples[1].cpuLimitMillis).to.equal(1000);
    expect(samples[1].pids).to.be.greaterThan(0);
  });

  it('lists agents oldest first in pages, with an opaque token, and refuses a forged token', async () => {
    const all = await rpc(manager.client, 'listAgents', {
      pageSize: 500,
      pageToken: '',
    });
    const seen: string[] = [];
    let pageToken = '';
    do {
      const page = await rpc(manager.client, 'listAgents', {
        pageSize: 2,
        pageToken,
      });
      expect(page.agents.length).to.be.at.most(2);
      seen.push(...page.agents.map((agent) => agent.name));
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(all.agents.length).to.be.greaterThan(3);
    expect(seen).to.deep.equal(all.agents.map((agent) => agent.name));
    const times = all.agents.map((agent) => agent.createTime!);
    expect(times).to.deep.equal([...times].sort());
    await expectCode(
      rpc(manager.client, 'listAgents', { pageSize: 2, pageToken: 'forged' }),
      status.INVALID_ARGUMENT,
      'page_token',
    );
  });

  it('re-adopts its containers after a manager restart without duplicating them, and removes containers without an agent', async () => {
    const { agent } = await manager.create({}, 'adopted');
    const stray = await docker.createContainer({
      Image: 'agenstra/agent:latest',
      name: `agenstra-stray-${TEST_RUN}`,
      Labels: {
        [AGENT_LABEL]: 'no-such-agent',
        [MANAGER_LABEL]: managerId,
        [TEST_LABEL]: TEST_RUN,
      },
    });
    await manager.stop();
    expect((await containersOf('adopted'))[0].State).to.equal('running');
    manager = await Manager.start(
      database,
      nats,
      managerId,
      workspacesDir,
      path.join(root, 'state'),
    );
    const containers = await containersOf('adopted');
    expect(containers.map((container) => container.Id)).to.deep.equal([agent!.containerId]);
    expect((await manager.get('adopted')).state).to.equal(AgentState.AGENT_STATE_RUNNING);
    expect(
      await docker
        .getContainer(stray.id)
        .inspect()
        .then(
          () => 'exists',
          () => 'removed',
        ),
    ).to.equal('removed');
    const replies = new Promise<RunnerOutput>((resolve) =>
      manager.agentRuntime.hub.subscribe(
        (agentId, output) => agentId === 'adopted' && output.type === 'message' && resolve(output),
      ),
    );
    await manager.agentRuntime.hub.send('adopted', {
      type: 'message',
      id: 'after-restart',
      text: 'still there?',
    });
    expect(await replies).to.include({ text: 'echo: still there?' });
  });

  it('deletes the container, the row and the workspace, or keeps the workspace when asked', async () => {
    await manager.create({}, 'doomed-kept');
    await manager.create({}, 'doomed-all');
    await rpc(manager.client, 'deleteAgent', {
      name: 'agents/doomed-kept',
      keepWorkspace: true,
    });
    await rpc(manager.client, 'deleteAgent', {
      name: 'agents/doomed-all',
      keepWorkspace: false,
    });
    for (const agentId of ['doomed-kept', 'doomed-all']) {
      expect(await containersOf(agentId)).to.have.length(0);
      expect(await rowOf(agentId)).to.equal(null);
    }
    const exists = (agentId: string) =>
      fs.stat(path.join(workspacesDir, agentId)).then(
        () => true,
        () => false,
      );
    expect(await exists('doomed-kept')).to.equal(true);
    expect(await exists('doomed-all')).to.equal(false);
    await expectCode(manager.get('doomed-all'), status.NOT_FOUND, 'agents/doomed-all');
  });
});
