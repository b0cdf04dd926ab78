import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * A console tab's session (table `controller.session`, deleted with its client): bound to the
 * person who opened it and to one client. Only a hash of the resume token is stored.
 */
@Entity({ tableName: 'session' })
@Index({ name: 'session_resume_token_hash_index', properties: ['resumeTokenHash'] })
export class Session {
  @PrimaryKey({ type: 'uuid' })
  id!: string;

  @Property({ type: 'text' })
  subject!: string;

  @Property({ type: 'text' })
  clientId!: string;

  @Property({ type: 'text' })
  resumeTokenHash!: string;

  /** Past this, with no stream open, the resume token opens a new session instead. */
  @Property({ type: 'datetime' })
  resumeExpireTime!: Date;

  /** The stream currently serving the session, on whichever controller process holds it. */
  @Property({ type: 'uuid', nullable: true })
  streamId!: string | null;

  @Property({ type: 'datetime' })
  createTime!: Date;
}

/**
 * An agent a session is logged in to (table `controller.session_agent`, deleted with the session):
 * what a resume restores. The manager's chat token for it is sealed in the vault.
 */
@Entity({ tableName: 'session_agent' })
export class SessionAgent {
  @PrimaryKey({ type: 'uuid' })
  sessionId!: string;

  @PrimaryKey({ type: 'text' })
  agentId!: string;

  @Property({ type: 'datetime' })
  loginTime!: Date;

  /** The last chat sequence sent on a stream, as of that stream's last heartbeat or close. */
  @Property({ type: 'bigint' })
  lastSequence!: string;
}
