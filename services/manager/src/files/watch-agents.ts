import { eventsV1 } from '@agenstra/proto';
import type { NatsConnection, Subscription } from 'nats';
import type { Logger } from 'pino';
import { agentSubject } from '../events/subjects.js';
import type { WorkspaceWatchers } from './workspace-watcher.js';

const { AgentState } = eventsV1;

/**
 * Keeps a workspace watcher per live agent by following the agents' `.status` events (the public
 * lifecycle contract), so the agent runtime needs no call into files: an agent in any state but
 * DELETING is watched once its workspace exists; DELETING stops the watch before the workspace
 * is removed. Agents that exist at start are watched by `watchAll`.
 */
export function followAgentLifecycle(
  nats: NatsConnection,
  managerId: string,
  watchers: WorkspaceWatchers,
  logger: Logger,
): Subscription {
  return nats.subscribe(agentSubject(managerId, '*', 'status'), {
    callback: (error, message) => {
      if (error) return;
      let event: eventsV1.Event;
      try {
        event = eventsV1.Event.decode(message.data);
      } catch {
        return;
      }
      if (event.payload?.$case !== 'status') return;
      const { agentId } = event;
      if (event.payload.value.state === AgentState.AGENT_STATE_DELETING) {
        void watchers.unwatch(agentId);
      } else if (!watchers.isWatching(agentId)) {
        // CREATING comes before the workspace exists; a later state starts the watch.
        watchers
          .watchWorkspace(agentId)
          .catch((reason: unknown) =>
            logger.debug({ agentId, err: reason }, 'workspace not watchable yet'),
          );
      }
    },
  });
}

/** Watches the workspaces of agents that exist at start; a missing workspace is logged, not fatal. */
export async function watchAll(
  agentIds: string[],
  watchers: WorkspaceWatchers,
  logger: Logger,
): Promise<void> {
  for (const agentId of agentIds) {
    await watchers
      .watchWorkspace(agentId)
      .catch((error: unknown) =>
        logger.warn({ agentId, err: error }, 'cannot watch the workspace of an agent'),
      );
  }
}
