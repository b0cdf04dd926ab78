import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';

/** What the user asked the agent's container to be; the actual state comes from the engine. */
export type DesiredAgentState = 'running' | 'stopped';

/** Which kind of repository credentials is stored: the oneof case name of `Repository.credentials`. */
export type RepositoryCredentialsKind = 'https_token' | 'username_password' | 'ssh_key';

/**
 * An agent on this manager (table `manager.agent`). `id` is the {agent} segment of `agents/{agent}`
 * and the target of foreign keys from other tables (chat messages cascade on delete).
 * Secrets are sealed with SecretBox (see @agenstra/shared crypto): the value carries its key id.
 */
@Entity({ tableName: 'agent' })
@Index({ name: 'agent_create_time_id_index', properties: ['createTime', 'id'] })
export class Agent {
  @PrimaryKey({ type: 'text' })
  id!: string;

  @Property({ type: 'text' })
  displayName!: string;

  /** Numeric `agenstra.manager.v1.AgentType`. */
  @Property({ type: 'smallint' })
  type!: number;

  /** Empty means the manager's AGENT_IMAGE at each (re)creation of the container. */
  @Property({ type: 'text' })
  image = '';

  /** 0 means the manager's default, resolved when the container is created. */
  @Property({ type: 'integer' })
  cpuMillis = 0;

  /** Bytes as a decimal string (bigint); '0' means the manager's default. */
  @Property({ type: 'bigint', columnType: 'bigint' })
  memoryBytes = '0';

  @Property({ type: 'integer' })
  pidsLimit = 0;

  @Property({ type: 'text' })
  model = '';

  @Property({ type: 'json' })
  environment: Record<string, string> = {};

  /** SecretBox-sealed JSON object of the secret environment; null when there is none. */
  @Property({ type: 'text', nullable: true })
  secretEnvironment: string | null = null;

  /** Sorted keys of the secret environment, so reads never need to open it. */
  @Property({ type: 'json' })
  secretEnvironmentKeys: string[] = [];

  @Property({ type: 'text', nullable: true })
  repositoryUrl: string | null = null;

  @Property({ type: 'text', nullable: true })
  repositoryBranch: string | null = null;

  @Property({ type: 'text', nullable: true })
  repositoryCredentialsKind: RepositoryCredentialsKind | null = null;

  /** SecretBox-sealed JSON of the credentials oneof's value; null when there are none. */
  @Property({ type: 'text', nullable: true })
  repositoryCredentials: string | null = null;

  /** `scrypt$N$r$p$salt$hash`, see agent-password.ts. */
  @Property({ type: 'text' })
  passwordHash!: string;

  @Property({ type: 'text', nullable: true })
  containerId: string | null = null;

  @Property({ type: 'text' })
  desiredState: DesiredAgentState = 'running';

  /** Set when creation or the container failed. */
  @Property({ type: 'text' })
  stateReason = '';

  @Property({ type: 'datetime' })
  createTime: Date = new Date();

  @Property({ type: 'datetime' })
  updateTime: Date = new Date();
}
