import { BigIntType, Entity, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * The last sequence handed out per agent. Incremented in the same transaction as the insert it
 * numbers, so its row lock serialises writers of one agent: no gaps, no duplicates.
 */
@Entity({ tableName: 'chat_sequence' })
export class ChatSequence {
  @PrimaryKey({ type: 'text' })
  agentId!: string;

  @Property({ type: new BigIntType('number') })
  lastSequence!: number;
}
