import os from 'node:os';
import path from 'node:path';
import { commonServiceSchema, env, loadConfigOrExit } from '@agenstra/shared';

export const controllerConfigSchema = {
  ...commonServiceSchema,
  grpcPort: env.port('CONTROLLER_GRPC_PORT', { default: 50051 }),
  /** Issuer of people's access tokens; unset means only API tokens authenticate. */
  oidcIssuer: env.url('OIDC_ISSUER', { optional: true, protocols: ['https:', 'http:'] }),
  /** The `aud` an access token must carry to be accepted here. */
  oidcAudience: env.string('OIDC_AUDIENCE', { default: 'agenstra-controller' }),
  /** Claim holding the roles, a dotted path for nested claims (Keycloak: realm_access.roles). */
  oidcRolesClaim: env.string('OIDC_ROLES_CLAIM', { default: 'roles' }),
  /** Role name (in the roles claim) that makes a person an admin; everyone else is a user. */
  oidcAdminRole: env.string('OIDC_ADMIN_ROLE', { default: 'admin' }),
  /**
   * Vault keys `<key id>:<base64 of 32 bytes>[,...]`, the current key first. Unset: a
   * development key generated into CONTROLLER_DEVELOPMENT_KEY_FILE, with a warning.
   */
  secretKeys: env.string('CONTROLLER_SECRET_KEYS', { optional: true, secret: true }),
  developmentKeyFile: env.string('CONTROLLER_DEVELOPMENT_KEY_FILE', {
    default: path.join(os.homedir(), '.agenstra', 'controller-secret-keys'),
  }),
  /** Allows clients whose manager connection is plain text; development only. */
  allowPlaintextManagers: env.boolean('CONTROLLER_ALLOW_PLAINTEXT_MANAGERS', { default: false }),
  /** How long the controller waits for a manager to answer when a client is created or updated. */
  managerContactTimeoutMs: env.durationMs('CONTROLLER_MANAGER_CONTACT_TIMEOUT', {
    default: 5000,
  }),
  /** Silence on a session stream after which a heartbeat is sent. */
  sessionHeartbeatIntervalMs: env.durationMs('CONTROLLER_SESSION_HEARTBEAT_INTERVAL', {
    default: 15_000,
  }),
};

export const loadControllerConfig = () => loadConfigOrExit('controller', controllerConfigSchema);
export type ControllerConfig = ReturnType<typeof loadControllerConfig>;
