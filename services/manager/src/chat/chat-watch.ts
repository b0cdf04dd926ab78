import { eventsV1 } from '@agenstra/proto';
import type { NatsConnection } from 'nats';
import type { EventPublisher } from '../events/publisher.js';
import { agentEventsWildcard } from '../events/subjects.js';
import type { ChatStore } from './chat-store.js';
import { persistedEventOf } from './chat-relay.js';

/** Rows read from PostgreSQL per query while replaying or filling a gap. */
const REPLAY_PAGE_SIZE = 500;

export interface WatchRequest {
  agentId: string;
  afterSequence: number;
  includeDeltas: boolean;
  /** Aborting ends the stream; an Error as the reason is thrown to the caller. */
  signal: AbortSignal;
}

/**
 * An agent's events for one watcher: the persisted chat after `afterSequence`, then live.
 * It subscribes to NATS before reading PostgreSQL, so nothing published during the replay is
 * missed (the subscription buffers it); live chat events at or below the last delivered
 * sequence are dropped, and a jump ahead is filled from PostgreSQL first. Every watcher thus
 * sees sequences 1, 2, 3, ... exactly once and in order, whatever order NATS delivers them in.
 */
export async function* watchAgentEvents(
  nats: NatsConnection,
  store: ChatStore,
  publisher: EventPublisher,
  request: WatchRequest,
): AsyncGenerator<eventsV1.Event> {
  const { agentId, includeDeltas, signal } = request;
  const subscription = nats.subscribe(agentEventsWildcard(publisher.managerId, agentId));
  const end = () => subscription.unsubscribe();
  signal.addEventListener('abort', end, { once: true });
  if (signal.aborted) end();
  let last = request.afterSequence;
  try {
    const persistedUpTo = async function* (upTo: number) {
      while (last < upTo && !signal.aborted) {
        const page = await store.listAfter(agentId, last, REPLAY_PAGE_SIZE, upTo);
        if (page.length === 0) return;
        for (const message of page) {
          yield persistedEventOf(publisher, message);
          last = message.sequence;
        }
      }
    };
    yield* persistedUpTo(Number.MAX_SAFE_INTEGER);

    for await (const received of subscription) {
      if (received.subject.endsWith('.inbox')) continue;
      const event = eventsV1.Event.decode(received.data);
      if (event.payload?.$case !== 'chat') {
        yield event;
        continue;
      }
      const chat = event.payload.value;
      if (chat.kind === eventsV1.ChatEventKind.CHAT_EVENT_KIND_ASSISTANT_DELTA) {
        if (includeDeltas) yield event;
        continue;
      }
      const sequence = Number(chat.sequence);
      if (sequence <= last) continue;
      if (sequence > last + 1) yield* persistedUpTo(sequence - 1);
      yield event;
      last = sequence;
    }
  } finally {
    signal.removeEventListener('abort', end);
    subscription.unsubscribe();
  }
  if (signal.aborted && signal.reason instanceof Error) throw signal.reason;
}
