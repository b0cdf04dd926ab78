import { eventsV1 } from '@agenstra/proto';
import type { Logger } from 'pino';
import type { EventPublisher } from '../events/publisher.js';

export const { FileEventKind, FileActor } = eventsV1;

/** Who made a change: a user through the service (with their subject, when known) or the agent. */
export type ChangeActor =
  | { actor: eventsV1.FileActor.FILE_ACTOR_USER; subject: string }
  | { actor: eventsV1.FileActor.FILE_ACTOR_AGENT };

export const AGENT_ACTOR: ChangeActor = { actor: FileActor.FILE_ACTOR_AGENT };

export interface FileChange {
  kind: eventsV1.FileEventKind;
  path: string;
  oldPath?: string;
  sizeBytes?: bigint | number;
  isDirectory?: boolean;
}

/** Publishes `.files` events; a failed publish is logged, never fails the change that happened. */
export class FileEvents {
  constructor(
    private readonly publisher: EventPublisher,
    private readonly logger: Logger,
  ) {}

  async publish(agentId: string, change: FileChange, by: ChangeActor): Promise<void> {
    const file: eventsV1.FileEvent = {
      agentId,
      kind: change.kind,
      path: change.path,
      oldPath: change.oldPath ?? '',
      actor: by.actor,
      actorSubject: by.actor === FileActor.FILE_ACTOR_USER ? by.subject : '',
      sizeBytes: String(change.isDirectory ? 0 : (change.sizeBytes ?? 0)),
      isDirectory: change.isDirectory ?? false,
    };
    try {
      await this.publisher.publish(
        this.publisher.envelope(agentId, { $case: 'file', value: file }),
      );
    } catch (error) {
      this.logger.warn(
        { err: error, agentId, path: change.path },
        'could not publish a file event',
      );
    }
  }
}
