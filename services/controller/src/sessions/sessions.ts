import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { controllerV1, type eventsV1 } from '@agenstra/proto';
import {
  AbortedError,
  AsyncQueue,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  UnavailableError,
  type Database,
} from '@agenstra/shared';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { NatsConnection, Subscription } from 'nats';
import type { Logger } from 'pino';
import type { Principal } from '../auth/principal.js';
import { Client } from '../clients/client.entity.js';
import type { Clients } from '../clients/clients.js';
import { agentPasswordSecret, type Vault } from '../vault/vault.js';
import { AgentFeeds, type AgentFeed, type FeedMember } from './agent-feed.js';
import type { ManagerChats } from './manager-chat.js';
import { Session, SessionAgent } from './session.entity.js';

/** The manager chat token of one session's login to one agent, sealed in the vault. */
export const chatTokenSecret = (sessionId: string, agentId: string) =>
  `chat_token/${sessionId}/${agentId}`;

/** Subject of the commands for a session's stream, outside the persisted `agenstra.v1.>` stream. */
export const sessionSubject = (sessionId: string) => `agenstra.controller.sessions.${sessionId}`;

const RESUME_TOKEN_BYTES = 32;
const RESUME_WINDOW_MS = 5 * 60_000;
const MAX_CURSORS = 100;
const MAX_CLIENT_MESSAGE_ID = 128;
const MAX_TEXT_BYTES = 1024 * 1024;

export interface SessionsOptions {
  database: Database;
  nats: NatsConnection;
  clients: Clients;
  vault: Vault;
  chats: ManagerChats;
  logger: Logger;
  heartbeatIntervalMs: number;
}

/** What a stream process is told to do, by whichever process handled the unary call. */
type SessionCommand =
  | { type: 'attach'; agentId: string; afterSequence: string; latestSequence: string }
  | { type: 'login_failed'; agentId: string; code: number; message: string }
  | { type: 'detach'; agentId: string; reason: controllerV1.LogoutReason }
  | { type: 'takeover'; streamId: string };

type SessionEventKind = NonNullable<controllerV1.SessionEvent['kind']>;

const AGENT_NAME = /^clients\/([^/]+)\/agents\/([^/]+)$/;
const SESSION_NAME = /^sessions\/([0-9a-f-]{36})$/;

export const sessionName = (id: string) => `sessions/${id}`;
export const agentName = (clientId: string, agentId: string) =>
  `clients/${clientId}/agents/${agentId}`;

/**
 * Live sessions. State that must outlive a process (sessions, their logged-in agents, the
 * manager chat tokens) is in PostgreSQL; a unary call on any controller process reaches the
 * process holding the session's stream through NATS (`sessionSubject`), and each process follows
 * an agent with one manager WatchAgent stream shared by its sessions (`AgentFeeds`). Exact
 * resume: a member replays the manager's persisted history after its cursor, then the shared
 * feed's events, dropping chat sequences it already sent.
 */
export class Sessions {
  private readonly live = new Map<string, LiveStream>();
  private readonly feeds: AgentFeeds;
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder();

  constructor(private readonly options: SessionsOptions) {
    this.feeds = new AgentFeeds(options.logger);
  }

