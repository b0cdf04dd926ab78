import { eventsV1 } from '@agenstra/proto';
import { FailedPreconditionError } from '@agenstra/shared';
import type { Logger } from 'pino';
import type { EventPublisher } from '../events/publisher.js';
import {
  RUNNER_PROTOCOL_VERSION,
  type RunnerHub,
  type RunnerOutput,
} from '../runtime/runner-protocol.js';
import { chatEventOf, deltaEventOf, draftOfRunnerOutput } from './chat-events.js';
import type { LocalChatFeed } from './chat-feed.js';
import type { ChatMessage } from './chat-message.entity.js';
import type { ChatStore } from './chat-store.js';

export interface UserMessageInput {
  clientMessageId: string;
  text: string;
  authorSubject: string;
  authorDisplayName: string;
}

/** What the relay remembers about a turn whose `done` it has not seen yet. */
interface TurnProgress {
  agentId: string;
  /** Highest runner seq already persisted or published: lines at or below it are re-sends. */
  handledSeq: number;
  /** Highest runner seq looked at, re-sends included; counts deltas exactly once. */
  seenSeq: number;
  deltaCount: number;
}

/**
 * Moves a chat turn between the database, NATS and the agent's runner:
 * user message → persist (next sequence) → publish → runner; runner lines → persist → publish;
 * `done` → turn done → `ack`.
 *
 * An agent whose runner is not attached still gets the message: it is persisted as a pending
 * turn and handed over when the runner next says `ready` (after start, restart or a manager
 * restart). Refusing would make the caller retry by hand for something the manager can finish
 * on its own, and the chat shows the message at once.
 *
 * Work for one agent runs strictly in order (one queue per agent), so runner seqs are handled
 * in the order they were written and a turn is acknowledged only after everything before its
 * `done` is stored.
 *
 * Only what the next step depends on is waited for on the way to the runner and back: a
 * publish is written to the NATS connection before the runner gets the message (one connection
 * keeps its order, so the stream and watchers still see persisted → published → delivered),
 * and its JetStream acknowledgement is awaited afterwards; a `done` is stored and acknowledged
 * beside the queue, so the next message is not delivered behind that write.
 */
export class ChatRelay {
  private readonly queues = new Map<string, Promise<void>>();
  private readonly turns = new Map<string, TurnProgress>();
  /** Turns where storing a line failed: ignored until the runner re-sends them after `ready`. */
  private readonly stalled = new Set<string>();
  /** Publishes and turn endings started by the queues and not awaited there; `stop` waits. */
  private readonly inFlight = new Set<Promise<void>>();
  private unsubscribe?: () => void;

  constructor(
    private readonly store: ChatStore,
    private readonly hub: RunnerHub,
    private readonly publisher: EventPublisher,
    private readonly feed: LocalChatFeed,
    private readonly logger: Logger,
  ) {}

  /**
   * Listens to every runner and picks up turns left unfinished by an earlier run. Runners may
   * have been attached (and have answered `ready` and re-sent their outputs) before this
   * subscribed, so it says `hello` again to each agent with an open turn: the runner answers
   * `ready` (the open turns are re-delivered then) and re-sends what is not acknowledged.
   */
  start(): void {
    this.unsubscribe = this.hub.subscribe((agentId, output) => {
      void this.inOrder(agentId, () => this.handleOutput(agentId, output));
    });
    void this.store.unfinishedTurns().then(
      (turns) => {
        for (const agentId of new Set(turns.map((turn) => turn.agentId))) {
          void this.inOrder(agentId, () => this.greet(agentId));
        }
      },
      (error: unknown) => this.logger.warn({ err: error }, 'cannot read unfinished chat turns'),
    );
  }

  private async greet(agentId: string): Promise<void> {
    try {
      await this.hub.send(agentId, { type: 'hello', protocol: RUNNER_PROTOCOL_VERSION });
    } catch (error) {
      // Not attached: the runtime says hello itself when it attaches.
      this.logger.debug({ err: error, agentId }, 'agent runner not attached at chat start');
    }
  }

