import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';
import type { Role } from '../auth/principal.js';

/**
 * An API token (table `controller.api_token`). Only the SHA-256 of the token is stored: the
 * token is 256 random bits, so a fast hash is as good as a slow one and keeps every call cheap.
 */
@Entity({ tableName: 'api_token' })
@Index({ name: 'api_token_subject_create_time_index', properties: ['subject', 'createTime'] })
export class ApiToken {
  @PrimaryKey({ type: 'uuid' })
  id!: string;

  @Property({ type: 'text' })
  displayName!: string;

  /** The subject the token acts as. */
  @Property({ type: 'text' })
  subject!: string;

  @Property({ type: 'text' })
  role!: Role;

  /** Hex SHA-256 of the whole token, unique. */
  @Property({ type: 'text', unique: 'api_token_token_hash_unique' })
  tokenHash!: string;

  @Property({ type: 'text' })
  tokenHint!: string;

  @Property({ type: 'text' })
  creator!: string;

  @Property({ type: 'datetime' })
  createTime!: Date;

  @Property({ type: 'datetime', nullable: true })
  revokeTime: Date | null = null;

  @Property({ type: 'datetime', nullable: true })
  lastUseTime: Date | null = null;
}
