import { LOG_LEVELS } from '../logging/logger.js';
import { ConfigError, env, loadConfig, type ConfigOf, type ConfigSchema } from './config.js';

/** Variables every service reads; a service spreads these into its own schema. */
export const commonServiceSchema = {
  databaseUrl: env.url('DATABASE_URL', {
    default: 'postgres://postgres@127.0.0.1:5432/agenstra',
    protocols: ['postgres:', 'postgresql:'],
  }),
  natsUrl: env.url('NATS_URL', {
    default: 'nats://127.0.0.1:4222',
    protocols: ['nats:', 'tls:', 'ws:', 'wss:'],
  }),
  logLevel: env.oneOf('LOG_LEVEL', LOG_LEVELS, { default: 'info' }),
  grpcHost: env.string('GRPC_HOST', { default: '0.0.0.0' }),
  shutdownGraceMs: env.durationMs('SHUTDOWN_GRACE_MS', { default: 10_000 }),
};

/**
 * Loads a service's configuration at start-up; on any bad variable prints every problem to
 * standard error and exits 1, before anything else has been opened.
 */
export function loadConfigOrExit<S extends ConfigSchema>(
  service: string,
  schema: S,
  source: NodeJS.ProcessEnv = process.env,
): ConfigOf<S> {
  try {
    return loadConfig(schema, source);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${service} cannot start. ${error.message}\n`);
    process.exit(1);
  }
}
