import { Server, ServerCredentials } from '@grpc/grpc-js';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';

import { readGatewayConfig, type GatewayConfig } from '../config';
import { createLogger, type LogLevel } from '@agenstra/shared';
import { startGateway, type RunningGateway } from '../server';

/** A gateway on a free loopback port, configured like production except for the overrides. */
export async function startTestGateway(overrides: Partial<GatewayConfig>): Promise<RunningGateway> {
  const config: GatewayConfig = {
    ...readGatewayConfig({}),
    host: '127.0.0.1',
    port: 0,
    shutdownGraceMs: 1_000,
    ...overrides,
  };
  return startGateway(
    config,
    createLogger({
      service: 'gateway',
      level: (process.env.TEST_LOG_LEVEL ?? 'silent') as LogLevel,
    }),
  );
}

export interface TestHealthServer {
  address: string;
  health: HealthImplementation;
  stop(): Promise<void>;
}

/**
 * A real grpc-js server that answers grpc.health.v1 Check as a controller would. With `null` it
 * knows no overall status, so a Check for the server as a whole answers NOT_FOUND.
 */
export async function startHealthServer(overall: ServingStatus | null): Promise<TestHealthServer> {
  const server = new Server();
  const health = new HealthImplementation(overall ? { '': overall } : {});
  health.addToServer(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return {
    address: `127.0.0.1:${port}`,
    health,
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

/** A loopback address nothing listens on (a port the OS just handed out and took back). */
export async function unusedAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Sends the path exactly as written (fetch would normalise `..` away before it leaves). */
export function rawGet(
  baseUrl: string,
  rawPath: string,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path: rawPath, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}
