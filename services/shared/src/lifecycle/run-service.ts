import type { NatsConnection } from 'nats';
import type { Logger } from 'pino';
import {
  describeConfig,
  secretKeysOf,
  type ConfigOf,
  type ConfigSchema,
} from '../config/config.js';
import type { commonServiceSchema } from '../config/service-config.js';
import { openDatabase, type Database, type DatabaseOptions } from '../database/database.js';
import { createGrpcServer, type GrpcServer } from '../grpc/server.js';
import { createLogger } from '../logging/logger.js';
import { closeNats, connectNats, ensureEventStream } from '../nats/nats.js';
import { Shutdown } from './shutdown.js';

/** Extra time beyond the drain grace for closing NATS and the database before exiting anyway. */
const CLOSE_MARGIN_MS = 10_000;

export interface ServiceContext {
  logger: Logger;
  database: Database;
  nats: NatsConnection;
  server: GrpcServer;
  shutdown: Shutdown;
}

type ServiceConfig = ConfigOf<typeof commonServiceSchema> & { grpcPort: number };

export interface RunServiceOptions<S extends ConfigSchema> {
  /** Short name used in logs and as the NATS connection name, e.g. `manager`. */
  service: string;
  configSchema: S;
  config: ConfigOf<S> & ServiceConfig;
  database: Pick<DatabaseOptions, 'schema' | 'entities' | 'migrations'>;
  /** The service's own .proto files (served by reflection) and the roots they import from. */
  proto: { files: string[]; includeDirs: string[] };
  /**
   * The service's own start-up: add gRPC implementations, run checks. Runs after the database
   * and NATS are ready and before the server listens; what it returns is added to the
   * "listening" log line.
   */
  prepare?: (context: ServiceContext) => Promise<Record<string, unknown> | void>;
}

/**
 * Starts a service in the order every service follows: logger → database with migrations →
 * NATS and the event stream → gRPC server with health and reflection → "listening". Shutdown
 * hooks close them in reverse. A failure during start-up closes what was opened and exits 1.
 */
export async function runService<S extends ConfigSchema>(
  options: RunServiceOptions<S>,
): Promise<ServiceContext> {
  const { service, config } = options;
  const logger = createLogger({
    service,
    level: config.logLevel,
    secretKeys: secretKeysOf(options.configSchema),
  });
  logger.info({ config: describeConfig(options.configSchema, config) }, 'starting');
  const shutdown = new Shutdown({ logger, deadlineMs: config.shutdownGraceMs + CLOSE_MARGIN_MS });
  shutdown.listen();

  try {
    const database = await openDatabase({ ...options.database, url: config.databaseUrl, logger });
    shutdown.register('database', () => database.close());

    const nats = await connectNats({ url: config.natsUrl, name: `agenstra-${service}`, logger });
    shutdown.register('NATS', () => closeNats(nats));
    await ensureEventStream(nats);

    const server = createGrpcServer({
      host: config.grpcHost,
      port: config.grpcPort,
      logger,
      protoFiles: options.proto.files,
      includeDirs: options.proto.includeDirs,
    });
    const context: ServiceContext = { logger, database, nats, server, shutdown };
    const details = (await options.prepare?.(context)) ?? {};

    shutdown.register('gRPC server', () => server.drain(config.shutdownGraceMs));
    const { address } = await server.start();
    logger.info({ address, services: server.protoServiceNames, ...details }, 'listening');
    return context;
  } catch (error) {
    logger.fatal({ err: error }, 'start-up failed');
    await shutdown.run('start-up failed');
    process.exit(1);
  }
}