  /** Opens or resumes a session; the events end when `stop` is called or the session is taken over. */
  async open(
    caller: Principal,
    clientName: string,
    resumeToken: string,
    cursors: controllerV1.AgentCursor[],
  ): Promise<{ events: AsyncIterable<controllerV1.OpenSessionResponse>; stop: () => void }> {
    const clientId = /^clients\/([^/]+)$/.exec(clientName)?.[1];
    if (!clientId) throw new InvalidArgumentError('client must be clients/{client}');
    if (cursors.length > MAX_CURSORS) {
      throw new InvalidArgumentError(`at most ${MAX_CURSORS} cursors`);
    }
    const cursorOf = new Map<string, string>();
    for (const cursor of cursors) {
      const parsed = AGENT_NAME.exec(cursor.agent);
      if (!parsed || parsed[1] !== clientId) {
        throw new InvalidArgumentError(
          `cursors[].agent must be an agent of ${clientName}: ${cursor.agent}`,
        );
      }
      cursorOf.set(parsed[2], cursor.lastSequence || '0');
    }
    const em = this.options.database.fork();
    await this.options.clients.get(em, caller, clientId);

    const now = new Date();
    const token = randomBytes(RESUME_TOKEN_BYTES).toString('base64url');
    const streamId = randomUUID();
    const resumeExpireTime = new Date(now.getTime() + RESUME_WINDOW_MS);
    const previous = resumeToken
      ? await em.findOne(Session, { resumeTokenHash: hashOf(resumeToken) })
      : null;
    const resumable =
      previous &&
      previous.subject === caller.subject &&
      previous.clientId === clientId &&
      (previous.streamId !== null || previous.resumeExpireTime > now);
    let session: Session;
    if (resumable) {
      session = previous;
      em.assign(session, { resumeTokenHash: hashOf(token), resumeExpireTime, streamId });
    } else {
      session = em.create(Session, {
        id: randomUUID(),
        subject: caller.subject,
        clientId,
        resumeTokenHash: hashOf(token),
        resumeExpireTime,
        streamId,
        createTime: now,
      });
    }
    await em.flush();
    const restoring = resumable ? await em.find(SessionAgent, { sessionId: session.id }) : [];

    const stream = new LiveStream(this, session.id, clientId, streamId, caller);
    this.live.set(session.id, stream);
    stream.subscription = this.options.nats.subscribe(sessionSubject(session.id), {
      callback: (error, message) => {
        if (error) return;
        stream.command(JSON.parse(this.decoder.decode(message.data)) as SessionCommand);
      },
    });
    // The previous stream of this session, on any process, ends once it hears this.
    await this.publish(session.id, { type: 'takeover', streamId });
    stream.emit('', {
      $case: 'opened',
      value: {
        session: sessionName(session.id),
        resumeToken: token,
        resumeExpireTime: resumeExpireTime.toISOString(),
        resumed: Boolean(resumable),
        restoringAgents: restoring.map((row) => agentName(clientId, row.agentId)),
        heartbeatIntervalSeconds: Math.round(this.options.heartbeatIntervalMs / 1000),
      },
    });
    for (const row of restoring) {
      void this.loginAgent(session, row.agentId, '', cursorOf.get(row.agentId) ?? '0', false).catch(
        (error) => stream.loginFailed(row.agentId, error),
      );
    }
    return { events: stream.events(), stop: () => stream.end() };
  }

  async login(caller: Principal, request: controllerV1.LoginRequest): Promise<void> {
    const em = this.options.database.fork();
    const session = await this.ownSession(em, caller, request.session);
    const agentId = this.agentOf(session, request.agent);
    if (!session.streamId) {
      throw new FailedPreconditionError(`${request.session} has no open stream; call OpenSession`);
    }
    await this.loginAgent(session, agentId, request.password, request.afterSequence || '0', true);
  }

  async logout(caller: Principal, request: controllerV1.LogoutRequest): Promise<void> {
    const em = this.options.database.fork();
    const session = await this.ownSession(em, caller, request.session);
    const agentId = this.agentOf(session, request.agent);
    const client = await em.findOneOrFail(Client, { id: session.clientId });
    const secret = chatTokenSecret(session.id, agentId);
    const token = await this.options.vault.reveal(em, session.clientId, secret);
    await em.transactional(async (tx) => {
      await tx.nativeDelete(SessionAgent, { sessionId: session.id, agentId });
      await this.options.vault.remove(tx, session.clientId, secret);
    });
    if (token) {
      const calls = await this.options.chats.of(em, client);
      await calls.logout(agentId, token).catch(() => undefined);
    }
    await this.publish(session.id, {
      type: 'detach',
      agentId,
      reason: controllerV1.LogoutReason.LOGOUT_REASON_REQUESTED,
    });
  }

