/**
 * A process for the shutdown tests: a server whose Wait call logs "call started" and completes
 * only when the process receives SIGUSR2, so the test decides when the in-flight call ends.
 */
import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { createGrpcServer } from '../grpc/server.js';
import { Shutdown } from '../lifecycle/shutdown.js';
import { createLogger } from '../logging/logger.js';
import { slowServiceDefinition } from './slow-service.js';

async function main() {
  const graceMs = Number(process.env.SHUTDOWN_GRACE_MS ?? 30_000);
  const logger = createLogger({ service: 'drain-fixture' });
  const server = createGrpcServer({ host: '127.0.0.1', port: 0, logger });
  server.addService(slowServiceDefinition, {
    wait: (_call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
      logger.info('call started');
      process.once('SIGUSR2', () => callback(null, Buffer.from('done')));
    },
  });
  const shutdown = new Shutdown({ logger, deadlineMs: graceMs + 5_000 });
  shutdown.register('gRPC server', () => server.drain(graceMs));
  shutdown.listen();
  const { address } = await server.start();
  logger.info({ address }, 'listening');
}

void main();
