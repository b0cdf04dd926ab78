import { randomUUID } from 'node:crypto';
import { eventsV1, managerV1 } from '@agenstra/proto';
import { status, type ServiceError } from '@grpc/grpc-js';
import { expect } from 'chai';
import { agentSubject } from '../events/subjects.js';
import { unaryCall, ChatFixture, type ChatInstance } from './testing/chat-fixture.js';
import { WatchCollector } from './testing/watch-collector.js';

const { ChatEventKind } = eventsV1;

describe('ChatService (real PostgreSQL, NATS and echo runner processes)', () => {
  const fixture = new ChatFixture();
  let manager: ChatInstance;

  before(async () => {
    await fixture.open();
    manager = await fixture.startInstance();
  });
  after(() => fixture.close());

  const login = async (agentId: string, password: string, instance = manager) =>
    unaryCall<managerV1.LoginResponse>((done) =>
      instance.client.login({ agent: `agents/${agentId}`, password }, done),
    );

  /** An agent with a running echo runner and a logged-in session. */
  const chattingAgent = async (instance = manager) => {
    const { agentId, password } = await fixture.addAgent();
    const runner = fixture.startRunner();
    instance.hub.attach(agentId, runner);
    const { sessionToken } = await login(agentId, password, instance);
    return { agentId, password, runner, sessionToken };
  };

  const send = (
    agentId: string,
    sessionToken: string,
    text: string,
    clientMessageId: string = randomUUID(),
    instance = manager,
  ) =>
    unaryCall<managerV1.SendMessageResponse>((done) =>
      instance.client.sendMessage(
        {
          agent: `agents/${agentId}`,
          sessionToken,
          clientMessageId,
          text,
          authorSubject: 'user-1',
          authorDisplayName: 'Ada',
        },
        done,
      ),
    );

  const watch = (
    agentId: string,
    sessionToken: string,
    afterSequence = 0,
    includeDeltas = false,
    instance = manager,
  ) =>
    new WatchCollector(
      instance.client.watchAgent({
        agent: `agents/${agentId}`,
        sessionToken,
        afterSequence: String(afterSequence),
        includeDeltas,
      }),
    );

  const list = (
    agentId: string,
    sessionToken: string,
    extra: Partial<managerV1.ListMessagesRequest> = {},
  ) =>
    unaryCall<managerV1.ListMessagesResponse>((done) =>
      manager.client.listMessages(
        {
          agent: `agents/${agentId}`,
          sessionToken,
          afterSequence: '0',
          pageSize: 0,
          pageToken: '',
          ...extra,
        },
        done,
      ),
    );

  const logout = (agentId: string, sessionToken: string) =>
    unaryCall<managerV1.LogoutResponse>((done) =>
      manager.client.logout({ agent: `agents/${agentId}`, sessionToken }, done),
    );

  const assistantReplies = (collector: WatchCollector) =>
    collector.chat.filter((chat) => chat.kind === ChatEventKind.CHAT_EVENT_KIND_ASSISTANT_MESSAGE);

  const failure = async (promise: Promise<unknown>): Promise<ServiceError> => {
    try {
      await promise;
    } catch (error) {
      return error as ServiceError;
    }
    throw new Error('expected the call to fail');
  };

  describe('Login', () => {
    it('answers UNAUTHENTICATED with the same message for a wrong password and an unknown agent', async () => {
      const { agentId } = await fixture.addAgent();
      const wrong = await failure(login(agentId, 'not-the-password'));
      const unknown = await failure(login(`agent-${randomUUID()}`, 'whatever'));
      expect(wrong.code).to.equal(status.UNAUTHENTICATED);
      expect(unknown.code).to.equal(status.UNAUTHENTICATED);
      expect(unknown.details).to.equal(wrong.details);
    });

    it('locks an agent out with RESOURCE_EXHAUSTED after repeated failures, even for the right password', async () => {
      const { agentId, password } = await fixture.addAgent();
      for (let attempt = 0; attempt < 3; attempt++) {
        expect((await failure(login(agentId, 'guess'))).code).to.equal(status.UNAUTHENTICATED);
      }
      const locked = await failure(login(agentId, password));
      expect(locked.code).to.equal(status.RESOURCE_EXHAUSTED);
      expect(locked.details).to.match(/retry in \d+ s/);
    });

    it('returns a token of at least 128 bits that expires 24 hours after use, and stores only its hash', async () => {
      const { agentId, password } = await fixture.addAgent();
      const response = await login(agentId, password);
      expect(Buffer.from(response.sessionToken, 'base64url').length).to.be.at.least(16);
      const hours = (Date.parse(response.expireTime ?? '') - Date.now()) / 3_600_000;
      expect(hours).to.be.within(23.9, 24.01);
      const rows = await fixture.database
        .fork()
        .getConnection()
        .execute('select token_hash from manager.chat_session where agent_id = ?', [agentId]);
      expect(rows).to.have.length(1);
      expect(JSON.stringify(rows)).to.not.contain(response.sessionToken);
    });

    it("refuses another agent's token and a logged-out token with UNAUTHENTICATED", async () => {
      const first = await chattingAgent();
      const second = await fixture.addAgent();
      const crossed = await failure(send(second.agentId, first.sessionToken, 'hi'));
      expect(crossed.code).to.equal(status.UNAUTHENTICATED);

      await logout(first.agentId, first.sessionToken);
      const after = await failure(send(first.agentId, first.sessionToken, 'hi'));
      expect(after.code).to.equal(status.UNAUTHENTICATED);
    });
  });

  describe('SendMessage and WatchAgent', () => {
    it('streams 3 deltas for "/parts 3 hello" and persists the user and assistant messages with consecutive sequences', async () => {
      const { agentId, sessionToken } = await chattingAgent();
      const watcher = watch(agentId, sessionToken, 0, true);
      const sent = await send(agentId, sessionToken, '/parts 3 hello');
      expect(sent.message).to.include({
        sequence: '1',
        kind: ChatEventKind.CHAT_EVENT_KIND_USER_MESSAGE,
      });
      expect(sent.message?.author).to.include({ subject: 'user-1', displayName: 'Ada' });

      await watcher.until((w) => assistantReplies(w).length === 1, 'the assistant reply');
      expect(watcher.deltas.map((delta) => delta.deltaIndex)).to.deep.equal([0, 1, 2]);
      expect(watcher.deltas.map((delta) => delta.sequence)).to.deep.equal(['0', '0', '0']);
      expect(watcher.deltas.map((delta) => delta.text).join('')).to.contain('hello');
      const [reply] = assistantReplies(watcher);
      expect(reply).to.include({ sequence: '2', correlationId: sent.message?.id });
      expect(reply.text).to.contain('hello');
      watcher.cancel();

      const history = await list(agentId, sessionToken);
      expect(history.messages.map((message) => [message.sequence, message.kind])).to.deep.equal([
        ['1', ChatEventKind.CHAT_EVENT_KIND_USER_MESSAGE],
        ['2', ChatEventKind.CHAT_EVENT_KIND_ASSISTANT_MESSAGE],
      ]);
      expect(history.latestSequence).to.equal('2');
    });

    it('persists tool calls and results with their details', async () => {
      const { agentId, sessionToken } = await chattingAgent();
      const watcher = watch(agentId, sessionToken);
      await send(agentId, sessionToken, '/tool grep');
      await watcher.until((w) => assistantReplies(w).length === 1, 'the assistant reply');
      watcher.cancel();
      const kinds = watcher.chat.map((chat) => chat.kind);
      expect(kinds).to.deep.equal([
        ChatEventKind.CHAT_EVENT_KIND_USER_MESSAGE,
        ChatEventKind.CHAT_EVENT_KIND_TOOL_CALL,
        ChatEventKind.CHAT_EVENT_KIND_TOOL_RESULT,
        ChatEventKind.CHAT_EVENT_KIND_ASSISTANT_MESSAGE,
      ]);
      expect(watcher.chat[1].detail).to.deep.include({ $case: 'toolCall' });
      expect((watcher.chat[1].detail?.value as eventsV1.ToolCall).toolName).to.equal('grep');
      expect(watcher.chat[2].detail).to.deep.include({ $case: 'toolResult' });
    });

    it('is idempotent on client_message_id: the same id returns the first message and starts no new turn', async () => {
      const { agentId, sessionToken } = await chattingAgent();
      const watcher = watch(agentId, sessionToken);
      const first = await send(agentId, sessionToken, 'once', 'client-id-1');
      const again = await send(agentId, sessionToken, 'twice?', 'client-id-1');
      expect(again.message).to.deep.equal(first.message);
      await watcher.until((w) => assistantReplies(w).length === 1, 'the first reply');
      await send(agentId, sessionToken, 'next', 'client-id-2');
      await watcher.until((w) => assistantReplies(w).length === 2, 'two replies');
      watcher.cancel();
      expect(watcher.chat.map((chat) => chat.text)).to.deep.equal([
        'once',
        'echo: once',
        'next',
        'echo: next',
      ]);
    });

    it('gives two watchers identical sequences', async () => {
      const { agentId, sessionToken } = await chattingAgent();
      const first = watch(agentId, sessionToken);
      const second = watch(agentId, sessionToken);
      for (const text of ['a', 'b', 'c']) await send(agentId, sessionToken, text);
      const allSix = (w: WatchCollector) => w.sequences.length >= 6;
      await Promise.all([first.until(allSix, '6 events'), second.until(allSix, '6 events')]);
      first.cancel();
      second.cancel();
      expect(first.sequences).to.deep.equal([1, 2, 3, 4, 5, 6]);
      expect(second.chat).to.deep.equal(first.chat);
    });

    it('gives a watcher that reconnects from sequence N exactly N+1 onwards, then live events', async () => {
      const { agentId, sessionToken } = await chattingAgent();
      const initial = watch(agentId, sessionToken);
      await send(agentId, sessionToken, 'one');
      await send(agentId, sessionToken, 'two');
      await initial.until((w) => w.sequences.length === 4, '4 events');
      initial.cancel();

      const resumed = watch(agentId, sessionToken, 3);
      await send(agentId, sessionToken, 'three');
      await resumed.until((w) => w.sequences.includes(6), 'sequence 6');
      resumed.cancel();
      expect(resumed.sequences).to.deep.equal([4, 5, 6]);
    });

    it('never assigns a duplicate or skips a sequence under concurrent senders', async () => {
      const { agentId, sessionToken } = await chattingAgent();
      const senders = Array.from({ length: 20 }, (_, index) =>
        send(agentId, sessionToken, `message ${index}`),
      );
      const sent = await Promise.all(senders);
      const watcher = watch(agentId, sessionToken);
      await watcher.until((w) => w.sequences.length === 40, '20 messages and 20 replies');
      watcher.cancel();
      const userSequences = sent.map((response) => Number(response.message?.sequence));
      expect(new Set(userSequences).size).to.equal(20);
      expect(watcher.sequences).to.deep.equal(Array.from({ length: 40 }, (_, index) => index + 1));
    });

    it('keeps a message for an agent without a runner and delivers it when the runner is ready', async () => {
      const { agentId, password } = await fixture.addAgent();
      const { sessionToken } = await login(agentId, password);
      const sent = await send(agentId, sessionToken, 'are you there?');
      expect(sent.message?.sequence).to.equal('1');
      const watcher = watch(agentId, sessionToken);
      manager.hub.attach(agentId, fixture.startRunner());
      await watcher.until((w) => assistantReplies(w).length === 1, 'the reply');
      watcher.cancel();
      expect(assistantReplies(watcher)[0].text).to.equal('echo: are you there?');
    });

    it('ends a watch with UNAUTHENTICATED when its session logs out', async () => {
      const { agentId, sessionToken } = await chattingAgent();
      const watcher = watch(agentId, sessionToken);
      await send(agentId, sessionToken, 'hello');
      await watcher.until((w) => w.sequences.length === 2, 'the reply');
      await logout(agentId, sessionToken);
      expect((await watcher.finished())?.code).to.equal(status.UNAUTHENTICATED);
    });

    it('refuses an empty text, a text above 1 MiB and a client_message_id above 128 characters', async () => {
      const { agentId, sessionToken } = await chattingAgent();
      for (const [text, clientId] of [
        ['', 'a'],
        ['x'.repeat(1024 * 1024 + 1), 'b'],
        ['fine', 'c'.repeat(129)],
      ]) {
        const error = await failure(send(agentId, sessionToken, text, clientId));
        expect(error.code).to.equal(status.INVALID_ARGUMENT);
      }
      expect((await list(agentId, sessionToken)).latestSequence).to.equal('0');
    });
  });

  describe('ListMessages', () => {
    it('pages through the history by sequence with page tokens', async () => {
      const { agentId, sessionToken } = await chattingAgent();
      const watcher = watch(agentId, sessionToken);
      for (const text of ['a', 'b', 'c']) await send(agentId, sessionToken, text);
      await watcher.until((w) => w.sequences.length === 6, 'three replies');
      watcher.cancel();

      const first = await list(agentId, sessionToken, { afterSequence: '1', pageSize: 2 });
      expect(first.messages.map((message) => message.sequence)).to.deep.equal(['2', '3']);
      expect(first.latestSequence).to.equal('6');
      const second = await list(agentId, sessionToken, {
        pageSize: 2,
        pageToken: first.nextPageToken,
      });
      const third = await list(agentId, sessionToken, {
        pageSize: 2,
        pageToken: second.nextPageToken,
      });
      expect(second.messages.map((message) => message.sequence)).to.deep.equal(['4', '5']);
      expect(third.messages.map((message) => message.sequence)).to.deep.equal(['6']);
      expect(third.nextPageToken).to.equal('');
    });
  });

  describe('inbox', () => {
    it("hands a message published on the agent's .inbox subject to the agent", async () => {
      const { agentId, sessionToken } = await chattingAgent();
      const watcher = watch(agentId, sessionToken);
      const command = eventsV1.AgentInboxCommand.encode({
        id: randomUUID(),
        command: {
          $case: 'sendMessage',
          value: {
            clientMessageId: 'inbox-1',
            text: 'from a platform',
            authorSubject: 'platform-x',
            authorDisplayName: 'Platform X',
          },
        },
      }).finish();
      await fixture.nats
        .jetstream()
        .publish(agentSubject(fixture.managerId, agentId, 'inbox'), command);
      await watcher.until((w) => assistantReplies(w).length === 1, 'the reply');
      watcher.cancel();
      expect(watcher.chat[0]).to.include({ text: 'from a platform', clientMessageId: 'inbox-1' });
      expect(watcher.chat[0].author).to.include({ subject: 'platform-x' });
      expect(watcher.chat[1].text).to.equal('echo: from a platform');
    });
  });

  describe('a manager that dies mid-turn', () => {
    it('persists the reply exactly once after a new manager attaches to the same runner, and its watcher sees no gap', async () => {
      const first = await fixture.startInstance();
      const { agentId, password } = await fixture.addAgent();
      const runner = fixture.startRunner();
      first.hub.attach(agentId, runner);
      const { sessionToken } = await login(agentId, password, first);
      await send(agentId, sessionToken, 'before', undefined, first);
      const early = watch(agentId, sessionToken, 0, false, first);
      await early.until((w) => w.sequences.length === 2, 'the first reply');
      const sleeping = await send(agentId, sessionToken, '/sleep 1500', undefined, first);
      expect(sleeping.message?.sequence).to.equal('3');

      await first.abandon();
      const second = await fixture.startInstance();
      second.hub.attach(agentId, runner);
      const watcher = watch(agentId, sessionToken, 0, false, second);
      await watcher.until((w) => assistantReplies(w).length === 2, 'the slept reply');
      await send(agentId, sessionToken, 'after', undefined, second);
      await watcher.until((w) => w.sequences.length === 6, 'the last reply');
      watcher.cancel();
      expect(watcher.sequences).to.deep.equal([1, 2, 3, 4, 5, 6]);
      expect(watcher.chat.map((chat) => chat.text)).to.deep.equal([
        'before',
        'echo: before',
        '/sleep 1500',
        'slept 1500 ms',
        'after',
        'echo: after',
      ]);
      const stored = await list(agentId, sessionToken);
      expect(stored.messages.filter((m) => m.text === 'slept 1500 ms')).to.have.length(1);
    });
  });
});