  async sendChat(caller: Principal, request: controllerV1.SendChatRequest): Promise<string> {
    const em = this.options.database.fork();
    const session = await this.ownSession(em, caller, request.session);
    const agentId = this.agentOf(session, request.agent);
    if (
      request.clientMessageId.length < 1 ||
      request.clientMessageId.length > MAX_CLIENT_MESSAGE_ID
    ) {
      throw new InvalidArgumentError('client_message_id must be 1 to 128 characters');
    }
    const bytes = Buffer.byteLength(request.text, 'utf8');
    if (bytes < 1 || bytes > MAX_TEXT_BYTES) {
      throw new InvalidArgumentError('text must be 1 byte to 1 MiB');
    }
    const token = (await em.findOne(SessionAgent, { sessionId: session.id, agentId }))
      ? await this.options.vault.reveal(em, session.clientId, chatTokenSecret(session.id, agentId))
      : undefined;
    if (!token) {
      throw new FailedPreconditionError(`${request.session} is not logged in to ${request.agent}`);
    }
    const client = await em.findOneOrFail(Client, { id: session.clientId });
    const calls = await this.options.chats.of(em, client);
    const sent = await calls.sendMessage({
      agentId,
      sessionToken: token,
      clientMessageId: request.clientMessageId,
      text: request.text,
      authorSubject: caller.subject,
      authorDisplayName: '',
    });
    return sent.message?.sequence ?? '0';
  }

  async listAgents(caller: Principal, name: string): Promise<controllerV1.SessionAgent[]> {
    const em = this.options.database.fork();
    const session = await this.ownSession(em, caller, name);
    const rows = await em.find(
      SessionAgent,
      { sessionId: session.id },
      { orderBy: { agentId: 'asc' } },
    );
    const live = this.live.get(session.id);
    return rows.map((row) => ({
      agent: agentName(session.clientId, row.agentId),
      loginTime: row.loginTime.toISOString(),
      lastSequence: live?.lastSequenceOf(row.agentId) ?? row.lastSequence,
    }));
  }

  /** Ends every local stream (server drain); their sessions stay resumable elsewhere. */
  drain(): void {
    for (const stream of [...this.live.values()]) {
      stream.end(new UnavailableError('the controller is shutting down; resume the session'));
    }
  }

  /** Closes the feeds and manager channels of this process (after drain). */
  close(): void {
    this.drain();
    this.feeds.closeAll();
    this.options.chats.close();
  }

  /** @internal for LiveStream: the agent was deleted; a resume must not restore it. */
  async forgetAgent(sessionId: string, clientId: string, agentId: string): Promise<void> {
    const em = this.options.database.fork();
    await em.transactional(async (tx) => {
      await tx.nativeDelete(SessionAgent, { sessionId, agentId });
      await this.options.vault.remove(tx, clientId, chatTokenSecret(sessionId, agentId));
    });
  }

  /** @internal for LiveStream */
  feedsOf(): AgentFeeds {
    return this.feeds;
  }

  /** @internal for LiveStream */
  get context(): SessionsOptions {
    return this.options;
  }

  /** @internal for LiveStream: the stream has ended; keep the session resumable. */
  async released(stream: LiveStream, lastSequences: Map<string, string>): Promise<void> {
    if (this.live.get(stream.sessionId) === stream) this.live.delete(stream.sessionId);
    const em = this.options.database.fork();
    await em.nativeUpdate(
      Session,
      { id: stream.sessionId, streamId: stream.streamId },
      { streamId: null, resumeExpireTime: new Date(Date.now() + RESUME_WINDOW_MS) },
    );
    await this.saveSequences(em, stream.sessionId, lastSequences);
  }

  /** @internal for LiveStream: the session is still followed; push its resume window on. */
  async stillOpen(stream: LiveStream, lastSequences: Map<string, string>): Promise<void> {
    const em = this.options.database.fork();
    await em.nativeUpdate(
      Session,
      { id: stream.sessionId, streamId: stream.streamId },
      { resumeExpireTime: new Date(Date.now() + RESUME_WINDOW_MS) },
    );
    await this.saveSequences(em, stream.sessionId, lastSequences);
  }

  private async saveSequences(
    em: EntityManager,
    sessionId: string,
    lastSequences: Map<string, string>,
  ): Promise<void> {
    for (const [agentId, lastSequence] of lastSequences) {
      await em.nativeUpdate(SessionAgent, { sessionId, agentId }, { lastSequence });
    }
  }

