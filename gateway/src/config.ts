import { ConfigError, env, loadConfig, LOG_LEVELS, type ConfigProblem } from '@agenstra/shared';
import path from 'node:path';

/** web/dist/browser of this checkout, independent of the working directory. */
export const DEFAULT_WEB_ROOT = path.resolve(__dirname, '..', '..', 'web', 'dist', 'browser');

export const gatewayConfigSchema = {
  host: env.string('GATEWAY_HOST', { default: '0.0.0.0' }),
  port: env.port('GATEWAY_PORT', { default: 8080 }),
  /** Directory of the built console (index.html + hashed assets). */
  webRoot: env.string('WEB_ROOT', { default: DEFAULT_WEB_ROOT }),
  /** `host:port` of the controller's gRPC server. */
  controllerAddress: env.string('CONTROLLER_ADDRESS', { default: '127.0.0.1:50051' }),
  oidcIssuer: env.url('OIDC_ISSUER', { optional: true, protocols: ['https:', 'http:'] }),
  oidcClientId: env.string('OIDC_CLIENT_ID', { optional: true }),
  corsOrigins: env.string('CORS_ORIGINS', { optional: true }),
  shutdownGraceMs: env.durationMs('SHUTDOWN_GRACE_MS', { default: 10_000 }),
  logLevel: env.oneOf('LOG_LEVEL', LOG_LEVELS, { default: 'info' }),
};

export interface GatewayConfig {
  host: string;
  port: number;
  webRoot: string;
  controllerAddress: string;
  oidcIssuer: string | undefined;
  oidcClientId: string | undefined;
  /** Browser origins allowed to call the gateway cross-origin; empty means same origin only. */
  corsOrigins: string[];
  shutdownGraceMs: number;
  logLevel: (typeof LOG_LEVELS)[number];
}

/** Reads the environment once at start; throws one ConfigError naming every bad variable. */
export function readGatewayConfig(source: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const problems: ConfigProblem[] = [];
  let loaded: ReturnType<typeof loadConfig<typeof gatewayConfigSchema>> | undefined;
  try {
    loaded = loadConfig(gatewayConfigSchema, source);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }

  const corsOrigins = (source.CORS_ORIGINS ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '');
  for (const origin of corsOrigins) {
    if (!URL.canParse(origin) || new URL(origin).origin !== origin) {
      problems.push({
        variable: 'CORS_ORIGINS',
        value: source.CORS_ORIGINS,
        expected: `comma-separated origins such as https://console.example.com, not ${JSON.stringify(origin)}`,
      });
    }
  }
  const hasIssuer = Boolean(source.OIDC_ISSUER?.trim());
  const hasClientId = Boolean(source.OIDC_CLIENT_ID?.trim());
  if (hasIssuer !== hasClientId) {
    problems.push({
      variable: hasIssuer ? 'OIDC_CLIENT_ID' : 'OIDC_ISSUER',
      value: undefined,
      expected: 'a value, because OIDC_ISSUER and OIDC_CLIENT_ID are set together or not at all',
    });
  }

  if (problems.length > 0 || !loaded) throw new ConfigError(problems);
  return { ...loaded, webRoot: path.resolve(loaded.webRoot), corsOrigins };
}
