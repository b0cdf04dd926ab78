import { PROTO_ROOT, protoFilesOf } from '@agenstra/proto';
import { loadOrCreateInstanceId, runService } from '@agenstra/shared';
import { controllerConfigSchema, loadControllerConfig } from './config.js';
import { ControllerInstance } from './identity/controller-instance.entity.js';
import { CONTROLLER_SCHEMA, controllerEntities, controllerMigrations } from './migrations/index.js';

async function main(): Promise<void> {
  const config = loadControllerConfig();
  await runService({
    service: 'controller',
    configSchema: controllerConfigSchema,
    config,
    database: {
      schema: CONTROLLER_SCHEMA,
      entities: controllerEntities,
      migrations: controllerMigrations,
    },
    proto: { files: protoFilesOf('agenstra.controller.v1'), includeDirs: [PROTO_ROOT] },
    prepare: async ({ logger, database }) => {
      const { id: controllerId, created } = await loadOrCreateInstanceId(
        database.fork(),
        ControllerInstance,
      );
      logger.info({ controllerId, created }, 'controller identity');
      // Business services (clients, agents, files, vcs, sessions, provisioning) are added here
      // by their issues; until then their methods answer UNIMPLEMENTED.
      return { controllerId };
    },
  });
}

void main();