  /**
   * Logs the session in to an agent on the manager and tells the stream to follow it. Failures
   * of the manager login arrive on the stream as login_failed; a missing password is NOT_FOUND
   * to a Login caller.
   */
  private async loginAgent(
    session: Session,
    agentId: string,
    givenPassword: string,
    afterSequence: string,
    fromCall: boolean,
  ): Promise<void> {
    const { vault, chats } = this.options;
    const em = this.options.database.fork();
    const client = await em.findOneOrFail(Client, { id: session.clientId });
    const password =
      givenPassword || (await vault.reveal(em, client.id, agentPasswordSecret(agentId)));
    const name = agentName(client.id, agentId);
    if (!password) {
      const error = new NotFoundError(`the vault holds no password for ${name}; pass one to Login`);
      if (fromCall) throw error;
      return this.publish(session.id, {
        type: 'login_failed',
        agentId,
        code: error.code,
        message: error.message,
      });
    }
    const calls = await chats.of(em, client);
    let login;
    try {
      login = await calls.login(agentId, password);
    } catch (error) {
      const { code = 14, details = 'the manager did not answer' } = error as {
        code?: number;
        details?: string;
      };
      // The manager does not tell a wrong password from a deleted agent; ask for the agent.
      const deleted = code === 16 && !(await calls.agentExists(agentId).catch(() => true));
      if (deleted && fromCall) {
        return this.publish(session.id, {
          type: 'login_failed',
          agentId,
          code: 5,
          message: `${name} does not exist`,
        });
      }
      if (deleted) {
        await this.forgetAgent(session.id, client.id, agentId);
        return this.publish(session.id, {
          type: 'detach',
          agentId,
          reason: controllerV1.LogoutReason.LOGOUT_REASON_AGENT_DELETED,
        });
      }
      return this.publish(session.id, {
        type: 'login_failed',
        agentId,
        code,
        message: `login to ${name} failed: ${details}`,
      });
    }
    const secret = chatTokenSecret(session.id, agentId);
    const replaced = await vault.reveal(em, client.id, secret);
    await em.transactional(async (tx) => {
      await vault.put(tx, client.id, secret, login.sessionToken);
      if (givenPassword)
        await vault.put(tx, client.id, agentPasswordSecret(agentId), givenPassword);
      const row = await tx.findOne(SessionAgent, { sessionId: session.id, agentId });
      if (!row) {
        tx.persist(
          tx.create(SessionAgent, {
            sessionId: session.id,
            agentId,
            loginTime: new Date(),
            lastSequence: afterSequence,
          }),
        );
      }
    });
    if (replaced) await calls.logout(agentId, replaced).catch(() => undefined);
    await this.publish(session.id, {
      type: 'attach',
      agentId,
      afterSequence,
      latestSequence: login.latestSequence,
    });
  }

  private async publish(sessionId: string, command: SessionCommand): Promise<void> {
    this.options.nats.publish(
      sessionSubject(sessionId),
      this.encoder.encode(JSON.stringify(command)),
    );
    // Commands and the stream's own subscription share the connection; a flush makes the
    // command reach the server before the unary call answers.
    await this.options.nats.flush();
  }

  /** The caller's session; anyone else's (or an unknown one) is NOT_FOUND. */
  private async ownSession(em: EntityManager, caller: Principal, name: string): Promise<Session> {
    const id = SESSION_NAME.exec(name)?.[1];
    if (!id) throw new InvalidArgumentError('session must be sessions/{session}');
    const session = await em.findOne(Session, { id });
    if (!session || session.subject !== caller.subject) {
      throw new NotFoundError(`session ${name} not found`);
    }
    // A revoked grant ends the use of the client's sessions too.
    await this.options.clients.get(em, caller, session.clientId);
    return session;
  }

  private agentOf(session: Session, name: string): string {
    const parsed = AGENT_NAME.exec(name);
    if (!parsed) throw new InvalidArgumentError('agent must be clients/{client}/agents/{agent}');
    if (parsed[1] !== session.clientId) {
      throw new InvalidArgumentError(
        `agent ${name} is not an agent of clients/${session.clientId}, the session's client`,
      );
    }
    return parsed[2];
  }
}

