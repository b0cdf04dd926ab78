import { eventsV1 } from '@agenstra/proto';
import { AsyncQueue } from '@agenstra/shared';
import type { NatsConnection } from 'nats';
import type { EventPublisher } from '../events/publisher.js';
import { agentEventsWildcard } from '../events/subjects.js';
import type { LocalChatFeed } from './chat-feed.js';
import type { ChatStore } from './chat-store.js';
import { persistedEventOf } from './chat-relay.js';

export interface WatchSources {
  nats: NatsConnection;
  store: ChatStore;
  publisher: EventPublisher;
  feed: LocalChatFeed;
}

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
 * It subscribes to NATS and to this manager's own feed before reading PostgreSQL, so nothing
 * published during the replay is missed (both are buffered); live chat events at or below the
 * last delivered sequence are dropped (each persisted event comes from both), and a jump ahead
 * is filled from PostgreSQL first. Every watcher thus sees sequences 1, 2, 3, ... exactly once
 * and in order, whatever order the events arrive in.
 */
export async function* watchAgentEvents(
  { nats, store, publisher, feed }: WatchSources,
  request: WatchRequest,
): AsyncGenerator<eventsV1.Event> {
  const { agentId, includeDeltas, signal } = request;
  const live = new AsyncQueue<eventsV1.Event>();
  const subscription = nats.subscribe(agentEventsWildcard(publisher.managerId, agentId), {
    callback: (error, received) => {
      if (error) live.end(error);
      else if (!received.subject.endsWith('.inbox'))
        live.push(eventsV1.Event.decode(received.data));
    },
  });
  const unsubscribeFeed = feed.subscribe(agentId, (event) => live.push(event));
  const end = () => {
    subscription.unsubscribe();
    unsubscribeFeed();
    live.end();
  };
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

    for await (const event of live) {
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
    end();
  }
  if (signal.aborted && signal.reason instanceof Error) throw signal.reason;
}
