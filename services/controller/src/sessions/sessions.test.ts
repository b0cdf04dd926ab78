import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { credentials, Metadata, status, type ClientReadableStream } from '@grpc/grpc-js';
import { controllerV1, eventsV1, managerV1 } from '@agenstra/proto';
import path from 'node:path';
import {
  createLogger,
  formatSecretKeys,
  openDatabase,
  SecretBox,
  type Database,
} from '@agenstra/shared';
import {
  startService,
  stopService,
  throwawayDatabase,
  type RunningService,
} from '@agenstra/shared/testing';
import { expect } from 'chai';
import {
  CONTROLLER_SCHEMA,
  controllerEntities,
  controllerMigrations,
} from '../migrations/index.js';
import {
  failureOf,
  startControllerStack,
  type ControllerStack,
} from '../testing/controller-stack.js';
import { agentPasswordSecret, Vault } from '../vault/vault.js';
import { chatTokenSecret } from './sessions.js';

const USER = eventsV1.ChatEventKind.CHAT_EVENT_KIND_USER_MESSAGE;
const ASSISTANT = eventsV1.ChatEventKind.CHAT_EVENT_KIND_ASSISTANT_MESSAGE;
const CONTROLLER_MAIN = path.resolve(__dirname, '..', 'main.js');
const MANAGER_MAIN = path.resolve(__dirname, '..', '..', '..', 'manager', 'dist', 'main.js');

/** Everything one OpenSession stream delivered, with waiting for what is still to come. */
class SessionWatch {
  readonly events: controllerV1.SessionEvent[] = [];
  ended: { code?: number } | undefined;
  private wakers: Array<() => void> = [];

  constructor(readonly call: ClientReadableStream<controllerV1.OpenSessionResponse>) {
    call.on('data', (response: controllerV1.OpenSessionResponse) => {
      if (response.event) this.events.push(response.event);
      this.wake();
    });
    call.on('error', (error: { code?: number }) => {
      this.ended = { code: error.code };
      this.wake();
    });
    call.on('end', () => {
      this.ended ??= {};
      this.wake();
    });
  }

  private wake() {
    for (const waker of this.wakers.splice(0)) waker();
  }

  async until<T>(find: (events: controllerV1.SessionEvent[]) => T | undefined, what: string) {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const found = find(this.events);
      if (found !== undefined && found !== false) return found;
      if (this.ended) throw new Error(`stream ended (${this.ended.code}) before ${what}`);
      if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
      await new Promise<void>((resolve) => {
        this.wakers.push(resolve);
        setTimeout(resolve, 1000);
      });
    }
  }

  get opened() {
    const kind = this.events[0]?.kind;
    return kind?.$case === 'opened' ? kind.value : undefined;
  }

  /** Persisted chat events (not deltas) in the order the stream sent them. */
  chat(agent: string) {
    return this.events.flatMap((event) =>
      event.agent === agent && event.kind?.$case === 'chat' && event.kind.value.sequence !== '0'
        ? [event.kind.value]
        : [],
    );
  }

  kinds(agent: string) {
    return this.events.filter((event) => event.agent === agent).map((event) => event.kind?.$case);
  }

  close() {
    this.call.cancel();
  }
}

