import type { Logger } from '@agenstra/shared';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { GatewayConfig } from './config';
import { applyCors } from './cors';
import { healthzRoute } from './health/healthz';
import { sendText, type Route } from './route';
import { configJsonRoute } from './runtime-config/config-json';
import { staticSiteRoute } from './static/static-site';

export interface RunningGateway {
  /** `host:port` the gateway listens on (the real port when 0 was asked for). */
  address: string;
  /** Base URL for clients on this machine, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /**
   * Stops accepting, lets in-flight requests finish for up to `graceMs`, then cuts the rest;
   * `forced` says whether it had to.
   */
  close(graceMs?: number): Promise<{ forced: boolean }>;
}

export function gatewayRoutes(config: GatewayConfig): Route[] {
  return [
    healthzRoute(config),
    configJsonRoute(config),
    // Issue 6 adds the gRPC-web bridge here: POST /agenstra.<package>.<Service>/<Method>.
    staticSiteRoute(config.webRoot),
  ];
}

export async function startGateway(config: GatewayConfig, logger: Logger): Promise<RunningGateway> {
  const routes = gatewayRoutes(config);
  const corsOrigins = new Set(config.corsOrigins);

  const inFlight = new Set<ServerResponse>();
  let closing = false;
  const server = createServer((request, response) => {
    inFlight.add(response);
    response.on('close', () => inFlight.delete(response));
    if (closing) response.shouldKeepAlive = false;
    void handleRequest(routes, corsOrigins, logger, request, response);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  const { port } = server.address() as AddressInfo;
  const address = `${config.host}:${port}`;
  const localHost = ['0.0.0.0', '::'].includes(config.host) ? '127.0.0.1' : config.host;
  return {
    address,
    url: `http://${localHost.includes(':') ? `[${localHost}]` : localHost}:${port}`,
    close: (graceMs = config.shutdownGraceMs) => {
      // Responses still being prepared end their connection once sent, so a keep-alive
      // connection does not hold the server open after its last request.
      closing = true;
      for (const response of inFlight) {
        if (!response.headersSent) response.shouldKeepAlive = false;
      }
      return closeServer(server, graceMs);
    },
  };
}

async function handleRequest(
  routes: Route[],
  corsOrigins: ReadonlySet<string>,
  logger: Logger,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  response.on('finish', () =>
    logger.debug(
      { method: request.method, path: request.url, status: response.statusCode },
      'request',
    ),
  );
  try {
    if (applyCors(corsOrigins, request, response)) return;
    const url = new URL(request.url ?? '/', 'http://gateway.invalid');
    const route = routes.find((candidate) => candidate.matches(request, url));
    if (!route) {
      response.setHeader('Allow', 'GET, HEAD');
      return sendText(response, 405, 'Method not allowed\n');
    }
    await route.handle(request, response, url);
  } catch (error) {
    logger.error({ err: error, method: request.method, path: request.url }, 'request failed');
    if (!response.headersSent) sendText(response, 500, 'Internal error\n');
    else response.destroy();
  }
}

function closeServer(server: Server, graceMs: number): Promise<{ forced: boolean }> {
  return new Promise((resolve, reject) => {
    let forced = false;
    const cutOff = setTimeout(() => {
      forced = true;
      server.closeAllConnections();
    }, graceMs);
    server.close((error) => {
      clearTimeout(cutOff);
      if (error) reject(error);
      else resolve({ forced });
    });
    // Idle keep-alive connections would otherwise hold the server open until they time out.
    server.closeIdleConnections();
  });
}
