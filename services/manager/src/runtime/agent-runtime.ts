import path from 'node:path';
import { managerV1 } from '@agenstra/proto';
import { loadSecretKeys, SecretBox, type ServiceContext } from '@agenstra/shared';
import { agentService } from '../agents/agent-service.js';
import { Agents } from '../agents/agents.js';
import type { ManagerConfig } from '../config.js';
import { EventPublisher } from '../events/publisher.js';
import { ContainerRuntime } from './container-runtime.js';
import { createDockerClient } from './docker-client.js';
import { DockerRunnerHub } from './runner-hub.js';
import type { RunnerHub } from './runner-protocol.js';

/** What the other capabilities (chat, files, vcs) use of the agent runtime. */
export interface AgentRuntime {
  hub: RunnerHub;
  publisher: EventPublisher;
  managerId: string;
  workspacesDir: string;
  secretBox: SecretBox;
  runtime: ContainerRuntime;
  agents: Agents;
}

/** INTERNAL, for tests only. */
export interface AgentRuntimeTestOptions {
  commandOverride?: string[];
  extraLabels?: Record<string, string>;
}

/**
 * Starts the agents capability inside the manager's prepare(): Docker client, container runtime,
 * runner hub, status publisher, AgentService; re-adopts this manager's containers. On shutdown it
 * detaches and leaves agent containers running, for the next manager to re-adopt.
 */
export async function startAgentRuntime(
  context: Pick<ServiceContext, 'logger' | 'database' | 'nats' | 'server' | 'shutdown'>,
  config: ManagerConfig,
  managerId: string,
  testOptions: AgentRuntimeTestOptions = {},
): Promise<AgentRuntime> {
  const logger = context.logger.child({ component: 'agents' });
  const secretBox = new SecretBox(
    loadSecretKeys({
      configured: config.secretKeys,
      variable: 'MANAGER_SECRET_KEYS',
      developmentKeyFile: path.join(config.stateDir, 'secret-keys'),
      logger,
    }),
  );
  const docker = createDockerClient(config.dockerHost);
  const runtime = new ContainerRuntime({
    docker,
    managerId,
    workspacesDir: config.workspacesDir,
    logger,
    ...testOptions,
  });
  const hub = new DockerRunnerHub(docker, logger);
  const publisher = new EventPublisher(context.nats, managerId);
  const agents = new Agents({
    database: context.database,
    runtime,
    hub,
    publisher,
    secretBox,
    defaults: {
      image: config.agentImage,
      cpuMillis: config.agentDefaultCpuMillis,
      memoryBytes: config.agentDefaultMemoryBytes,
      pidsLimit: config.agentDefaultPidsLimit,
    },
    logger,
  });
  context.server.addService(
    managerV1.AgentServiceService,
    agentService(agents, { allowPlaintextHttp: config.gitAllowPlaintextHttp }, logger),
  );
  context.shutdown.register('agent runtime', async () => agents.close());
  try {
    await agents.adopt();
  } catch (error) {
    // Without an engine the manager still serves; agents report their state once it answers.
    logger.warn({ err: error }, 'could not re-adopt agent containers');
  }
  return {
    hub,
    publisher,
    managerId,
    workspacesDir: config.workspacesDir,
    secretBox,
    runtime,
    agents,
  };
}
