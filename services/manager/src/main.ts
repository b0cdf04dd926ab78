import { managerV1, PROTO_ROOT, protoFilesOf } from '@agenstra/proto';
import { runService } from '@agenstra/shared';
import { serveChat, startChat } from './chat/chat-module.js';
import { loadManagerConfig, managerConfigSchema } from './config.js';
import { startFiles } from './files/index.js';
import { resolveManagerId } from './identity/manager-id.js';
import { managerService } from './identity/manager-service.js';
import { MANAGER_SCHEMA, managerEntities, managerMigrations } from './migrations/index.js';
import { startAgentRuntime } from './runtime/agent-runtime.js';
import { pingDocker } from './runtime/docker-ping.js';
import { startVcs } from './vcs/index.js';

async function main(): Promise<void> {
  const config = loadManagerConfig();
  await runService({
    service: 'manager',
    configSchema: managerConfigSchema,
    config,
    database: { schema: MANAGER_SCHEMA, entities: managerEntities, migrations: managerMigrations },
    proto: { files: protoFilesOf('agenstra.manager.v1'), includeDirs: [PROTO_ROOT] },
    prepare: async (context) => {
      const { logger, database, server } = context;
      const { managerId, source } = await resolveManagerId(config.managerId, database.fork());
      logger.info({ managerId, source }, 'manager identity');
      server.addService(
        managerV1.ManagerServiceService,
        managerService(
          { managerId, agentImage: config.agentImage, dockerHost: config.dockerHost },
          logger,
        ),
      );

      const docker = await pingDocker(config.dockerHost);
      if (docker.ok) {
        logger.info({ docker: docker.endpoint }, 'Docker Engine answers');
      } else {
        logger.warn(
          { docker: docker.endpoint, reason: docker.reason },
          'no Docker Engine answers: agents cannot run until one is available',
        );
      }
      // Agents, their containers and runner attachments; chat, files and vcs take
      // { hub, publisher, managerId, workspacesDir } from `agentRuntime`.
      const agentRuntime = await startAgentRuntime(context, config, managerId);
      const chat = await startChat({
        database,
        nats: context.nats,
        hub: agentRuntime.hub,
        publisher: agentRuntime.publisher,
        logger,
        limits: config,
      });
      serveChat(server, chat);
      context.shutdown.register('chat', () => chat.stop());
      await startFiles(context, {
        managerId,
        workspacesDir: config.workspacesDir,
        maxFileBytes: config.filesMaxBytes,
      });
      startVcs(context, agentRuntime, config);
      return { managerId, dockerAvailable: docker.ok };
    },
  });
}

void main();
