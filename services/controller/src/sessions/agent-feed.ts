import { eventsV1, type managerV1 } from '@agenstra/proto';
import type { ClientReadableStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { ManagerChatCalls } from './manager-chat.js';

/** Receives every event of an agent's feed, in the manager's order. */
export interface FeedMember {
  deliver(event: eventsV1.Event): void;
  /** The feed lost the manager (it retries); `message` never holds a secret. */
  troubled(code: number, message: string): void;
  /** The agent was deleted; the feed has ended and will not deliver again. */
  gone(): void;
}

/** How a feed reaches its agent: the client's manager calls and the agent's password. */
export type FeedConnector = () => Promise<{ calls: ManagerChatCalls; password: string }>;

const RETRY_MS = 1000;
/** Why `follow` ended when the agent reported it is being deleted: not a trouble to report. */
const AGENT_DELETING = Symbol('agent deleting');
/** How many times (RETRY_MS apart) a deleting agent is looked up before the feed follows it again. */
const DELETION_CHECKS = 120;

/**
 * One manager WatchAgent stream per agent per controller process, fanned out to the local
 * sessions logged in to it. It holds its own manager chat login, so no session's logout ends
 * it. After a failure it resumes after the last chat sequence it delivered, so its members see
 * the agent's chat without gaps or duplicates from the moment `ready` resolves on.
 */
export class AgentFeed {
  readonly members = new Set<FeedMember>();
  /** Resolves once the feed's starting sequence is fixed; rejects when the first login fails. */
  readonly ready: Promise<void>;
  private markReady!: () => void;
  private failFirst!: (error: unknown) => void;
  private lastSequence = '0';
  private stream: ClientReadableStream<managerV1.WatchAgentResponse> | undefined;
  private sessionToken = '';
  private calls: ManagerChatCalls | undefined;
  private closed = false;

  constructor(
    readonly agentId: string,
    private readonly connect: FeedConnector,
    private readonly logger: Logger,
  ) {
    this.ready = new Promise<void>((resolve, reject) => {
      this.markReady = resolve;
      this.failFirst = reject;
    });
    // A member that never awaits `ready` must not turn a failed first login into a crash.
    this.ready.catch(() => undefined);
    void this.run();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stream?.cancel();
    if (this.calls && this.sessionToken) {
      this.calls.logout(this.agentId, this.sessionToken).catch(() => undefined);
    }
  }

  private async run(): Promise<void> {
    let started = false;
    while (!this.closed) {
      try {
        const { calls, password } = await this.connect();
        const login = await calls.login(this.agentId, password);
        if (this.closed) {
          await calls.logout(this.agentId, login.sessionToken).catch(() => undefined);
          return;
        }
        this.calls = calls;
        this.sessionToken = login.sessionToken;
        if (!started) {
          started = true;
          this.lastSequence = login.latestSequence;
          this.markReady();
        }
        const ending = await this.follow(
          calls.watchAgent(this.agentId, login.sessionToken, this.lastSequence),
        );
        if (this.closed) return;
        throw ending;
      } catch (error) {
        if (this.closed) return;
        if (!started) {
          this.closed = true;
          this.failFirst(error);
          return;
        }
        // A deleted agent ends the feed instead of being retried for ever. While the manager
        // is still deleting it, its watch would stay open and silent: wait for the outcome.
        const checks = error === AGENT_DELETING ? DELETION_CHECKS : 1;
        for (let check = 1; check <= checks && !this.closed; check++) {
          if (await this.agentDeleted()) {
            this.close();
            for (const member of [...this.members]) member.gone();
            return;
          }
          if (check < checks) await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
        }
        if (this.closed) return;
        if (error === AGENT_DELETING) continue;
        const { code = 14, details = (error as Error).message } = error as {
          code?: number;
          details?: string;
        };
        this.logger.warn({ agentId: this.agentId, code, details }, 'agent feed lost the manager');
        for (const member of this.members) member.troubled(code, details);
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
  }

  /** True only when the manager says the agent does not exist; unknown counts as present. */
  private async agentDeleted(): Promise<boolean> {
    try {
      const calls = this.calls ?? (await this.connect()).calls;
      return !(await calls.agentExists(this.agentId));
    } catch {
      return false;
    }
  }

  /** Delivers the stream's events until it ends; resolves with why it ended. */
  private follow(stream: ClientReadableStream<managerV1.WatchAgentResponse>): Promise<unknown> {
    this.stream = stream;
    return new Promise((resolve) => {
      stream.on('data', (response: managerV1.WatchAgentResponse) => {
        const event = response.event;
        if (!event) return;
        const payload = event.payload;
        if (payload?.$case === 'chat' && payload.value.sequence !== '0') {
          this.lastSequence = payload.value.sequence;
        }
        for (const member of this.members) member.deliver(event);
        if (
          payload?.$case === 'status' &&
          payload.value.state === eventsV1.AgentState.AGENT_STATE_DELETING
        ) {
          // The manager keeps a deleted agent's watch open; look whether the agent is gone.
          stream.cancel();
          resolve(AGENT_DELETING);
        }
      });
      stream.on('error', resolve);
      stream.on('end', () =>
        resolve(Object.assign(new Error('the manager ended the watch'), { code: 14 })),
      );
    });
  }
}

/** The feeds of this process, one per client and agent, closed when their last member leaves. */
export class AgentFeeds {
  private readonly feeds = new Map<string, AgentFeed>();

  constructor(private readonly logger: Logger) {}

  join(clientId: string, agentId: string, connect: FeedConnector, member: FeedMember): AgentFeed {
    const key = `${clientId}/${agentId}`;
    let feed = this.feeds.get(key);
    if (!feed) {
      const created = new AgentFeed(agentId, connect, this.logger);
      created.ready.catch(() => {
        if (this.feeds.get(key) === created) this.feeds.delete(key);
      });
      this.feeds.set(key, created);
      feed = created;
    }
    feed.members.add(member);
    return feed;
  }

  leave(clientId: string, feed: AgentFeed, member: FeedMember): void {
    feed.members.delete(member);
    if (feed.members.size > 0) return;
    feed.close();
    const key = `${clientId}/${feed.agentId}`;
    if (this.feeds.get(key) === feed) this.feeds.delete(key);
  }

  get size(): number {
    return this.feeds.size;
  }

  closeAll(): void {
    for (const feed of this.feeds.values()) feed.close();
    this.feeds.clear();
  }
}
