import type { eventsV1 } from '@agenstra/proto';

type Listener = (event: eventsV1.Event) => void;

/**
 * This manager's persisted chat events, handed to its own watchers in the process the moment
 * they are published. Without it a watcher gets them back from the NATS server, a round trip
 * (about a millisecond here) on every reply's way to the client. NATS still carries every event
 * (to other subscribers, and to these watchers, which drop the second copy by its sequence).
 */
export class LocalChatFeed {
  private readonly listeners = new Map<string, Set<Listener>>();

  /** Calls `listener` with each persisted event of the agent published from now on. */
  subscribe(agentId: string, listener: Listener): () => void {
    let listeners = this.listeners.get(agentId);
    if (!listeners) {
      listeners = new Set();
      this.listeners.set(agentId, listeners);
    }
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.listeners.get(agentId) === listeners) {
        this.listeners.delete(agentId);
      }
    };
  }

  /** Called once the event is persisted and its publish is written to NATS. */
  published(event: eventsV1.Event): void {
    for (const listener of this.listeners.get(event.agentId) ?? []) listener(event);
  }
}
