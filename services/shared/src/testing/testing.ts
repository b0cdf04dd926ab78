import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dropDatabase } from '../database/database.js';

export const DEFAULT_TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** A database URL naming a database that does not exist yet; `drop()` removes it afterwards. */
export function throwawayDatabase(prefix = 'agenstra_test'): {
  url: string;
  drop: () => Promise<void>;
} {
  const url = new URL(process.env.DATABASE_URL ?? DEFAULT_TEST_DATABASE_URL);
  url.pathname = `/${prefix}_${randomBytes(6).toString('hex')}`;
  const text = url.toString();
  return { url: text, drop: () => dropDatabase(text) };
}

export interface RunningService {
  child: ChildProcess;
  /** `host:port` from the service's "listening" log line. */
  address: string;
  port: number;
  /** Everything the process wrote so far, standard output and error interleaved. */
  output: () => string;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
}

/** Starts `node script` and resolves once it logs "listening"; rejects if it exits first. */
export function startService(script: string, env: NodeJS.ProcessEnv): Promise<RunningService> {
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      for (const line of output.split('\n')) {
        const entry = parseJson(line);
        if (entry?.msg === 'listening' && typeof entry.address === 'string') {
          child.stdout?.off('data', onData);
          child.stdout?.on('data', (more: Buffer) => (output += more.toString()));
          const port = Number(entry.address.split(':').pop());
          resolve({ child, address: entry.address, port, output: () => output, exited });
          return;
        }
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    void exited.then((code) =>
      reject(new Error(`${script} exited with ${code} before listening:\n${output}`)),
    );
  });
}

function parseJson(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return value !== null && typeof value === 'object'
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

export { checkHealth, listServices } from './grpc-clients.js';

/** The first JSON log line of the service whose `msg` is `message`. */
export function logEntry(
  service: RunningService,
  message: string,
): Record<string, unknown> | undefined {
  return service
    .output()
    .split('\n')
    .map(parseJson)
    .find((entry) => entry?.msg === message);
}

/** Sends SIGTERM and resolves with the exit code. */
export function stopService(service: RunningService): Promise<number | null> {
  if (service.child.exitCode === null) service.child.kill('SIGTERM');
  return service.exited;
}
export { snapshotMigratedSchema, type MigratedSchema } from './migrated-schema.js';
