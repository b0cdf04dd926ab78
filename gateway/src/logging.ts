import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * JSON logs on stdout. TODO(shared): switch to @agenstra/shared's logger factory (with its
 * secret redaction) once it is exported; the gateway logs no secrets today.
 */
export function createLogger(level: string): Logger {
  return pino({ name: 'gateway', level });
}