/** One open stream of a session on this process, and the agents it follows. */
class LiveStream {
  subscription: Subscription | undefined;
  private readonly queue = new AsyncQueue<controllerV1.OpenSessionResponse>();
  private readonly members = new Map<string, AgentMember>();
  /** Commands for one agent run one after another; different agents in parallel. */
  private readonly agentWork = new Map<string, Promise<void>>();
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    private readonly sessions: Sessions,
    readonly sessionId: string,
    readonly clientId: string,
    readonly streamId: string,
    private readonly caller: Principal,
  ) {}

  events(): AsyncIterable<controllerV1.OpenSessionResponse> {
    return this.queue;
  }

  emit(agentId: string, kind: SessionEventKind): void {
    if (this.queue.isEnded) return;
    this.queue.push({
      event: {
        session: sessionName(this.sessionId),
        agent: agentId ? agentName(this.clientId, agentId) : '',
        time: new Date().toISOString(),
        kind,
      },
    });
    this.scheduleHeartbeat();
  }

  lastSequenceOf(agentId: string): string | undefined {
    return this.members.get(agentId)?.lastSent;
  }

  loginFailed(agentId: string, error: unknown): void {
    const { code = 13, message = 'login failed' } = error as { code?: number; message?: string };
    this.emit(agentId, { $case: 'loginFailed', value: { code, message } });
  }

  command(command: SessionCommand): void {
    switch (command.type) {
      case 'takeover':
        if (command.streamId !== this.streamId) {
          this.end(new AbortedError('the session was opened again by another stream'));
        }
        return;
      case 'login_failed':
        this.emit(command.agentId, {
          $case: 'loginFailed',
          value: { code: command.code, message: command.message },
        });
        return;
      case 'attach':
        this.serially(command.agentId, () => this.attach(command));
        return;
      case 'detach':
        this.serially(command.agentId, async () => {
          this.leave(command.agentId);
          this.emit(command.agentId, { $case: 'loggedOut', value: { reason: command.reason } });
        });
        return;
    }
  }

  end(error?: unknown): void {
    if (this.queue.isEnded) return;
    this.queue.end(error);
    clearTimeout(this.heartbeat);
    this.subscription?.unsubscribe();
    const lastSequences = this.lastSequences();
    for (const agentId of [...this.members.keys()]) this.leave(agentId);
    this.sessions
      .released(this, lastSequences)
      .catch((failure) =>
        this.sessions.context.logger.warn(
          { err: failure, sessionId: this.sessionId },
          'session not released',
        ),
      );
  }

  /** The agent of `member` was deleted: log the session out of it for good. */
  agentDeleted(agentId: string, member: AgentMember): void {
    this.serially(agentId, async () => {
      if (this.members.get(agentId) !== member) return;
      this.leave(agentId);
      await this.sessions.forgetAgent(this.sessionId, this.clientId, agentId);
      this.emit(agentId, {
        $case: 'loggedOut',
        value: { reason: controllerV1.LogoutReason.LOGOUT_REASON_AGENT_DELETED },
      });
    });
  }

  private serially(agentId: string, work: () => Promise<void>): void {
    const next = (this.agentWork.get(agentId) ?? Promise.resolve())
      .then(work)
      .catch((error) => this.loginFailed(agentId, error));
    this.agentWork.set(agentId, next);
  }

  private async attach(command: Extract<SessionCommand, { type: 'attach' }>): Promise<void> {
    if (this.queue.isEnded) return;
    const { agentId, afterSequence } = command;
    this.leave(agentId);
    const { database, vault, chats } = this.sessions.context;
    const em = database.fork();
    const client = await em.findOneOrFail(Client, { id: this.clientId });
    const token = await vault.reveal(em, this.clientId, chatTokenSecret(this.sessionId, agentId));
    if (!token) return; // logged out again before the stream got to it
    const calls = await chats.of(em, client);
    const member = new AgentMember(this, agentId, afterSequence);
    const feed = this.sessions.feedsOf().join(
      this.clientId,
      agentId,
      async () => {
        const fresh = database.fork();
        const password = await vault.reveal(fresh, this.clientId, agentPasswordSecret(agentId));
        const freshClient = await fresh.findOneOrFail(Client, { id: this.clientId });
        return { calls: await chats.of(fresh, freshClient), password: password ?? '' };
      },
      member,
    );
    member.feed = feed;
    this.members.set(agentId, member);
    this.emit(agentId, {
      $case: 'loginSucceeded',
      value: { latestSequence: command.latestSequence, replayAfterSequence: afterSequence },
    });
    try {
      // The feed's start must be fixed before the history is read, so that they overlap.
      await feed.ready;
      let replayed = 0;
      let pageToken = '';
      do {
        const page = await calls.listMessages(agentId, token, afterSequence, pageToken);
        for (const chat of page.messages) if (member.replay(chat)) replayed += 1;
        pageToken = page.nextPageToken;
      } while (pageToken && this.members.get(agentId) === member);
      if (this.members.get(agentId) !== member) return;
      this.emit(agentId, {
        $case: 'historyReplayed',
        value: { lastSequence: member.lastSent, replayedCount: replayed },
      });
      member.goLive();
    } catch (error) {
      if (this.members.get(agentId) === member) this.leave(agentId);
      const { code = 14, details = (error as Error).message } = error as {
        code?: number;
        details?: string;
      };
      this.emit(agentId, {
        $case: 'error',
        value: {
          code,
          message: `following ${agentName(this.clientId, agentId)} failed: ${details}`,
        },
      });
    }
  }

  private leave(agentId: string): void {
    const member = this.members.get(agentId);
    if (!member) return;
    this.members.delete(agentId);
    if (member.feed) this.sessions.feedsOf().leave(this.clientId, member.feed, member);
  }

  private lastSequences(): Map<string, string> {
    return new Map([...this.members].map(([agentId, member]) => [agentId, member.lastSent]));
  }

  private scheduleHeartbeat(): void {
    clearTimeout(this.heartbeat);
    if (this.queue.isEnded) return;
    this.heartbeat = setTimeout(() => {
      this.emit('', { $case: 'heartbeat', value: {} });
      this.sessions.stillOpen(this, this.lastSequences()).catch(() => undefined);
    }, this.sessions.context.heartbeatIntervalMs);
    this.heartbeat.unref();
  }

  /** For logs only: whose stream this is. */
  get subject(): string {
    return this.caller.subject;
  }
}

