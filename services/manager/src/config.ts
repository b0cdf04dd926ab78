import { commonServiceSchema, env, loadConfigOrExit } from '@agenstra/shared';

export const managerConfigSchema = {
  ...commonServiceSchema,
  grpcPort: env.port('MANAGER_GRPC_PORT', { default: 50052 }),
  /** Unset: the id generated at first start and stored in this manager's database. */
  managerId: env.string('MANAGER_ID', { optional: true }),
  /** Unset: the local socket /var/run/docker.sock. */
  dockerHost: env.url('DOCKER_HOST', {
    optional: true,
    protocols: ['unix:', 'tcp:', 'http:', 'https:'],
  }),
  agentImage: env.string('AGENT_IMAGE', { default: 'agenstra/agent:latest' }),
  /** Host directory holding one workspace directory per agent, bind-mounted at /workspace. */
  workspacesDir: env.string('WORKSPACES_DIR', { default: '/var/lib/agenstra/workspaces' }),
  /** Largest file FileService writes or uploads, in bytes (100 MiB). */
  filesMaxBytes: env.int('FILES_MAX_BYTES', { default: 100 * 1024 * 1024, min: 1 }),
  /** Failed chat logins within LOGIN_FAILURE_WINDOW that lock an agent out for LOGIN_LOCKOUT. */
  loginMaxFailuresPerAgent: env.int('LOGIN_MAX_FAILURES_PER_AGENT', { default: 5, min: 1 }),
  /** The same for one caller address (the controller logs in for many people: higher). */
  loginMaxFailuresPerCaller: env.int('LOGIN_MAX_FAILURES_PER_CALLER', { default: 20, min: 1 }),
  loginFailureWindowMs: env.durationMs('LOGIN_FAILURE_WINDOW', { default: 60_000 }),
  loginLockoutMs: env.durationMs('LOGIN_LOCKOUT', { default: 5 * 60_000 }),
  /** Limits of agent containers whose request leaves them at 0. */
  agentDefaultCpuMillis: env.int('AGENT_DEFAULT_CPU_MILLIS', {
    default: 1000,
    min: 100,
    max: 64000,
  }),
  agentDefaultMemoryBytes: env.int('AGENT_DEFAULT_MEMORY_BYTES', {
    default: 2 * 1024 ** 3,
    min: 64 * 1024 ** 2,
    max: 256 * 1024 ** 3,
  }),
  agentDefaultPidsLimit: env.int('AGENT_DEFAULT_PIDS_LIMIT', { default: 512, min: 64, max: 65536 }),
  /**
   * Keys sealing agent secrets at rest: `<key id>:<base64 of 32 bytes>[,<older>...]`, the first
   * seals. Unset: a development key generated once under MANAGER_STATE_DIR, with a warning.
   */
  secretKeys: env.string('MANAGER_SECRET_KEYS', { optional: true, secret: true }),
  /** The manager's own files (the development secret key). */
  stateDir: env.string('MANAGER_STATE_DIR', { default: '/var/lib/agenstra/manager' }),
  /** Author and committer of VcsService commits whose request names no author. */
  gitDefaultAuthorName: env.string('GIT_DEFAULT_AUTHOR_NAME', { default: 'Agenstra' }),
  gitDefaultAuthorEmail: env.string('GIT_DEFAULT_AUTHOR_EMAIL', { default: 'agenstra@localhost' }),
  /** Accept `http://` repository URLs, whose credentials travel unencrypted (local git servers). */
  gitAllowPlaintextHttp: env.boolean('GIT_ALLOW_PLAINTEXT_HTTP', { default: false }),
};

export const loadManagerConfig = () => loadConfigOrExit('manager', managerConfigSchema);
export type ManagerConfig = ReturnType<typeof loadManagerConfig>;
