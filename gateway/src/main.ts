import { ConfigError, createLogger, Shutdown } from '@agenstra/shared';

import { readGatewayConfig } from './config';
import { startGateway } from './server';

/** Time beyond the request grace period for the shutdown steps themselves. */
const SHUTDOWN_MARGIN_MS = 5_000;

async function main(): Promise<void> {
  const config = readGatewayConfig();
  const logger = createLogger({ service: 'gateway', level: config.logLevel });
  const shutdown = new Shutdown({
    logger,
    deadlineMs: config.shutdownGraceMs + SHUTDOWN_MARGIN_MS,
  });
  shutdown.listen();

  const gateway = await startGateway(config, logger);
  shutdown.register('http server', () => gateway.close());
  logger.info(
    {
      address: gateway.address,
      url: gateway.url,
      webRoot: config.webRoot,
      controllerAddress: config.controllerAddress,
    },
    'listening',
  );
}

main().catch((error: unknown) => {
  const message =
    error instanceof ConfigError ? error.message : `gateway failed to start: ${String(error)}`;
  process.stderr.write(`${message}\n`);
  if (!(error instanceof ConfigError) && error instanceof Error) {
    process.stderr.write(`${error.stack}\n`);
  }
  process.exit(1);
});
