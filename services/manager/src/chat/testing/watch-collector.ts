import type { managerV1 } from '@agenstra/proto';
import { eventsV1 } from '@agenstra/proto';
import type { ClientReadableStream, ServiceError } from '@grpc/grpc-js';

/** Collects a WatchAgent stream's events so a test can wait for what it expects. */
export class WatchCollector {
  readonly events: eventsV1.Event[] = [];
  error?: ServiceError;
  ended = false;
  private readonly waiters = new Set<() => void>();

  constructor(readonly stream: ClientReadableStream<managerV1.WatchAgentResponse>) {
    stream.on('data', (response: managerV1.WatchAgentResponse) => {
      if (response.event) this.events.push(response.event);
      this.wake();
    });
    stream.on('error', (error: ServiceError) => {
      this.error = error;
      this.wake();
    });
    stream.on('end', () => {
      this.ended = true;
      this.wake();
    });
  }

  /** Persisted chat events received so far. */
  get chat(): eventsV1.ChatEvent[] {
    return this.events
      .map((event) => (event.payload?.$case === 'chat' ? event.payload.value : undefined))
      .filter((chat): chat is eventsV1.ChatEvent => chat !== undefined)
      .filter((chat) => chat.kind !== eventsV1.ChatEventKind.CHAT_EVENT_KIND_ASSISTANT_DELTA);
  }

  get deltas(): eventsV1.ChatEvent[] {
    return this.events
      .map((event) => (event.payload?.$case === 'chat' ? event.payload.value : undefined))
      .filter(
        (chat): chat is eventsV1.ChatEvent =>
          chat?.kind === eventsV1.ChatEventKind.CHAT_EVENT_KIND_ASSISTANT_DELTA,
      );
  }

  get sequences(): number[] {
    return this.chat.map((chat) => Number(chat.sequence));
  }

  /** Resolves once `condition` holds; rejects if the stream fails or ends first. */
  until(condition: (collector: WatchCollector) => boolean, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (condition(this)) {
          this.waiters.delete(check);
          resolve();
        } else if (this.error || this.ended) {
          this.waiters.delete(check);
          reject(
            new Error(
              `watch ended (${this.error?.message ?? 'end'}) before ${what}; saw sequences ${this.sequences.join(',')}`,
            ),
          );
        }
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Resolves with the stream's final error (or undefined when it ended cleanly). */
  finished(): Promise<ServiceError | undefined> {
    return this.until((collector) => collector.ended || collector.error !== undefined, 'the end')
      .then(() => this.error)
      .catch(() => this.error);
  }

  cancel(): void {
    this.stream.cancel();
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
