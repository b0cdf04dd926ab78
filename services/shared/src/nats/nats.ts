import { connect, nanos, type NatsConnection, type StreamInfo } from 'nats';
import type { Logger } from 'pino';

/** The JetStream stream holding every Agenstra event, for replay and de-duplication. */
export const EVENT_STREAM = 'AGENSTRA';
export const EVENT_SUBJECTS = 'agenstra.v1.>';
/** Publishes with the same Nats-Msg-Id inside this window are stored once. */
export const DEFAULT_DUPLICATE_WINDOW_MS = 2 * 60_000;
/** PostgreSQL holds the history; the stream only needs to cover reconnects and slow consumers. */
export const DEFAULT_EVENT_MAX_AGE_MS = 7 * 24 * 3_600_000;

export interface NatsOptions {
  url: string;
  /** Shown by the NATS server for this connection, e.g. `agenstra-manager`. */
  name: string;
  logger: Logger;
}

export async function connectNats(options: NatsOptions): Promise<NatsConnection> {
  const connection = await connect({
    servers: options.url,
    name: options.name,
    maxReconnectAttempts: -1,
  });
  void logStatusChanges(connection, options.logger);
  return connection;
}

async function logStatusChanges(connection: NatsConnection, logger: Logger): Promise<void> {
  for await (const change of connection.status()) {
    if (change.type === 'pingTimer' || change.type === 'reconnecting') continue;
    logger.info({ nats: change.type, data: String(change.data) }, 'NATS connection status changed');
  }
}

export interface EventStreamOptions {
  /** Overrides for tests that must not touch the real stream. */
  name?: string;
  subjects?: string[];
  duplicateWindowMs?: number;
  maxAgeMs?: number;
}

/** Creates the AGENSTRA stream over `agenstra.v1.>`, or brings an existing one's settings up to date. */
export async function ensureEventStream(
  connection: NatsConnection,
  options: EventStreamOptions = {},
): Promise<StreamInfo> {
  const manager = await connection.jetstreamManager();
  const name = options.name ?? EVENT_STREAM;
  const settings = {
    subjects: options.subjects ?? [EVENT_SUBJECTS],
    duplicate_window: nanos(options.duplicateWindowMs ?? DEFAULT_DUPLICATE_WINDOW_MS),
    max_age: nanos(options.maxAgeMs ?? DEFAULT_EVENT_MAX_AGE_MS),
  };
  try {
    await manager.streams.info(name);
    return await manager.streams.update(name, settings);
  } catch (error) {
    if (!isStreamNotFound(error)) throw error;
  }
  try {
    return await manager.streams.add({ name, ...settings });
  } catch (error) {
    // Another service created it at the same moment; the settings are the same.
    if (/already in use/i.test(String((error as Error).message))) {
      return manager.streams.info(name);
    }
    throw error;
  }
}

function isStreamNotFound(error: unknown): boolean {
  const apiError = (error as { api_error?: { err_code?: number } }).api_error;
  return apiError?.err_code === 10059 || /stream not found/i.test(String((error as Error).message));
}

/** Flushes pending publishes and closes; for the shutdown sequence. */
export async function closeNats(connection: NatsConnection): Promise<void> {
  if (connection.isClosed()) return;
  await connection.drain();
}
