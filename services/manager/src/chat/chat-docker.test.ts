import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { eventsV1, managerV1 } from '@agenstra/proto';
import {
  startService,
  stopService,
  throwawayDatabase,
  type RunningService,
} from '@agenstra/shared/testing';
import { credentials } from '@grpc/grpc-js';
import { expect } from 'chai';
import Docker from 'dockerode';
import { EVENT_STREAM } from '@agenstra/shared';
import { connect } from 'nats';
import { inboxConsumerName } from './chat-inbox.js';
import { unaryCall } from './testing/chat-fixture.js';
import { WatchCollector } from './testing/watch-collector.js';

const MAIN = path.join(__dirname, '../main.js');
const MANAGER_LABEL = 'agenstra.manager';

/** The whole chain: a manager process, a real agent container with the echo runner, Docker. */
describe('chat through a real manager and agent container', function () {
  this.timeout(180_000);
  const database = throwawayDatabase('agenstra_chat_docker');
  const managerId = `chat-docker-${randomUUID().slice(0, 8)}`;
  const docker = new Docker();
  let stateDir: string;
  let env: Record<string, string>;
  let manager: RunningService | undefined;

  const clients = (service: RunningService) => {
    const address = `127.0.0.1:${service.port}`;
    return {
      agents: new managerV1.AgentServiceClient(address, credentials.createInsecure()),
      chat: new managerV1.ChatServiceClient(address, credentials.createInsecure()),
    };
  };

  before(async () => {
    stateDir = await mkdtemp(path.join(os.tmpdir(), 'agenstra-chat-docker-'));
    env = {
      DATABASE_URL: database.url,
      MANAGER_GRPC_PORT: '0',
      GRPC_HOST: '127.0.0.1',
      MANAGER_ID: managerId,
      WORKSPACES_DIR: path.join(stateDir, 'workspaces'),
      MANAGER_STATE_DIR: stateDir,
    };
  });

  after(async () => {
    if (manager) await stopService(manager);
    const containers = await docker.listContainers({
      all: true,
      filters: { label: [`${MANAGER_LABEL}=${managerId}`] },
    });
    for (const container of containers) {
      await docker.getContainer(container.Id).remove({ force: true });
    }
    // The manager's durable inbox consumer outlives it by design; a test manager's must go.
    const nats = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' });
    const jsm = await nats.jetstreamManager();
    await jsm.consumers.delete(EVENT_STREAM, inboxConsumerName(managerId)).catch(() => false);
    await nats.close();
    await database.drop();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('loses and duplicates nothing when the manager is SIGKILLed mid-turn and started again', async () => {
    manager = await startService(MAIN, env);
    let { agents, chat } = clients(manager);
    const created = await unaryCall<managerV1.CreateAgentResponse>((done) =>
      agents.createAgent(
        {
          agentId: `chat-${randomUUID().slice(0, 8)}`,
          agent: managerV1.Agent.fromPartial({
            displayName: 'chat e2e',
            type: managerV1.AgentType.AGENT_TYPE_ECHO,
          }),
        },
        done,
      ),
    );
    const agent = created.agent?.name ?? '';
    const { sessionToken } = await unaryCall<managerV1.LoginResponse>((done) =>
      chat.login({ agent, password: created.password }, done),
    );
    const send = (text: string) =>
      unaryCall<managerV1.SendMessageResponse>((done) =>
        chat.sendMessage(
          {
            agent,
            sessionToken,
            clientMessageId: randomUUID(),
            text,
            authorSubject: '',
            authorDisplayName: '',
          },
          done,
        ),
      );
    const watchFrom = (afterSequence: number) =>
      new WatchCollector(
        chat.watchAgent({
          agent,
          sessionToken,
          afterSequence: String(afterSequence),
          includeDeltas: false,
        }),
      );
    const replies = (w: WatchCollector) =>
      w.chat.filter(
        (event) => event.kind === eventsV1.ChatEventKind.CHAT_EVENT_KIND_ASSISTANT_MESSAGE,
      );

    const first = watchFrom(0);
    await send('/parts 2 hello');
    await first.until((w) => replies(w).length === 1, 'the first reply');
    const sleeping = await send('/sleep 3000');
    expect(sleeping.message?.sequence).to.equal('3');

    manager.child.kill('SIGKILL');
    await manager.exited;
    agents.close();
    chat.close();
    manager = await startService(MAIN, env);
    ({ agents, chat } = clients(manager));

    const resumed = watchFrom(2);
    await resumed.until((w) => replies(w).length === 1, 'the reply to /sleep');
    await send('after the restart');
    await resumed.until((w) => w.sequences.includes(6), 'the last reply');
    resumed.cancel();
    expect(resumed.sequences).to.deep.equal([3, 4, 5, 6]);
    expect(resumed.chat.map((event) => event.text)).to.deep.equal([
      '/sleep 3000',
      'slept 3000 ms',
      'after the restart',
      'echo: after the restart',
    ]);
    const history = await unaryCall<managerV1.ListMessagesResponse>((done) =>
      chat.listMessages(
        { agent, sessionToken, afterSequence: '0', pageSize: 0, pageToken: '' },
        done,
      ),
    );
    expect(history.messages.map((message) => message.sequence)).to.deep.equal([
      '1',
      '2',
      '3',
      '4',
      '5',
      '6',
    ]);
    agents.close();
    chat.close();
  });
});
