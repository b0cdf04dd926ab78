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

describe('FileService in a started manager with a real agent container', function () {
  this.timeout(120_000);
  const database = throwawayDatabase('agenstra_files_test');
  const managerId = `files-e2e-${randomBytes(4).toString('hex')}`;
  let workspaces: string;
  let manager: RunningService;
  let nats: NatsConnection;
  let agents: managerV1.AgentServiceClient;
  let files: managerV1.FileServiceClient;
  const events: eventsV1.FileEvent[] = [];

  before(async function () {
    if (
      spawnSync('docker', ['image', 'inspect', 'agenstra/agent:latest'], { stdio: 'ignore' })
        .status !== 0
    ) {
      this.skip();
    }
    workspaces = await fs.mkdtemp(path.join(os.tmpdir(), 'agenstra-files-e2e-'));
    manager = await startService(MAIN, {
      DATABASE_URL: database.url,
      MANAGER_GRPC_PORT: '0',
      GRPC_HOST: '127.0.0.1',
      WORKSPACES_DIR: workspaces,
      MANAGER_STATE_DIR: workspaces,
      MANAGER_ID: managerId,
    });
    nats = await connectNats({
      url: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
      name: 'agenstra-files-e2e',
      logger: createLogger({ service: 'files-e2e', level: 'silent' }),
    });
    nats.subscribe(`agenstra.v1.managers.${managerId}.agents.*.files`, {
      callback: (_error, message) => {
        const event = eventsV1.Event.decode(message.data);
        if (event.payload?.$case === 'file') events.push(event.payload.value);
      },
    });
    await nats.flush();
    const address = `127.0.0.1:${manager.port}`;
    agents = new managerV1.AgentServiceClient(address, credentials.createInsecure());
    files = new managerV1.FileServiceClient(address, credentials.createInsecure());
  });

  after(async () => {
    agents?.close();
    files?.close();
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

  async function waitFor(
    match: (event: eventsV1.FileEvent) => boolean,
  ): Promise<eventsV1.FileEvent> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const found = events.find(match);
      if (found) return found;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`no matching file event; got ${JSON.stringify(events)}`);
  }

  it('serves the workspace of a created agent and publishes the agent’s own writes', async () => {
    const { agent } = await unary<managerV1.CreateAgentResponse>(agents, 'createAgent', {
      agentId: 'filer',
      agent: managerV1.Agent.fromPartial({
        displayName: 'files e2e',
        type: managerV1.AgentType.AGENT_TYPE_ECHO,
      }),
    });
    expect(agent).to.not.equal(undefined);
    const name = agent!.name;

    await unary(
      files,
      'writeFile',
      managerV1.WriteFileRequest.fromPartial({
        agent: name,
        path: 'docs/readme.md',
        content: Buffer.from('# hi'),
        createParents: true,
      }),
    );
    const byUser = await waitFor((e) => e.path === 'docs/readme.md');
    expect(byUser).to.include({
      actor: eventsV1.FileActor.FILE_ACTOR_USER,
      kind: eventsV1.FileEventKind.FILE_EVENT_KIND_CREATED,
    });

    const { stdout } = await run('docker', [
      'ps',
      '-q',
      '--filter',
      `label=agenstra.agent=filer`,
      '--filter',
      `label=agenstra.manager=${managerId}`,
    ]);
    const container = stdout.trim();
    expect(container, 'the agent container').to.not.equal('');
    // The agent sees the user's file and writes its own.
    await run('docker', [
      'exec',
      '-u',
      '1000:1000',
      container,
      'sh',
      '-c',
      'cat /workspace/docs/readme.md > /workspace/docs/copy.md',
    ]);
    const byAgent = await waitFor((e) => e.path === 'docs/copy.md');
    expect(byAgent).to.include({ actor: eventsV1.FileActor.FILE_ACTOR_AGENT, sizeBytes: '4' });

    const { file } = await unary<managerV1.StatFileResponse>(files, 'statFile', {
      agent: name,
      path: 'docs/copy.md',
    });
    expect(file).to.include({ sizeBytes: '4', type: managerV1.FileType.FILE_TYPE_FILE });
    expect(events.filter((e) => e.path === 'docs/readme.md')).to.have.length(1);

    await unary(agents, 'deleteAgent', { name, keepWorkspace: false });
    const missing = await unary(files, 'statFile', { agent: name, path: '' }).catch(
      (error: ServiceError) => error,
    );
    expect((missing as ServiceError).code).to.equal(status.NOT_FOUND);
  });
});
