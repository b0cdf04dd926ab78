import { eventsV1 } from '@agenstra/proto';
import { DomainError, EVENT_STREAM } from '@agenstra/shared';
import {
  AckPolicy,
  DeliverPolicy,
  nanos,
  type ConsumerMessages,
  type JsMsg,
  type NatsConnection,
} from 'nats';
import type { Logger } from 'pino';
import type { ChatRelay } from './chat-relay.js';
import { validUserMessage } from './chat-validation.js';

/** A durable consumer outlives a manager restart; one left by a manager gone for good expires. */
const INBOX_CONSUMER_INACTIVE_MS = 24 * 3_600_000;
const INBOX_ACK_WAIT_MS = 60_000;

/** The JetStream consumer name of a manager's inbox (names allow letters, digits, - and _). */
export function inboxConsumerName(managerId: string): string {
  return `manager-${managerId.replace(/[^A-Za-z0-9_-]/g, '_')}-inbox`;
}

/**
 * Handles the `.inbox` commands of every agent of this manager. A durable JetStream consumer
 * rather than a plain subscription, so commands published while the manager is down arrive
 * when it is back; each is acknowledged after it is handled, and the client message id makes a
 * redelivery harmless.
 */
export class AgentInbox {
  private messages?: ConsumerMessages;
  private running?: Promise<void>;

  constructor(
    private readonly nats: NatsConnection,
    private readonly managerId: string,
    private readonly relay: ChatRelay,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    const name = inboxConsumerName(this.managerId);
    const manager = await this.nats.jetstreamManager();
    const settings = {
      filter_subject: `agenstra.v1.managers.${this.managerId}.agents.*.inbox`,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(INBOX_ACK_WAIT_MS),
      inactive_threshold: nanos(INBOX_CONSUMER_INACTIVE_MS),
    };
    try {
      await manager.consumers.info(EVENT_STREAM, name);
      await manager.consumers.update(EVENT_STREAM, name, settings);
    } catch {
      await manager.consumers.add(EVENT_STREAM, {
        ...settings,
        durable_name: name,
        deliver_policy: DeliverPolicy.New,
      });
    }
    const consumer = await this.nats.jetstream().consumers.get(EVENT_STREAM, name);
    this.messages = await consumer.consume();
    this.running = this.handleAll(this.messages);
  }

  async stop(): Promise<void> {
    await this.messages?.close();
    await this.running;
  }

  private async handleAll(messages: ConsumerMessages): Promise<void> {
    for await (const message of messages) await this.handle(message);
  }

  private async handle(message: JsMsg): Promise<void> {
    const prefix = `agenstra.v1.managers.${this.managerId}.agents.`;
    const agentId = message.subject.slice(prefix.length, -'.inbox'.length);
    let command: eventsV1.AgentInboxCommand;
    try {
      command = eventsV1.AgentInboxCommand.decode(message.data);
    } catch (error) {
      this.logger.warn(
        { err: error, agentId },
        'dropping an inbox message that is not an AgentInboxCommand',
      );
      message.term();
      return;
    }
    try {
      switch (command.command?.$case) {
        case 'sendMessage': {
          const send = command.command.value;
          await this.relay.sendUserMessage(
            agentId,
            validUserMessage({
              clientMessageId: send.clientMessageId,
              text: send.text,
              authorSubject: send.authorSubject,
              authorDisplayName: send.authorDisplayName,
            }),
          );
          break;
        }
        default:
          this.logger.warn(
            { agentId, commandId: command.id },
            'dropping an inbox command of unknown kind',
          );
      }
      message.ack();
    } catch (error) {
      if (error instanceof DomainError) {
        // A command that cannot succeed (bad input, unknown agent) is not retried.
        this.logger.warn(
          { agentId, commandId: command.id, reason: error.message },
          'refused an inbox command',
        );
        message.term();
        return;
      }
      this.logger.error(
        { err: error, agentId, commandId: command.id },
        'inbox command failed; NATS redelivers it',
      );
      message.nak();
    }
  }
}
