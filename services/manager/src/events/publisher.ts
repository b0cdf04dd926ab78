import { randomUUID } from 'node:crypto';
import { eventsV1 } from '@agenstra/proto';
import { headers, type NatsConnection } from 'nats';
import { agentSubject, type AgentChannel } from './subjects.js';

type Payload = eventsV1.Event['payload'];

/**
 * Publishes an agent's events as binary `agenstra.events.v1.Event`s with the event id as
 * `Nats-Msg-Id`. Persisted chat events go through JetStream and wait for its acknowledgement, so
 * a published sequence is durable on the wire too; everything else is fire-and-forget on core
 * NATS (the stream still captures it).
 */
export class EventPublisher {
  constructor(
    private readonly nats: NatsConnection,
    readonly managerId: string,
  ) {}

  /** Builds the envelope for a payload; exposed so watchers can deliver exactly what is published. */
  envelope(agentId: string, payload: NonNullable<Payload>): eventsV1.Event {
    return {
      id: randomUUID(),
      managerId: this.managerId,
      agentId,
      time: new Date().toISOString(),
      payload,
    };
  }

  async publish(event: eventsV1.Event): Promise<void> {
    const channel = channelOf(event);
    const subject = agentSubject(this.managerId, event.agentId, channel);
    const data = eventsV1.Event.encode(event).finish();
    if (channel === 'chat') {
      await this.nats.jetstream().publish(subject, data, { msgID: event.id });
      return;
    }
    const header = headers();
    header.set('Nats-Msg-Id', event.id);
    this.nats.publish(subject, data, { headers: header });
  }
}

export function channelOf(event: eventsV1.Event): AgentChannel {
  const payload = event.payload;
  switch (payload?.$case) {
    case 'chat':
      return payload.value.kind === eventsV1.ChatEventKind.CHAT_EVENT_KIND_ASSISTANT_DELTA
        ? 'chat.delta'
        : 'chat';
    case 'file':
      return 'files';
    case 'status':
      return 'status';
    case 'vcs':
      return 'vcs';
    default:
      throw new Error('an event needs a payload');
  }
}
