import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';

/** A logged-in chat session. Only the SHA-256 of its token is stored, never the token. */
@Entity({ tableName: 'chat_session' })
@Index({ properties: ['agentId'] })
export class ChatSession {
  @PrimaryKey({ type: 'char', length: 64 })
  tokenHash!: string;

  @Property({ type: 'text' })
  agentId!: string;

  /** Who logged in: the caller's address, for audit. */
  @Property({ type: 'text' })
  caller!: string;

  @Property({ type: 'datetime' })
  createTime!: Date;

  @Property({ type: 'datetime' })
  expireTime!: Date;
}
