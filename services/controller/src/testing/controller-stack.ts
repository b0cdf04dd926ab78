import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  credentials,
  Metadata,
  type CallOptions,
  type Client as GrpcClient,
  type ServiceError,
} from '@grpc/grpc-js';
import { controllerV1 } from '@agenstra/proto';
import { formatSecretKeys, generateSecretKey, type SecretKey } from '@agenstra/shared';
import {
  startService,
  stopService,
  throwawayDatabase,
  type RunningService,
} from '@agenstra/shared/testing';
import pg from 'pg';
import { startOidcIssuer, type OidcIssuer } from './oidc-issuer.js';

const CONTROLLER_MAIN = path.resolve(__dirname, '..', 'main.js');
const CLI = path.resolve(__dirname, '..', 'cli.js');
const MANAGER_MAIN = path.resolve(__dirname, '..', '..', '..', 'manager', 'dist', 'main.js');

export const AUDIENCE = 'urn:agenstra:controller';
export const MANAGER_ID = 'manager-under-test';

/** People and machines of the test issuer; their client id is their subject. */
export const ISSUER_CLIENTS = [
  { clientId: 'alice', clientSecret: 'alice-secret-0123456789abcdef0123', roles: ['user'] },
  { clientId: 'bob', clientSecret: 'bob-secret-0123456789abcdef012345', roles: ['user'] },
  { clientId: 'root', clientSecret: 'root-secret-0123456789abcdef01234', roles: ['admin'] },
  // The controller's own identity towards a manager with OIDC client-credentials auth.
  { clientId: 'to-manager', clientSecret: 'to-manager-secret-0123456789abcd', roles: [] },
];

/** A unary call of a ts-proto grpc-js client, as a promise. */
type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => unknown;

export interface ControllerStack {
  issuer: OidcIssuer;
  manager: RunningService;
  controller: RunningService;
  /** `127.0.0.1:port` of the real manager. */
  managerEndpoint: string;
  databaseUrl: string;
  secretKey: SecretKey;
  clients: controllerV1.ClientServiceClient;
  apiTokens: controllerV1.ApiTokenServiceClient;
  /** Calls `client.method` with `authorization: Bearer <token>` (none when token is undefined). */
  call<Req, Res>(
    client: GrpcClient,
    method: UnaryMethod<Req, Res>,
    request: Req,
    token?: string,
  ): Promise<Res>;
  /** An access token from the issuer for one of ISSUER_CLIENTS. */
  tokenOf(subject: string): Promise<string>;
  /** Runs the controller CLI with the stack's environment. */
  cli(
    args: string[],
    extraEnv?: NodeJS.ProcessEnv,
  ): { status: number | null; stdout: string; stderr: string };
  /** Runs SQL against the controller's database. */
  query<T extends pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<T[]>;
  stop(): Promise<void>;
}

/** A real OIDC issuer, a real manager and a real controller, each on a free loopback port. */
export async function startControllerStack(): Promise<ControllerStack> {
  const managerDatabase = throwawayDatabase('agenstra_controller_test_manager');
  const controllerDatabase = throwawayDatabase('agenstra_controller_test');
  const workspaces = fs.mkdtempSync(path.join(os.tmpdir(), 'agenstra-controller-test-'));
  const secretKey = generateSecretKey('test-key-1');
  const issuer = await startOidcIssuer(ISSUER_CLIENTS, AUDIENCE);
  const manager = await startService(MANAGER_MAIN, {
    DATABASE_URL: managerDatabase.url,
    MANAGER_GRPC_PORT: '0',
    GRPC_HOST: '127.0.0.1',
    MANAGER_ID,
    WORKSPACES_DIR: workspaces,
  });
  const controllerEnv = {
    DATABASE_URL: controllerDatabase.url,
    CONTROLLER_GRPC_PORT: '0',
    GRPC_HOST: '127.0.0.1',
    OIDC_ISSUER: issuer.issuer,
    OIDC_AUDIENCE: AUDIENCE,
    CONTROLLER_SECRET_KEYS: formatSecretKeys([secretKey]),
    CONTROLLER_ALLOW_PLAINTEXT_MANAGERS: 'true',
    CONTROLLER_MANAGER_CONTACT_TIMEOUT: '3s',
  };
  const controller = await startService(CONTROLLER_MAIN, controllerEnv);
  const address = `127.0.0.1:${controller.port}`;
  const clients = new controllerV1.ClientServiceClient(address, credentials.createInsecure());
  const apiTokens = new controllerV1.ApiTokenServiceClient(address, credentials.createInsecure());
  const pool = new pg.Pool({ connectionString: controllerDatabase.url, max: 2 });

  return {
    issuer,
    manager,
    controller,
    managerEndpoint: `127.0.0.1:${manager.port}`,
    databaseUrl: controllerDatabase.url,
    secretKey,
    clients,
    apiTokens,
    call<Req, Res>(
      client: GrpcClient,
      method: UnaryMethod<Req, Res>,
      request: Req,
      token?: string,
    ) {
      const metadata = new Metadata();
      if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
      return new Promise<Res>((resolve, reject) =>
        method.call(client, request, metadata, {}, (error, response) =>
          error ? reject(error) : resolve(response),
        ),
      );
    },
    tokenOf: (subject) => issuer.accessToken(subject),
    cli(args, extraEnv = {}) {
      const result = spawnSync(process.execPath, [CLI, ...args], {
        env: { ...process.env, ...controllerEnv, ...extraEnv },
        encoding: 'utf8',
      });
      return { status: result.status, stdout: result.stdout, stderr: result.stderr };
    },
    async query<T extends pg.QueryResultRow>(sql: string, values: unknown[] = []) {
      return (await pool.query<T>(sql, values)).rows;
    },
    async stop() {
      clients.close();
      apiTokens.close();
      await pool.end();
      await stopService(controller);
      await stopService(manager);
      await issuer.close();
      await controllerDatabase.drop();
      await managerDatabase.drop();
      fs.rmSync(workspaces, { recursive: true, force: true });
    },
  };
}

/** The gRPC status code a call failed with, and its message. */
export async function failureOf(
  promise: Promise<unknown>,
): Promise<{ code: number; details: string }> {
  try {
    await promise;
  } catch (error) {
    const { code, details } = error as ServiceError;
    return { code, details };
  }
  throw new Error('the call succeeded, but a failure was expected');
}
