import fs from 'node:fs/promises';
import path from 'node:path';
import { eventsV1, managerV1 } from '@agenstra/proto';
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  UnavailableError,
  type Database,
  type SecretBox,
} from '@agenstra/shared';
import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { EventPublisher } from '../events/publisher.js';
import {
  ContainerRuntime,
  type ContainerChange,
  type ContainerObservation,
  type ContainerSpec,
} from '../runtime/container-runtime.js';
import { isNotFound } from '../runtime/docker-client.js';
import { cloneRepository } from '../vcs/clone.js';
import type { RepositoryCredentials } from '../vcs/credentials.js';
import { ContainerExec } from '../vcs/git-exec.js';
import type { DockerRunnerHub } from '../runtime/runner-hub.js';
import { Agent, type RepositoryCredentialsKind } from './agent.entity.js';
import { generateAgentPassword, hashAgentPassword } from './agent-password.js';
import type { MutableField } from './agent-validation.js';

const AgentState = eventsV1.AgentState;
const AgentType = managerV1.AgentType;

/** AGENSTRA_AGENT_TYPE values the runner understands (deploy/agent-image/runner/PROTOCOL.md). */
const RUNNER_AGENT_TYPES: Record<number, string> = {
  [AgentType.AGENT_TYPE_ECHO]: 'echo',
  [AgentType.AGENT_TYPE_CURSOR]: 'cursor',
  [AgentType.AGENT_TYPE_CLAUDE_CODE]: 'claude-code',
  [AgentType.AGENT_TYPE_OPENCODE]: 'opencode',
  [AgentType.AGENT_TYPE_CODEX]: 'codex',
};

const CREDENTIALS_KINDS: Record<string, RepositoryCredentialsKind> = {
  httpsToken: 'https_token',
  usernamePassword: 'username_password',
  sshKey: 'ssh_key',
};

export interface AgentDefaults {
  image: string;
  cpuMillis: number;
  memoryBytes: number;
  pidsLimit: number;
}

export interface AgentsOptions {
  database: Database;
  runtime: ContainerRuntime;
  hub: DockerRunnerHub;
  publisher: EventPublisher;
  secretBox: SecretBox;
  defaults: AgentDefaults;
  logger: Logger;
}

/** A validated CreateAgent request. */
export interface NewAgent {
  agentId: string;
  displayName: string;
  type: managerV1.AgentType;
  image: string;
  resources: managerV1.AgentResources | undefined;
  repository: managerV1.Repository | undefined;
  model: string;
  environment: Record<string, string>;
  secretEnvironment: Record<string, string>;
}

export interface AgentPage {
  agents: managerV1.Agent[];
  nextPageToken: string;
}

/**
 * The agents capability: rows in `manager.agent`, their containers and workspaces, and their
 * `.status` events. The state of an agent is always read from the engine.
 */
export class Agents {
  private readonly lastPublished = new Map<string, eventsV1.AgentState>();
  private stopWatching: (() => void) | undefined;

  constructor(private readonly options: AgentsOptions) {}

  private get runtime() {
    return this.options.runtime;
  }

  /**
   * Re-adopts this manager's containers (by label) after a start: attaches to running ones,
   * records rows whose container vanished as missing, removes containers without a row, and
   * from then on follows the engine's events.
   */
  async adopt(): Promise<void> {
    this.stopWatching = this.runtime.watch((agentId, containerId, change) => {
      void this.onContainerChange(agentId, containerId, change).catch((error: unknown) =>
        this.options.logger.warn({ agentId, err: error }, 'could not follow a container change'),
      );
    });
    const em = this.options.database.fork();
    const rows = new Map((await em.find(Agent, {})).map((row) => [row.id, row]));
    const containers = await this.runtime.listManaged();
    const present = new Set(containers.map((container) => container.containerId));
    for (const container of containers) {
      const row = rows.get(container.agentId);
      const recordedElsewhere =
        row?.containerId &&
        row.containerId !== container.containerId &&
        present.has(row.containerId);
      if (!row || recordedElsewhere) {
        this.options.logger.warn(
          { agentId: container.agentId, containerId: container.containerId },
          'removing a container that belongs to no agent of this manager',
        );
        await this.runtime.remove(container.containerId);
        continue;
      }
      if (row.containerId !== container.containerId) {
        // Created just before a crash, id never recorded: it is this agent's container.
        row.containerId = container.containerId;
        await em.flush();
      }
      if (container.running) await this.options.hub.attach(row.id, container.containerId);
    }
    for (const row of rows.values()) {
      const observation = await this.runtime.observe(row.containerId, row.desiredState);
      this.publishState(row.id, observation);
    }
  }

