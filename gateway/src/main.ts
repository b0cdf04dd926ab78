import { readGatewayConfig } from './config';
import { createLogger } from './logging';
import { startGateway } from './server';

async function main(): Promise<void> {
  let config;
  try {
    config = readGatewayConfig();
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  }
  const logger = createLogger(config.logLevel);
  const gateway = await startGateway(config, logger);
  logger.info(
    {
      address: gateway.address,
      url: gateway.url,
      webRoot: config.webRoot,
      controllerAddress: config.controllerAddress,
    },
    'listening',
  );

  let stopping = false;
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) {
      logger.warn({ signal }, 'second signal, exiting without waiting for requests');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal, graceMs: config.shutdownGraceMs }, 'shutting down');
    await gateway.close();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', (signal) => void stop(signal));
  process.on('SIGINT', (signal) => void stop(signal));
}

main().catch((error: unknown) => {
  process.stderr.write(`gateway failed to start: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
