import path from 'node:path';

/**
 * The gateway's settings, read from the environment once at start.
 * TODO(shared): when @agenstra/shared exports its env schema (`env`, `loadConfig`), replace
 * `readGatewayConfig`'s body with a schema; callers and the shape stay the same.
 */
export interface GatewayConfig {
  host: string;
  port: number;
  /** Directory of the built console (index.html + hashed assets). */
  webRoot: string;
  /** `host:port` of the controller's gRPC server. */
  controllerAddress: string;
  oidcIssuer: string | undefined;
  oidcClientId: string | undefined;
  /** Browser origins allowed to call the gateway cross-origin; empty means same origin only. */
  corsOrigins: string[];
  shutdownGraceMs: number;
  logLevel: string;
}

/** web/dist/browser of this checkout, independent of the working directory. */
export const DEFAULT_WEB_ROOT = path.resolve(__dirname, '..', '..', 'web', 'dist', 'browser');

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export class GatewayConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid gateway configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'GatewayConfigError';
  }
}

export function readGatewayConfig(source: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const problems: string[] = [];
  const text = (name: string): string | undefined => source[name]?.trim() || undefined;

  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = text(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < min || value > max) {
      problems.push(`${name}=${JSON.stringify(raw)}: expected an integer from ${min} to ${max}`);
    }
    return value;
  };

  const oidcIssuer = text('OIDC_ISSUER');
  const oidcClientId = text('OIDC_CLIENT_ID');
  if (oidcIssuer !== undefined && !URL.canParse(oidcIssuer)) {
    problems.push(`OIDC_ISSUER=${JSON.stringify(oidcIssuer)}: expected an absolute URL`);
  }
  if ((oidcIssuer === undefined) !== (oidcClientId === undefined)) {
    problems.push('OIDC_ISSUER and OIDC_CLIENT_ID: expected both set or both unset');
  }

  const corsOrigins = (text('CORS_ORIGINS') ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '');
  for (const origin of corsOrigins) {
    if (!URL.canParse(origin) || new URL(origin).origin !== origin) {
      problems.push(
        `CORS_ORIGINS contains ${JSON.stringify(origin)}: expected origins such as https://console.example.com`,
      );
    }
  }

  const logLevel = text('LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    problems.push(
      `LOG_LEVEL=${JSON.stringify(logLevel)}: expected one of ${LOG_LEVELS.join(', ')}`,
    );
  }

  const config: GatewayConfig = {
    host: text('GATEWAY_HOST') ?? '0.0.0.0',
    port: integer('GATEWAY_PORT', 8080, 0, 65535),
    webRoot: path.resolve(text('WEB_ROOT') ?? DEFAULT_WEB_ROOT),
    controllerAddress: text('CONTROLLER_ADDRESS') ?? '127.0.0.1:50051',
    oidcIssuer,
    oidcClientId,
    corsOrigins,
    shutdownGraceMs: integer('SHUTDOWN_GRACE_MS', 10_000, 0, 3_600_000),
    logLevel,
  };
  if (problems.length > 0) throw new GatewayConfigError(problems);
  return config;
}