  /** Stops listening and waits for work already queued. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    await Promise.allSettled([...this.queues.values()]);
    await Promise.allSettled([...this.inFlight]);
  }

  /** Persists, publishes and delivers a user message; a known client id returns the first one. */
  async sendUserMessage(agentId: string, input: UserMessageInput): Promise<ChatMessage> {
    const { message, created } = await this.store.append({
      agentId,
      kind: 'user_message',
      clientMessageId: input.clientMessageId,
      authorRole: 'user',
      authorSubject: input.authorSubject,
      authorDisplayName: input.authorDisplayName,
      text: input.text,
      turnState: 'pending',
    });
    if (!created) return message;
    // A new turn has no outputs yet: nothing to look up when its first line arrives.
    this.turns.set(message.id, { agentId, handledSeq: 0, seenSeq: 0, deltaCount: 0 });
    // Written to NATS now, before the runner can answer; the caller still returns only once
    // JetStream has it. This manager's watchers get it once the runner has it: writing it to
    // their streams first would delay the runner, and so the reply, by that much.
    const event = persistedEventOf(this.publisher, message);
    const published = this.publish(event, agentId);
    await this.inOrder(agentId, () => this.deliver(message));
    this.feed.published(event);
    await published;
    return message;
  }

  private async deliver(message: ChatMessage): Promise<void> {
    try {
      await this.hub.send(message.agentId, {
        type: 'message',
        id: message.id,
        text: message.text,
        author: message.authorDisplayName || message.authorSubject || undefined,
      });
    } catch (error) {
      if (error instanceof FailedPreconditionError) {
        this.logger.debug(
          { agentId: message.agentId, messageId: message.id },
          'agent runner not attached: the message waits for its next ready',
        );
      } else {
        this.logger.warn(
          { err: error, agentId: message.agentId, messageId: message.id },
          'cannot deliver a chat message to the agent runner; retried at its next ready',
        );
      }
      return;
    }
    // Only informative (pending and delivered turns are both re-sent), so not waited for; a
    // `done` stored first is never moved back.
    this.store
      .markTurn(message.id, 'delivered')
      .catch((error: unknown) =>
        this.logger.warn({ err: error, messageId: message.id }, 'cannot mark a turn delivered'),
      );
  }

  /** The runner forgets nothing it accepted, and ignores ids it has seen: send every open turn. */
  private async redeliver(agentId: string): Promise<void> {
    for (const turn of await this.store.unfinishedTurns(agentId)) await this.deliver(turn);
  }

  private async handleOutput(agentId: string, output: RunnerOutput): Promise<void> {
    if (output.type === 'ready') {
      for (const progress of this.turns.values()) {
        // The runner re-sends every open turn from its first line after a ready: count its
        // deltas again from the start, but keep what is already handled.
        if (progress.agentId !== agentId) continue;
        progress.seenSeq = 0;
        progress.deltaCount = 0;
      }
      for (const turnId of this.stalled)
        if (turnId.startsWith(`${agentId}/`)) this.stalled.delete(turnId);
      await this.redeliver(agentId);
      return;
    }
    if (output.id === undefined || output.seq === undefined) {
      this.logger.warn(
        { agentId, code: output.type === 'error' ? output.code : undefined },
        `agent runner reported: ${output.type === 'error' ? output.message : output.type}`,
      );
      return;
    }
    const { id: turnId, seq } = output;
    if (this.stalled.has(`${agentId}/${turnId}`)) return;
    const progress = await this.progressOf(agentId, turnId);
    if (!progress) {
      this.logger.warn({ agentId, turnId }, 'agent runner wrote a line for an unknown turn');
      return;
    }
    try {
      await this.handleTurnLine(agentId, turnId, seq, output, progress);
    } catch (error) {
      this.logger.error(
        { err: error, agentId, turnId, seq },
        'cannot store an agent output; waiting for the runner to re-send it',
      );
      this.turns.delete(turnId);
      this.stalled.add(`${agentId}/${turnId}`);
    }
  }

