import { promises as fs } from 'node:fs';
import path from 'node:path';
import { managerV1 } from '@agenstra/proto';
import { NotFoundError, type ServiceContext } from '@agenstra/shared';
import { Agent } from '../agents/index.js';
import { EventPublisher } from '../events/publisher.js';
import { FileEvents } from './file-events.js';
import { createFileService, type CallerSubject } from './file-service.js';
import { WorkspaceFiles } from './workspace-files.js';
import { followAgentLifecycle, watchAll } from './watch-agents.js';
import { WorkspaceWatchers } from './workspace-watcher.js';

export { WorkspaceWatchers } from './workspace-watcher.js';
export { WorkspaceFiles } from './workspace-files.js';

export interface FilesOptions {
  managerId: string;
  workspacesDir: string;
  maxFileBytes: number;
  callerSubject?: CallerSubject;
}

/**
 * Adds FileService to the server and watches the workspace of every agent: those in the
 * database now, and later ones as their `.status` events arrive (see watch-agents.ts).
 * `watchers.watchWorkspace(agentId)` / `watchers.unwatch(agentId)` may also be called directly.
 */
export async function startFiles(
  { logger, nats, server, shutdown, database }: ServiceContext,
  options: FilesOptions,
): Promise<{ files: WorkspaceFiles; watchers: WorkspaceWatchers }> {
  const events = new FileEvents(new EventPublisher(nats, options.managerId), logger);
  const watchers = new WorkspaceWatchers(options.workspacesDir, events, logger);
  await fs.mkdir(options.workspacesDir, { recursive: true });
  // Staged uploads do not survive a restart; their clients start again.
  await fs.rm(path.join(path.resolve(options.workspacesDir), '.uploads'), {
    recursive: true,
    force: true,
  });
  const files = new WorkspaceFiles({
    workspacesDir: options.workspacesDir,
    maxFileBytes: options.maxFileBytes,
    events,
    watchers,
    requireAgent: async (agentId) => {
      const found = await database.fork().count(Agent, { id: agentId });
      if (found === 0) throw new NotFoundError(`agent "agents/${agentId}" does not exist`);
    },
  });
  server.addService(
    managerV1.FileServiceService,
    createFileService(files, logger, options.callerSubject),
  );
  const lifecycle = followAgentLifecycle(nats, options.managerId, watchers, logger);
  shutdown.register('workspace watchers and uploads', async () => {
    lifecycle.unsubscribe();
    await watchers.close();
    await files.close();
  });
  // Watching walks whole trees; the manager serves meanwhile rather than wait for it.
  const agents = await database.fork().find(Agent, {}, { fields: ['id'] });
  void watchAll(
    agents.map((agent) => agent.id),
    watchers,
    logger,
  );
  return { files, watchers };
}