describe('controller sessions', function () {
  this.timeout(180_000);
  let stack: ControllerStack;
  let database: Database;
  let sessions: controllerV1.SessionServiceClient;
  let managerAgents: managerV1.AgentServiceClient;
  let alice: string;
  let bob: string;
  const agentIds: string[] = [];
  const watches: SessionWatch[] = [];

  before(async () => {
    stack = await startControllerStack();
    [alice, bob] = await Promise.all(['alice', 'bob'].map((who) => stack.tokenOf(who)));
    sessions = new controllerV1.SessionServiceClient(
      `127.0.0.1:${stack.controller.port}`,
      credentials.createInsecure(),
    );
    managerAgents = new managerV1.AgentServiceClient(
      stack.managerEndpoint,
      credentials.createInsecure(),
    );
    database = await openDatabase({
      url: stack.databaseUrl,
      schema: CONTROLLER_SCHEMA,
      entities: controllerEntities,
      migrations: controllerMigrations,
      logger: createLogger({ service: 'test', level: 'silent' }),
    });
    await stack.call(
      stack.clients,
      stack.clients.createClient,
      {
        clientId: 'sessions',
        client: controllerV1.Client.fromPartial({
          displayName: 'Sessions',
          endpoint: stack.managerEndpoint,
          auth: { $case: 'apiKey', value: { apiKey: '', apiKeyHint: '' } },
        }),
      },
      alice,
    );
  });

  after(async () => {
    for (const watch of watches) watch.close();
    for (const agentId of agentIds) {
      await new Promise((resolve) =>
        managerAgents.deleteAgent({ name: `agents/${agentId}`, keepWorkspace: false }, resolve),
      );
    }
    managerAgents?.close();
    sessions?.close();
    await database?.close();
    await stack?.stop();
  });

  /** An echo agent created on the manager, its password put in the vault as CreateAgent does. */
  async function echoAgent(on = managerAgents, clientId = 'sessions'): Promise<string> {
    const agentId = `session-${randomUUID().slice(0, 8)}`;
    if (on === managerAgents) agentIds.push(agentId);
    const created = await new Promise<managerV1.CreateAgentResponse>((resolve, reject) =>
      on.createAgent(
        {
          agentId,
          agent: managerV1.Agent.fromPartial({
            displayName: 'session test',
            type: managerV1.AgentType.AGENT_TYPE_ECHO,
          }),
        },
        (error, response) => (error ? reject(error) : resolve(response)),
      ),
    );
    const em = database.fork();
    await vault().put(em, clientId, agentPasswordSecret(agentId), created.password);
    await em.flush();
    return `clients/${clientId}/agents/${agentId}`;
  }

  const vault = () => new Vault(new SecretBox([stack.secretKey]));
  const agentIdOf = (agent: string) => agent.split('/').pop()!;
  const listAgents = async (session: string) =>
    (await stack.call(sessions, sessions.listSessionAgents, { session }, alice)).agents;
  const loggedOut = (watch: SessionWatch, agent: string) =>
    watch.until(
      (events) =>
        events.find((event) => event.agent === agent && event.kind?.$case === 'loggedOut')?.kind,
      `logged_out of ${agent}`,
    );

  function open(
    token: string,
    request: Partial<controllerV1.OpenSessionRequest> = {},
    via = sessions,
  ) {
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${token}`);
    const watch = new SessionWatch(
      via.openSession(
        controllerV1.OpenSessionRequest.fromPartial({ client: 'clients/sessions', ...request }),
        metadata,
      ),
    );
    watches.push(watch);
    return watch;
  }

  const login = (session: string, agent: string, afterSequence = '0', token = alice) =>
    stack.call(sessions, sessions.login, { session, agent, password: '', afterSequence }, token);
  const send = (session: string, agent: string, text: string, token = alice) =>
    stack.call(
      sessions,
      sessions.sendChat,
      { session, agent, clientMessageId: randomUUID(), text },
      token,
    );
  const replyTo = (watch: SessionWatch, agent: string, text: string) =>
    watch.until(
      () =>
        watch.chat(agent).find((chat) => chat.kind === ASSISTANT && chat.text === `echo: ${text}`),
      `the reply to ${text}`,
    );
  const sessionOf = async (watch: SessionWatch) =>
    (await watch.until(() => watch.opened, 'opened')).session;
  const loggedIn = (watch: SessionWatch, agent: string) =>
    watch.until(
      (events) =>
        events.find((event) => event.agent === agent && event.kind?.$case === 'historyReplayed'),
      'history_replayed',
    );

  it('opens a session, logs in with the vault password, delivers the history, then the sent message and its reply', async () => {
    const agent = await echoAgent();
    const first = open(alice);
    const firstSession = await sessionOf(first);
    expect(first.opened).to.include({ resumed: false, heartbeatIntervalSeconds: 15 });
    expect(first.opened?.resumeToken).to.have.length.greaterThan(40);
    await login(firstSession, agent);
    await loggedIn(first, agent);
    const sent = await send(firstSession, agent, 'hello');
    await replyTo(first, agent, 'hello');
    const user = first.chat(agent).find((chat) => chat.kind === USER);
    expect(user).to.include({ sequence: sent.sequence, text: 'hello' });
    expect(user?.author?.subject).to.equal('alice');
    expect(first.kinds(agent).slice(0, 2)).to.deep.equal(['loginSucceeded', 'historyReplayed']);

    // A second tab sees the conversation so far as history, in order.
    const second = open(alice);
    await login(await sessionOf(second), agent);
    const replayed = await loggedIn(second, agent);
    const history = second.chat(agent);
    expect(history.map((chat) => chat.sequence)).to.deep.equal(
      first.chat(agent).map((chat) => chat.sequence),
    );
    expect(replayed.kind).to.deep.equal({
      $case: 'historyReplayed',
      value: { lastSequence: history[history.length - 1].sequence, replayedCount: history.length },
    });
    first.close();
    second.close();
  });

  it('delivers an agent’s chat to every session logged in to it', async () => {
    const agent = await echoAgent();
    const tabs = [open(alice), open(alice)];
    const names = await Promise.all(tabs.map(sessionOf));
    for (const [index, tab] of tabs.entries()) {
      await login(names[index], agent);
      await loggedIn(tab, agent);
    }
    await send(names[0], agent, 'to both');
    for (const tab of tabs) await replyTo(tab, agent, 'to both');
    const sequences = tabs.map((tab) => tab.chat(agent).map((chat) => chat.sequence));
    expect(sequences[0]).to.deep.equal(sequences[1]);
    expect(new Set(sequences[0]).size).to.equal(sequences[0].length);
    for (const tab of tabs) tab.close();
  });

  it('resumes a session dropped mid-conversation with exactly the chat events it missed', async () => {
    const agent = await echoAgent();
    const tab = open(alice);
    const session = await sessionOf(tab);
    const resumeToken = tab.opened!.resumeToken;
    await login(session, agent);
    await loggedIn(tab, agent);
    await send(session, agent, 'before the drop');
    await replyTo(tab, agent, 'before the drop');
    const seen = tab.chat(agent);
    const lastSeen = seen[seen.length - 1].sequence;
    tab.close();
    await tab.until(() => tab.ended, 'the stream to end');

    // Another tab of the same person keeps the conversation going meanwhile.
    const other = open(alice);
    const otherSession = await sessionOf(other);
    await login(otherSession, agent);
    await loggedIn(other, agent);
    for (const text of ['missed one', 'missed two']) {
      await send(otherSession, agent, text);
      await replyTo(other, agent, text);
    }

    const resumed = open(alice, {
      resumeToken,
      cursors: [{ agent, lastSequence: lastSeen }],
    });
    expect(await sessionOf(resumed)).to.equal(session);
    expect(resumed.opened).to.include({ resumed: true });
    expect(resumed.opened?.restoringAgents).to.deep.equal([agent]);
    await loggedIn(resumed, agent);
    await send(session, agent, 'after the resume');
    await replyTo(resumed, agent, 'after the resume');

    const missed = other.chat(agent).filter((chat) => BigInt(chat.sequence) > BigInt(lastSeen));
    const delivered = resumed.chat(agent);
    expect(delivered.map((chat) => chat.sequence)).to.deep.equal([
      ...missed.map((chat) => chat.sequence),
      ...delivered.slice(missed.length).map((c) => c.sequence),
    ]);
    expect(delivered.slice(0, missed.length).map((chat) => chat.text)).to.deep.equal(
      missed.map((chat) => chat.text),
    );
    const all = [...seen, ...delivered].map((chat) => BigInt(chat.sequence));
    // No duplicates and no gaps across the drop.
    expect(all).to.deep.equal(all.map((_, index) => all[0] + BigInt(index)));
    expect(delivered.map((chat) => chat.text)).to.include.members([
      'missed one',
      'echo: missed two',
      'after the resume',
    ]);
    resumed.close();
    other.close();
  });

  it('ends the older stream with ABORTED when the session is opened again', async () => {
    const tab = open(alice);
    await sessionOf(tab);
    const again = open(alice, { resumeToken: tab.opened!.resumeToken });
    expect((await again.until(() => again.opened, 'opened')).resumed).to.equal(true);
    await tab.until(() => tab.ended, 'the older stream to end');
    expect(tab.ended?.code).to.equal(status.ABORTED);
    again.close();
  });

  it("hides another user's client and sessions: NOT_FOUND", async () => {
    const bobs = open(bob);
    await bobs.until(() => bobs.ended, 'the refusal');
    expect(bobs.ended?.code).to.equal(status.NOT_FOUND);

    const tab = open(alice);
    const session = await sessionOf(tab);
    const agent = `clients/sessions/agents/anything`;
    for (const call of [login(session, agent, '0', bob), send(session, agent, 'not mine', bob)]) {
      expect(await failureOf(call)).to.deep.equal({
        code: status.NOT_FOUND,
        details: `session ${session} not found`,
      });
    }
    tab.close();
  });

  it('refuses chat to an agent the session is not logged in to with FAILED_PRECONDITION', async () => {
    const tab = open(alice);
    const session = await sessionOf(tab);
    const failure = await failureOf(send(session, 'clients/sessions/agents/nobody', 'hi'));
    expect(failure.code).to.equal(status.FAILED_PRECONDITION);
    tab.close();
  });

  it('fans one agent out to sessions on two controller processes, and takes a Login on either', async () => {
    const second = await startService(CONTROLLER_MAIN, {
      DATABASE_URL: stack.databaseUrl,
      CONTROLLER_GRPC_PORT: '0',
      GRPC_HOST: '127.0.0.1',
      OIDC_ISSUER: stack.issuer.issuer,
      OIDC_AUDIENCE: 'urn:agenstra:controller',
      CONTROLLER_SECRET_KEYS: formatSecretKeys([stack.secretKey]),
      CONTROLLER_ALLOW_PLAINTEXT_MANAGERS: 'true',
    });
    const secondSessions = new controllerV1.SessionServiceClient(
      `127.0.0.1:${second.port}`,
      credentials.createInsecure(),
    );
    try {
      const agent = await echoAgent();
      const onFirst = open(alice);
      const onSecond = open(alice, {}, secondSessions);
      const [firstSession, secondSession] = await Promise.all([onFirst, onSecond].map(sessionOf));
      // Each Login goes to the other process than the one holding the stream.
      await login(secondSession, agent);
      await stack.call(
        secondSessions,
        secondSessions.login,
        { session: firstSession, agent, password: '', afterSequence: '0' },
        alice,
      );
      await loggedIn(onFirst, agent);
      await loggedIn(onSecond, agent);
      await send(secondSession, agent, 'across processes');
      for (const tab of [onFirst, onSecond]) await replyTo(tab, agent, 'across processes');
      expect(onFirst.chat(agent).map((chat) => chat.sequence)).to.deep.equal(
        onSecond.chat(agent).map((chat) => chat.sequence),
      );
      onFirst.close();
      onSecond.close();
    } finally {
      secondSessions.close();
      await stopService(second);
    }
  });
  it('sends heartbeats on an otherwise silent stream at CONTROLLER_SESSION_HEARTBEAT_INTERVAL', async () => {
    const quick = await startService(CONTROLLER_MAIN, {
      DATABASE_URL: stack.databaseUrl,
      CONTROLLER_GRPC_PORT: '0',
      GRPC_HOST: '127.0.0.1',
      OIDC_ISSUER: stack.issuer.issuer,
      OIDC_AUDIENCE: 'urn:agenstra:controller',
      CONTROLLER_SECRET_KEYS: formatSecretKeys([stack.secretKey]),
      CONTROLLER_ALLOW_PLAINTEXT_MANAGERS: 'true',
      CONTROLLER_SESSION_HEARTBEAT_INTERVAL: '1s',
    });
    const quickSessions = new controllerV1.SessionServiceClient(
      `127.0.0.1:${quick.port}`,
      credentials.createInsecure(),
    );
    try {
      const tab = open(alice, {}, quickSessions);
      const session = await sessionOf(tab);
      expect(tab.opened?.heartbeatIntervalSeconds).to.equal(1);
      await tab.until(
        (events) => events.filter((event) => event.kind?.$case === 'heartbeat').length >= 3,
        'three heartbeats',
      );
      for (const event of tab.events.slice(1)) {
        expect(event).to.deep.include({
          session,
          agent: '',
          kind: { $case: 'heartbeat', value: {} },
        });
      }
      tab.close();
    } finally {
      quickSessions.close();
      await stopService(quick);
    }
  });

  it('logs out on Logout: logged_out REQUESTED on the stream, gone from ListSessionAgents, and the manager chat session ended', async () => {
    const agent = await echoAgent();
    const tab = open(alice);
    const session = await sessionOf(tab);
    await login(session, agent);
    await loggedIn(tab, agent);
    const sessionId = session.split('/')[1];
    const chatToken = await vault().reveal(
      database.fork(),
      'sessions',
      chatTokenSecret(sessionId, agentIdOf(agent)),
    );
    expect(chatToken).to.be.a('string').with.length.greaterThan(20);

    await stack.call(sessions, sessions.logout, { session, agent }, alice);
    expect(await loggedOut(tab, agent)).to.deep.equal({
      $case: 'loggedOut',
      value: { reason: controllerV1.LogoutReason.LOGOUT_REASON_REQUESTED },
    });
    expect(await listAgents(session)).to.deep.equal([]);
    expect(
      await vault().reveal(
        database.fork(),
        'sessions',
        chatTokenSecret(sessionId, agentIdOf(agent)),
      ),
    ).to.equal(undefined);
    const chats = new managerV1.ChatServiceClient(
      stack.managerEndpoint,
      credentials.createInsecure(),
    );
    try {
      const failure = await failureOf(
        stack.call(chats, chats.listMessages, {
          agent: `agents/${agentIdOf(agent)}`,
          sessionToken: chatToken!,
          afterSequence: '0',
          pageSize: 10,
          pageToken: '',
        }),
      );
      expect(failure.code).to.equal(status.UNAUTHENTICATED);
    } finally {
      chats.close();
    }
    const refused = await failureOf(send(session, agent, 'after logout'));
    expect(refused.code).to.equal(status.FAILED_PRECONDITION);
    tab.close();
  });

  it('reports login_failed UNAUTHENTICATED, without the password, when the vault holds a wrong one', async () => {
    const agent = await echoAgent();
    const wrong = `wrong-${randomUUID()}`;
    const em = database.fork();
    await vault().put(em, 'sessions', agentPasswordSecret(agentIdOf(agent)), wrong);
    await em.flush();
    const tab = open(alice);
    const session = await sessionOf(tab);
    await login(session, agent);
    const failed = await tab.until(
      (events) =>
        events.find((event) => event.agent === agent && event.kind?.$case === 'loginFailed')?.kind,
      'login_failed',
    );
    expect(failed.$case).to.equal('loginFailed');
    const value = (failed as { value: controllerV1.LoginFailed }).value;
    expect(value.code).to.equal(status.UNAUTHENTICATED);
    expect(value.message).to.contain(agent).and.not.contain(wrong);
    expect(tab.kinds(agent)).to.deep.equal(['loginFailed']);
    expect(await listAgents(session)).to.deep.equal([]);
    tab.close();
  });

  it('lists the logged-in agents with their login time and the last chat sequence sent on the stream', async () => {
    const [chatty, quiet] = await Promise.all([echoAgent(), echoAgent()]);
    const tab = open(alice);
    const session = await sessionOf(tab);
    const before = Date.now();
    for (const agent of [chatty, quiet]) {
      await login(session, agent);
      await loggedIn(tab, agent);
    }
    await send(session, chatty, 'count me');
    await replyTo(tab, chatty, 'count me');
    const sent = tab.chat(chatty);
    const listed = await listAgents(session);
    expect(listed.map((entry) => entry.agent)).to.deep.equal([chatty, quiet].sort());
    const byName = new Map(listed.map((entry) => [entry.agent, entry]));
    expect(byName.get(chatty)?.lastSequence).to.equal(sent[sent.length - 1].sequence);
    expect(byName.get(quiet)?.lastSequence).to.equal('0');
    for (const entry of listed) {
      expect(Date.parse(entry.loginTime!)).to.be.at.least(before - 1000);
    }
    tab.close();
  });

  it('logs every session out of a deleted agent with AGENT_DELETED, live and on resume, instead of retrying', async () => {
    const agent = await echoAgent();
    const live = open(alice);
    const dropped = open(alice);
    const [liveSession, droppedSession] = await Promise.all([live, dropped].map(sessionOf));
    for (const [tab, session] of [
      [live, liveSession],
      [dropped, droppedSession],
    ] as const) {
      await login(session, agent);
      await loggedIn(tab, agent);
    }
    const resumeToken = dropped.opened!.resumeToken;
    dropped.close();
    await dropped.until(() => dropped.ended, 'the dropped stream to end');

    await stack.call(managerAgents, managerAgents.deleteAgent, {
      name: `agents/${agentIdOf(agent)}`,
      keepWorkspace: false,
    });
    const deleted = {
      $case: 'loggedOut',
      value: { reason: controllerV1.LogoutReason.LOGOUT_REASON_AGENT_DELETED },
    };
    expect(await loggedOut(live, agent)).to.deep.equal(deleted);
    expect(await listAgents(liveSession)).to.deep.equal([]);

    const resumed = open(alice, { resumeToken });
    expect((await resumed.until(() => resumed.opened, 'opened')).restoringAgents).to.deep.equal([
      agent,
    ]);
    expect(await loggedOut(resumed, agent)).to.deep.equal(deleted);
    expect(await listAgents(droppedSession)).to.deep.equal([]);
    live.close();
    resumed.close();
  });

  describe('with a manager that stops mid-session and comes back', () => {
    const managerDatabase = throwawayDatabase('agenstra_sessions_test_manager');
    // The same id on every start, so the manager takes its containers back.
    const managerId = `sessions-test-manager-${randomUUID().slice(0, 8)}`;
    const workspaces = fs.mkdtempSync(path.join(os.tmpdir(), 'agenstra-sessions-test-'));
    let port: number;
    let manager: RunningService | undefined;
    let agents: managerV1.AgentServiceClient;
    let agent = '';
    const startManager = async () => {
      manager = await startService(MANAGER_MAIN, {
        DATABASE_URL: managerDatabase.url,
        MANAGER_GRPC_PORT: String(port),
        GRPC_HOST: '127.0.0.1',
        MANAGER_ID: managerId,
        WORKSPACES_DIR: workspaces,
        SHUTDOWN_GRACE_MS: '2s',
      });
    };

    before(async () => {
      port = await freePort();
      await startManager();
      agents = new managerV1.AgentServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
      await stack.call(
        stack.clients,
        stack.clients.createClient,
        {
          clientId: 'restarting',
          client: controllerV1.Client.fromPartial({
            displayName: 'Restarting',
            endpoint: `127.0.0.1:${port}`,
            auth: { $case: 'apiKey', value: { apiKey: '', apiKeyHint: '' } },
          }),
        },
        alice,
      );
      agent = await echoAgent(agents, 'restarting');
    });

    after(async () => {
      if (agent && manager) {
        await new Promise((resolve) =>
          agents.deleteAgent({ name: `agents/${agentIdOf(agent)}`, keepWorkspace: false }, resolve),
        );
      }
      agents?.close();
      if (manager) await stopService(manager);
      if (agent) removeContainers(agentIdOf(agent));
      await managerDatabase.drop();
      fs.rmSync(workspaces, { recursive: true, force: true });
    });

    it('sends an error naming the client while the manager is down, then the chat without gaps or duplicates once it is back', async () => {
      const tab = open(alice, { client: 'clients/restarting' });
      const session = await sessionOf(tab);
      await login(session, agent);
      await loggedIn(tab, agent);
      await send(session, agent, 'before the stop');
      await replyTo(tab, agent, 'before the stop');

      await stopService(manager!);
      manager = undefined;
      const trouble = await tab.until(
        (events) =>
          events.find((event) => event.agent === agent && event.kind?.$case === 'error')?.kind,
        'an error event',
      );
      const error = (trouble as { value: controllerV1.SessionError }).value;
      expect(error.code).to.equal(status.UNAVAILABLE);
      expect(error.message).to.contain('clients/restarting');
      expect(tab.ended).to.equal(undefined);

      await startManager();
      // The manager takes its running containers back on start; chat waits for that.
      await untilRunning(agents, agentIdOf(agent));
      let sent = false;
      for (let attempt = 0; attempt < 150 && !sent; attempt++) {
        sent = await send(session, agent, 'after the return').then(
          () => true,
          () => sleep(400).then(() => false),
        );
      }
      expect(sent, 'SendChat answered once the manager was back').to.equal(true);
      await replyTo(tab, agent, 'after the return');
      const sequences = tab.chat(agent).map((chat) => BigInt(chat.sequence));
      expect(sequences).to.deep.equal(sequences.map((_, index) => sequences[0] + BigInt(index)));
      const conversation = tab.chat(agent).filter((chat) => [USER, ASSISTANT].includes(chat.kind));
      expect(conversation.map((chat) => chat.text)).to.deep.equal([
        'before the stop',
        'echo: before the stop',
        'after the return',
        'echo: after the return',
      ]);
      tab.close();
    });
  });
});

function removeContainers(agentId: string): void {
  const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=agenstra.agent=${agentId}`])
    .toString()
    .split('\n')
    .filter(Boolean);
  if (ids.length) execFileSync('docker', ['rm', '-f', ...ids]);
}

async function untilRunning(agents: managerV1.AgentServiceClient, agentId: string): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt++) {
    const state = await new Promise<managerV1.GetAgentResponse | undefined>((resolve) =>
      agents.getAgent({ name: `agents/${agentId}` }, (error, response) =>
        resolve(error ? undefined : response),
      ),
    );
    if (state?.agent?.state === eventsV1.AgentState.AGENT_STATE_RUNNING) return;
    await sleep(200);
  }
  throw new Error(`agent ${agentId} did not run again`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