/**
 * One session's view of one agent: history first, feed events buffered meanwhile, then live.
 * A chat sequence already sent is never sent again.
 */
class AgentMember implements FeedMember {
  feed: AgentFeed | undefined;
  lastSent: string;
  private buffered: eventsV1.Event[] | undefined = [];

  constructor(
    private readonly stream: LiveStream,
    private readonly agentId: string,
    afterSequence: string,
  ) {
    this.lastSent = afterSequence;
  }

  /** Sends a history event unless already sent; true when sent. */
  replay(chat: eventsV1.ChatEvent): boolean {
    if (BigInt(chat.sequence) <= BigInt(this.lastSent)) return false;
    this.lastSent = chat.sequence;
    this.stream.emit(this.agentId, { $case: 'chat', value: chat });
    return true;
  }

  goLive(): void {
    const buffered = this.buffered ?? [];
    this.buffered = undefined;
    for (const event of buffered) this.deliver(event);
  }

  deliver(event: eventsV1.Event): void {
    if (this.buffered) {
      this.buffered.push(event);
      return;
    }
    const payload = event.payload;
    if (!payload) return;
    switch (payload.$case) {
      case 'chat':
        if (payload.value.sequence !== '0') {
          this.replay(payload.value);
        } else {
          this.stream.emit(this.agentId, { $case: 'chat', value: payload.value });
        }
        return;
      case 'file':
        this.stream.emit(this.agentId, { $case: 'file', value: payload.value });
        return;
      case 'status':
        this.stream.emit(this.agentId, { $case: 'status', value: payload.value });
        return;
      case 'vcs':
        this.stream.emit(this.agentId, { $case: 'vcs', value: payload.value });
        return;
    }
  }

  troubled(code: number, message: string): void {
    const { clientId } = this.stream;
    this.stream.emit(this.agentId, {
      $case: 'error',
      value: {
        code,
        message: `lost the manager of clients/${clientId} while following ${agentName(clientId, this.agentId)}: ${message}`,
      },
    });
  }

  gone(): void {
    this.stream.agentDeleted(this.agentId, this);
  }
}

function hashOf(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