  /** Detaches from runners and the engine's events; containers keep running for the next manager. */
  close(): void {
    this.stopWatching?.();
    this.options.hub.detachAll();
  }

  /**
   * Creates the row, the workspace and the container, and returns once the engine runs it.
   *
   * The id is claimed by inserting the row before anything else is touched, so a taken id never
   * reaches another agent's container or workspace. Independent steps overlap: the password is
   * hashed while the row, workspace and container are made; a fresh workspace gets its git
   * repository while the container is created; the hub attaches to the created container before it
   * starts (the runner's first output cannot be missed; hello waits in its stdin) while the
   * container id and the hash are written.
   */
  async create(input: NewAgent): Promise<{ agent: managerV1.Agent; password: string }> {
    const em = this.options.database.fork();
    const agentId = input.agentId || randomUUID();
    const password = generateAgentPassword();
    const hashing = hashAgentPassword(password);
    // Awaited below; a create refused before that must not leave an unhandled rejection.
    hashing.catch(() => undefined);
    const row = Object.assign(new Agent(), {
      id: agentId,
      displayName: input.displayName,
      type: input.type,
      image: input.image || this.options.defaults.image,
      cpuMillis: input.resources?.cpuMillis || this.options.defaults.cpuMillis,
      memoryBytes: String(
        Number(input.resources?.memoryBytes ?? 0) || this.options.defaults.memoryBytes,
      ),
      pidsLimit: input.resources?.pidsLimit || this.options.defaults.pidsLimit,
      model: input.model,
      environment: input.environment,
      // Until the hash is written with the container id: matches no password (not a scrypt hash),
      // and nobody holds the password before CreateAgent returns it.
      passwordHash: '',
      desiredState: 'running',
      createTime: new Date(),
      updateTime: new Date(),
    });
    this.setSecretEnvironment(row, input.secretEnvironment);
    this.setRepository(row, input.repository);
    try {
      // One statement, no transaction around it: this insert is on the path of every create.
      await em.insert(Agent, row);
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) {
        throw new AlreadyExistsError(`agent "agents/${agentId}" already exists`);
      }
      throw error;
    }
    this.publishState(agentId, { state: AgentState.AGENT_STATE_CREATING, reason: '' });