  private async handleTurnLine(
    agentId: string,
    turnId: string,
    seq: number,
    output: RunnerOutput,
    progress: TurnProgress,
  ): Promise<void> {
    let deltaIndex = -1;
    if (seq > progress.seenSeq) {
      progress.seenSeq = seq;
      if (output.type === 'delta') deltaIndex = progress.deltaCount++;
    }
    if (output.type === 'done') {
      // Every line before it is stored (the queue awaited each): the turn can end beside the
      // queue. A re-sent line meanwhile is recognised from the rows (`progressOf`).
      this.turns.delete(turnId);
      this.track(this.finishTurn(agentId, turnId));
      return;
    }
    if (seq <= progress.handledSeq) return;
    if (output.type === 'delta') {
      if (deltaIndex >= 0) {
        const delta = deltaEventOf(agentId, turnId, deltaIndex, output.text);
        await this.publish(
          this.publisher.envelope(agentId, { $case: 'chat', value: delta }),
          agentId,
        );
      }
      progress.handledSeq = seq;
      return;
    }
    const draft = draftOfRunnerOutput(output);
    if (!draft) return;
    const { message, created } = await this.store.append({
      agentId,
      correlationId: turnId,
      runnerSeq: seq,
      authorSubject: draft.authorRole === 'agent' ? agentId : '',
      authorDisplayName: '',
      ...draft,
    });
    progress.handledSeq = seq;
    if (created) this.track(this.publishPersisted(message));
  }

  /** Stores the turn as done, then lets the runner forget it; never rejects. */
  private async finishTurn(agentId: string, turnId: string): Promise<void> {
    // The turn's reply was handed to the watchers just now; their writes to the clients are
    // promise continuations, which run before this resumes (it is not on their way).
    await new Promise((resolve) => setImmediate(resolve));
    try {
      await this.store.markTurn(turnId, 'done');
    } catch (error) {
      // Not acknowledged: the runner re-sends the turn after its next hello, ending it again.
      this.logger.error({ err: error, agentId, turnId }, 'cannot store a finished turn');
      return;
    }
    await this.hub.send(agentId, { type: 'ack', id: turnId }).catch((error: unknown) =>
      // The runner re-sends the turn after its next hello and is acknowledged then.
      this.logger.debug({ err: error, agentId, turnId }, 'cannot acknowledge a finished turn'),
    );
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private async progressOf(agentId: string, turnId: string): Promise<TurnProgress | undefined> {
    const known = this.turns.get(turnId);
    if (known) return known.agentId === agentId ? known : undefined;
    const userMessage = await this.store.findMessage(turnId);
    if (!userMessage || userMessage.agentId !== agentId || userMessage.kind !== 'user_message') {
      return undefined;
    }
    const progress: TurnProgress = {
      agentId,
      handledSeq: await this.store.highestRunnerSeq(turnId),
      seenSeq: 0,
      deltaCount: 0,
    };
    this.turns.set(turnId, progress);
    return progress;
  }

  /**
   * Publishes a persisted row; its envelope id is the row id, so JetStream drops a re-publish.
   * This manager's watchers get it as soon as the publish is written, not back from NATS.
   */
  private async publishPersisted(message: ChatMessage): Promise<void> {
    const event = persistedEventOf(this.publisher, message);
    const published = this.publish(event, message.agentId);
    this.feed.published(event);
    await published;
  }

  private async publish(event: eventsV1.Event, agentId: string): Promise<void> {
    try {
      await this.publisher.publish(event);
    } catch (error) {
      // PostgreSQL has it; watchers fill the gap from there when the next event arrives.
      this.logger.warn({ err: error, agentId, eventId: event.id }, 'cannot publish a chat event');
    }
  }

  private inOrder(agentId: string, work: () => Promise<void>): Promise<void> {
    const previous = this.queues.get(agentId) ?? Promise.resolve();
    const next = previous.then(work).catch((error: unknown) => {
      this.logger.error({ err: error, agentId }, 'chat relay work failed');
    });
    this.queues.set(agentId, next);
    void next.then(() => {
      if (this.queues.get(agentId) === next) this.queues.delete(agentId);
    });
    return next;
  }
}

/** The envelope of a persisted chat event, identical whether published live or replayed. */
export function persistedEventOf(publisher: EventPublisher, message: ChatMessage): eventsV1.Event {
  return {
    ...publisher.envelope(message.agentId, { $case: 'chat', value: chatEventOf(message) }),
    id: message.id,
    time: message.createTime.toISOString(),
  };
}
