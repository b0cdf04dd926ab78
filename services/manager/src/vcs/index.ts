import { managerV1 } from '@agenstra/proto';
import { FailedPreconditionError, NotFoundError, type ServiceContext } from '@agenstra/shared';
import { Agent } from '../agents/index.js';
import type { AgentRuntime } from '../runtime/agent-runtime.js';
import { ContainerSessions } from './container-sessions.js';
import { ContainerExec } from './git-exec.js';
import { Vcs, type VcsTarget } from './vcs.js';
import { createVcsService } from './vcs-service.js';

export { cloneRepository, type CloneRequest } from './clone.js';
export { ContainerExec } from './git-exec.js';
export { ContainerSessions, type CommandRunner } from './container-sessions.js';
export type { RepositoryCredentials } from './credentials.js';
export { Vcs, type VcsTarget } from './vcs.js';

export interface VcsConfig {
  gitDefaultAuthorName: string;
  gitDefaultAuthorEmail: string;
}

/** Adds VcsService to the server; git runs in each agent's container. */
export function startVcs(
  {
    database,
    server,
    logger,
    shutdown,
  }: Pick<ServiceContext, 'database' | 'server' | 'logger' | 'shutdown'>,
  agentRuntime: Pick<AgentRuntime, 'runtime' | 'publisher' | 'agents'>,
  config: VcsConfig,
): Vcs {
  const resolve = async (agentId: string): Promise<VcsTarget> => {
    const row = await database.fork().findOne(Agent, { id: agentId });
    if (!row) throw new NotFoundError(`agent "agents/${agentId}" does not exist`);
    if (!row.containerId) {
      throw new FailedPreconditionError(
        `agent "agents/${agentId}" has no container; start the agent`,
      );
    }
    return {
      containerId: row.containerId,
      credentials: agentRuntime.agents.repositoryCredentialsOf(row),
    };
  };
  const docker = agentRuntime.runtime.docker;
  const sessions = new ContainerSessions(
    docker,
    new ContainerExec(docker),
    logger.child({ component: 'vcs' }),
  );
  shutdown.register('vcs git helpers', async () => sessions.close());
  const vcs = new Vcs({
    exec: sessions,
    resolve,
    publisher: agentRuntime.publisher,
    defaultAuthor: { name: config.gitDefaultAuthorName, email: config.gitDefaultAuthorEmail },
    logger: logger.child({ component: 'vcs' }),
  });
  server.addService(managerV1.VcsServiceService, createVcsService(vcs, logger));
  return vcs;
}