    const workspaceExisted = await exists(this.runtime.workspaceOf(agentId));
    let containerId: string | undefined;
    try {
      await this.runtime.prepareWorkspace(agentId);
      await allSucceeded([
        this.runtime.create(this.specOf(row)).then((id) => (containerId = id)),
        !workspaceExisted && !row.repositoryUrl && this.runtime.initFreshWorkspace(agentId),
      ]);
      const created = containerId!;
      await allSucceeded([
        hashing.then((hash) => {
          row.passwordHash = hash;
          row.containerId = created;
          return em.nativeUpdate(
            Agent,
            { id: agentId },
            { passwordHash: hash, containerId: created },
          );
        }),
        this.options.hub.attach(agentId, created).then(() => this.runtime.start(created)),
      ]);
      await this.initRepository(row, created);
    } catch (error) {
      await this.undoCreate(em, row, containerId, !workspaceExisted);
      this.publishState(agentId, { state: AgentState.AGENT_STATE_FAILED, reason: describe(error) });
      this.lastPublished.delete(agentId);
      throw asDomainError(error, row.image);
    }
    return { agent: await this.view(row), password };
  }

  private async undoCreate(
    em: EntityManager,
    row: Agent,
    containerId: string | undefined,
    removeWorkspace: boolean,
  ): Promise<void> {
    const steps: Array<[string, () => Promise<unknown>]> = [
      ['container', async () => containerId && (await this.runtime.remove(containerId))],
      ['row', () => em.nativeDelete(Agent, { id: row.id })],
      ['workspace', async () => removeWorkspace && (await this.runtime.removeWorkspace(row.id))],
    ];
    for (const [what, undo] of steps) {
      try {
        await undo();
      } catch (error) {
        this.options.logger.error(
          { agentId: row.id, err: error },
          `could not remove the ${what} of a failed agent`,
        );
      }
    }
    this.options.hub.detach(row.id);
  }

  /**
   * In the running container, because the agent controls a workspace that already existed: the
   * repository of an agent that has one is cloned here (issue 4); a kept workspace without `.git`
   * becomes an empty git repository. A fresh workspace was initialised before the start.
   */
  /**
   * Gives the workspace its repository once the container runs: a clone of the agent's remote
   * (git inside the container, credentials only for that command), or an empty repository for a
   * kept workspace without one. A fresh workspace without a remote was initialised on the host
   * before the agent ever ran.
   */
  private async initRepository(row: Agent, containerId: string): Promise<void> {
    if (row.repositoryUrl) {
      await cloneRepository(new ContainerExec(this.runtime.docker), containerId, {
        url: row.repositoryUrl,
        branch: row.repositoryBranch ?? '',
        credentials: this.repositoryCredentialsOf(row),
      });
      return;
    }
    if (await exists(path.join(this.runtime.workspaceOf(row.id), '.git'))) return;
    const result = await this.runtime.exec(containerId, [
      'git',
      '-c',
      'init.defaultBranch=main',
      'init',
      '-q',
      '/workspace',
    ]);
    if (result.exitCode !== 0) {
      throw new Error(
        `git init in the workspace failed (exit ${result.exitCode}): ${result.output.trim()}`,
      );
    }
  }

  /** The agent's repository credentials, opened from their sealed column; undefined when none. */
  repositoryCredentialsOf(row: Agent): RepositoryCredentials | undefined {
    if (!row.repositoryCredentials || !row.repositoryCredentialsKind) return undefined;
    const value = JSON.parse(
      this.options.secretBox.openString(
        row.repositoryCredentials,
        secretContext(row.id, 'repository_credentials'),
      ),
    ) as Omit<RepositoryCredentials, 'kind'>;
    return { ...value, kind: row.repositoryCredentialsKind };
  }

  async get(agentId: string): Promise<managerV1.Agent> {
    return this.view(await this.find(this.options.database.fork(), agentId));
  }

  async list(pageSize: number, pageToken: string): Promise<AgentPage> {
    const size = pageSize <= 0 ? 50 : Math.min(pageSize, 500);
    const after = decodePageToken(pageToken);
    const em = this.options.database.fork();
    const rows = await em.find(
      Agent,
      after
        ? {
            $or: [
              { createTime: { $gt: after.createTime } },
              { createTime: after.createTime, id: { $gt: after.id } },
            ],
          }
        : {},
      { orderBy: { createTime: 'asc', id: 'asc' }, limit: size + 1 },
    );
    const page = rows.slice(0, size);
    const last = page[page.length - 1];
    return {
      agents: await Promise.all(page.map((row) => this.view(row))),
      nextPageToken: rows.length > size ? encodePageToken(last) : '',
    };
  }

  async update(
    agentId: string,
    fields: Set<MutableField>,
    values: managerV1.Agent,
  ): Promise<managerV1.Agent> {
    const em = this.options.database.fork();
    const row = await this.find(em, agentId);
    if (fields.has('display_name')) row.displayName = values.displayName;
    if (fields.has('image')) row.image = values.image || this.options.defaults.image;
    if (fields.has('resources')) {
      row.cpuMillis = values.resources?.cpuMillis || this.options.defaults.cpuMillis;
      row.memoryBytes = String(
        Number(values.resources?.memoryBytes ?? 0) || this.options.defaults.memoryBytes,
      );
      row.pidsLimit = values.resources?.pidsLimit || this.options.defaults.pidsLimit;
    }
    if (fields.has('model')) row.model = values.model;
    if (fields.has('environment')) row.environment = values.environment;
    if (fields.has('secret_environment')) this.setSecretEnvironment(row, values.secretEnvironment);
    const plainKeys = Object.keys(row.environment);
    const clash = row.secretEnvironmentKeys.filter((key) => plainKeys.includes(key));
    if (clash.length > 0) {
      throw new FailedPreconditionError(
        `keys in both environment and secret_environment: ${clash.join(', ')}`,
      );
    }
    row.updateTime = new Date();
    await em.flush();
    return this.view(row);
  }

  async delete(agentId: string, keepWorkspace: boolean): Promise<void> {
    const em = this.options.database.fork();
    const row = await this.find(em, agentId);
    this.publishState(agentId, { state: AgentState.AGENT_STATE_DELETING, reason: '' });
    this.options.hub.detach(agentId);
    if (row.containerId) await this.runtime.remove(row.containerId);
    await em.removeAndFlush(row);
    if (!keepWorkspace) await this.runtime.removeWorkspace(agentId);
    this.lastPublished.delete(agentId);
  }

  async start(agentId: string): Promise<managerV1.Agent> {
    const em = this.options.database.fork();
    const row = await this.find(em, agentId);
    row.desiredState = 'running';
    row.stateReason = '';
    row.updateTime = new Date();
    await em.flush();
    const observation = await this.runtime.observe(row.containerId, 'running');
    if (observation.state === AgentState.AGENT_STATE_CONTAINER_MISSING) {
      await this.recreate(em, row);
    } else if (!observation.running) {
      await this.runtime.start(row.containerId!);
      await this.options.hub.attach(agentId, row.containerId!);
    }
    return this.view(row);
  }

  async stop(agentId: string, timeoutSeconds: number): Promise<managerV1.Agent> {
    const em = this.options.database.fork();
    const row = await this.find(em, agentId);
    row.desiredState = 'stopped';
    row.updateTime = new Date();
    await em.flush();
    this.options.hub.detach(agentId);
    const observation = await this.runtime.observe(row.containerId, 'stopped');
    if (observation.state !== AgentState.AGENT_STATE_CONTAINER_MISSING) {
      this.publishState(agentId, { state: AgentState.AGENT_STATE_STOPPING, reason: '' });
      await this.runtime.stop(row.containerId!, timeoutSeconds);
    }
    return this.view(row);
  }

  /** Restarts; recreates the container when its image, limits or environment changed since. */
  async restart(agentId: string, timeoutSeconds: number): Promise<managerV1.Agent> {
    const em = this.options.database.fork();
    const row = await this.find(em, agentId);
    row.desiredState = 'running';
    row.updateTime = new Date();
    await em.flush();
    const observation = await this.runtime.observe(row.containerId, 'running');
    if (
      observation.state === AgentState.AGENT_STATE_CONTAINER_MISSING ||
      !ContainerRuntime.matchesSpec(observation, this.specOf(row))
    ) {
      this.options.hub.detach(agentId);
      if (observation.state !== AgentState.AGENT_STATE_CONTAINER_MISSING) {
        await this.runtime.stop(row.containerId!, timeoutSeconds);
        await this.runtime.remove(row.containerId!);
      }
      await this.recreate(em, row);
    } else {
      this.options.hub.detach(agentId);
      await this.runtime.restart(row.containerId!, timeoutSeconds);
      await this.options.hub.attach(agentId, row.containerId!);
    }
    return this.view(row);
  }

  /** A new container from the row, on the same workspace. */
  private async recreate(em: EntityManager, row: Agent): Promise<void> {
    await this.runtime.prepareWorkspace(row.id);
    const containerId = await this.runtime.create(this.specOf(row));
    row.containerId = containerId;
    await em.flush();
    await this.runtime.start(containerId);
    await this.options.hub.attach(row.id, containerId);
  }

  /** The running or stopped container of an agent, for logs and stats. */
  async containerOf(agentId: string): Promise<string> {
    const row = await this.find(this.options.database.fork(), agentId);
    const observation = await this.runtime.observe(row.containerId, row.desiredState);
    if (observation.state === AgentState.AGENT_STATE_CONTAINER_MISSING) {
      throw new FailedPreconditionError(
        `agent "agents/${agentId}" has no container; StartAgent recreates it`,
      );
    }
    return row.containerId!;
  }

  containerLogs(...args: Parameters<ContainerRuntime['logs']>) {
    return this.runtime.logs(...args);
  }

  containerStats(...args: Parameters<ContainerRuntime['stats']>) {
    return this.runtime.stats(...args);
  }

  private async onContainerChange(
    agentId: string,
    containerId: string,
    change: ContainerChange,
  ): Promise<void> {
    const row = await this.options.database.fork().findOne(Agent, { id: agentId });
    if (!row || row.containerId !== containerId) return;
    const observation = await this.runtime.observe(containerId, row.desiredState);
    if (change === 'start' && observation.running)
      await this.options.hub.attach(agentId, containerId);
    this.publishState(agentId, observation);
  }

  /** Publishes a `.status` event when the agent's state differs from the last one published. */
  private publishState(
    agentId: string,
    observation: Pick<ContainerObservation, 'state' | 'reason'>,
  ): void {
    const previous = this.lastPublished.get(agentId) ?? AgentState.AGENT_STATE_UNSPECIFIED;
    if (previous === observation.state) return;
    this.lastPublished.set(agentId, observation.state);
    const event = this.options.publisher.envelope(agentId, {
      $case: 'status',
      value: {
        agentId,
        state: observation.state,
        previousState: previous,
        reason: observation.reason,
      },
    });
    void this.options.publisher
      .publish(event)
      .catch((error: unknown) =>
        this.options.logger.warn({ agentId, err: error }, 'could not publish a status event'),
      );
  }

  private async find(em: EntityManager, agentId: string): Promise<Agent> {
    const row = await em.findOne(Agent, { id: agentId });
    if (!row) throw new NotFoundError(`agent "agents/${agentId}" does not exist`);
    return row;
  }

  private setSecretEnvironment(row: Agent, secrets: Record<string, string>): void {
    const keys = Object.keys(secrets).sort();
    row.secretEnvironmentKeys = keys;
    row.secretEnvironment =
      keys.length > 0
        ? this.options.secretBox.seal(
            JSON.stringify(secrets),
            secretContext(row.id, 'secret_environment'),
          )
        : null;
  }

  private setRepository(row: Agent, repository: managerV1.Repository | undefined): void {
    if (!repository) return;
    row.repositoryUrl = repository.url;
    row.repositoryBranch = repository.branch || null;
    const credentials = repository.credentials;
    if (credentials) {
      row.repositoryCredentialsKind = CREDENTIALS_KINDS[credentials.$case];
      row.repositoryCredentials = this.options.secretBox.seal(
        JSON.stringify(credentials.value),
        secretContext(row.id, 'repository_credentials'),
      );
    }
  }

  private specOf(row: Agent): ContainerSpec {
    const secrets = row.secretEnvironment
      ? (JSON.parse(
          this.options.secretBox.openString(
            row.secretEnvironment,
            secretContext(row.id, 'secret_environment'),
          ),
        ) as Record<string, string>)
      : {};
    return {
      agentId: row.id,
      image: row.image,
      cpuMillis: row.cpuMillis,
      memoryBytes: Number(row.memoryBytes),
      pidsLimit: row.pidsLimit,
      environment: {
        ...row.environment,
        ...secrets,
        AGENSTRA_AGENT_TYPE: RUNNER_AGENT_TYPES[row.type],
        ...(row.model ? { AGENSTRA_MODEL: row.model } : {}),
      },
    };
  }

  private async view(row: Agent): Promise<managerV1.Agent> {
    const observation = await this.runtime.observe(row.containerId, row.desiredState);
    return {
      name: `agents/${row.id}`,
      displayName: row.displayName,
      type: row.type,
      state: observation.state,
      stateReason: observation.reason || row.stateReason,
      containerId:
        observation.state === AgentState.AGENT_STATE_CONTAINER_MISSING
          ? ''
          : (row.containerId ?? ''),
      image: row.image,
      resources: {
        cpuMillis: row.cpuMillis,
        memoryBytes: row.memoryBytes,
        pidsLimit: row.pidsLimit,
      },
      repository: row.repositoryUrl
        ? {
            url: row.repositoryUrl,
            branch: row.repositoryBranch ?? '',
            credentials: undefined,
            credentialsKind: row.repositoryCredentialsKind ?? '',
          }
        : undefined,
      model: row.model,
      environment: row.environment,
      secretEnvironment: {},
      secretEnvironmentKeys: row.secretEnvironmentKeys,
      createTime: row.createTime.toISOString(),
      updateTime: row.updateTime.toISOString(),
    };
  }
}

