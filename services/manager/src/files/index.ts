import { promises as fs } from 'node:fs';
import path from 'node:path';
import { managerV1 } from '@agenstra/proto';
import type { ServiceContext } from '@agenstra/shared';
import { EventPublisher } from '../events/publisher.js';
import { FileEvents } from './file-events.js';
import { createFileService, type CallerSubject } from './file-service.js';
import { WorkspaceFiles } from './workspace-files.js';
import { WorkspaceWatchers } from './workspace-watcher.js';

export { WorkspaceWatchers } from './workspace-watcher.js';
export { WorkspaceFiles } from './workspace-files.js';

export interface FilesOptions {
  managerId: string;
  workspacesDir: string;
  maxFileBytes: number;
  /** Throws NotFoundError for an unknown agent; defaults to "its workspace directory exists". */
  requireAgent?: (agentId: string) => Promise<void>;
  callerSubject?: CallerSubject;
}

/**
 * Adds FileService to the server and returns the workspace watchers. The agent runtime calls
 * `watchers.watchWorkspace(agentId)` once an agent's workspace exists (at create and for every
 * agent found at start) and `watchers.unwatch(agentId)` before it removes a workspace.
 */
export async function startFiles(
  { logger, nats, server, shutdown }: ServiceContext,
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
    requireAgent: options.requireAgent,
  });
  server.addService(
    managerV1.FileServiceService,
    createFileService(files, logger, options.callerSubject),
  );
  shutdown.register('workspace watchers and uploads', async () => {
    await watchers.close();
    await files.close();
  });
  return { files, watchers };
}
