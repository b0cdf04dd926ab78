import type { GatewayConfig } from '../config';
import { isReadMethod, sendJson, type Route } from '../route';

/** What the console reads from `/config.json` before it renders (web/src/app/core/config). */
export interface ConsoleRuntimeConfig {
  apiBasePath: string;
  oidc: { issuer: string; clientId: string } | null;
}

export function consoleRuntimeConfig(config: GatewayConfig): ConsoleRuntimeConfig {
  return {
    // gRPC-web is served by this gateway on the console's own origin.
    apiBasePath: '/',
    oidc:
      config.oidcIssuer && config.oidcClientId
        ? { issuer: config.oidcIssuer, clientId: config.oidcClientId }
        : null,
  };
}

export function configJsonRoute(config: GatewayConfig): Route {
  const body = consoleRuntimeConfig(config);
  return {
    name: 'config.json',
    matches: (request, url) => isReadMethod(request) && url.pathname === '/config.json',
    handle: (request, response) => sendJson(request, response, 200, body),
  };
}