/** Binds a sealed value to its agent and field, so it cannot be moved to another row. */
export function secretContext(
  agentId: string,
  field: 'secret_environment' | 'repository_credentials',
): string {
  return `agent/${agentId}/${field}`;
}

function encodePageToken(row: Agent): string {
  return Buffer.from(JSON.stringify({ t: row.createTime.toISOString(), i: row.id })).toString(
    'base64url',
  );
}

function decodePageToken(token: string): { createTime: Date; id: string } | undefined {
  if (!token) return undefined;
  try {
    const { t, i } = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
      t: unknown;
      i: unknown;
    };
    const createTime = new Date(String(t));
    if (typeof i === 'string' && !Number.isNaN(createTime.getTime())) return { createTime, id: i };
  } catch {
    // falls through to the error below
  }
  throw new InvalidArgumentError('page_token: not a token from ListAgents');
}

/**
 * Waits for every step (false: a step that does not apply), then fails with the first failure, so
 * a rollback never races a step that is still running.
 */
async function allSucceeded(steps: Array<Promise<unknown> | false>): Promise<void> {
  const results = await Promise.allSettled(steps);
  const failure = results.find((result) => result.status === 'rejected');
  if (failure) throw failure.reason;
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Engine errors as the caller should see them. */
function asDomainError(error: unknown, image: string): unknown {
  if (isNotFound(error) && /image/i.test(describe(error))) {
    return new FailedPreconditionError(
      `image "${image}" does not exist on this manager's Docker Engine`,
    );
  }
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'EACCES') {
    return new UnavailableError(`the Docker Engine does not answer: ${describe(error)}`);
  }
  return error;
}
