import { randomUUID } from 'node:crypto';
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
import { startService, stopService } from '@agenstra/shared/testing';
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

const USER = eventsV1.ChatEventKind.CHAT_EVENT_KIND_USER_MESSAGE;
const ASSISTANT = eventsV1.ChatEventKind.CHAT_EVENT_KIND_ASSISTANT_MESSAGE;

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
  async function echoAgent(): Promise<string> {
    const agentId = `session-${randomUUID().slice(0, 8)}`;
    agentIds.push(agentId);
    const created = await new Promise<managerV1.CreateAgentResponse>((resolve, reject) =>
      managerAgents.createAgent(
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
    await new Vault(new SecretBox([stack.secretKey])).put(
      em,
      'sessions',
      agentPasswordSecret(agentId),
      created.password,
    );
    await em.flush();
    return `clients/sessions/agents/${agentId}`;
  }

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
    const second = await startService(path.resolve(__dirname, '..', 'main.js'), {
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
});
