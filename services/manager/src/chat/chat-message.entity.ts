import { BigIntType, Entity, PrimaryKey, Property, Unique } from '@mikro-orm/core';

/** What a persisted chat row is; the text form of eventsV1.ChatEventKind without its prefix. */
export type ChatMessageKind =
  | 'user_message'
  | 'thinking'
  | 'assistant_message'
  | 'tool_call'
  | 'tool_result'
  | 'question'
  | 'status'
  | 'error';

export type ChatAuthorRole = 'user' | 'agent' | 'system';

/**
 * Where a user message's turn stands, so a restarted manager knows what to hand to the runner
 * again: `pending` (not yet written to the runner), `delivered` (written, reply not complete),
 * `done` (the runner said `done` and every output before it is persisted).
 */
export type TurnState = 'pending' | 'delivered' | 'done';

/**
 * One persisted chat event of an agent, numbered by the agent's gap-free `sequence`. Agent
 * outputs also keep the runner's per-turn `runnerSeq`, so a line the runner re-sends after a
 * manager restart is recognised and stored only once.
 */
@Entity({ tableName: 'chat_message' })
@Unique({ properties: ['agentId', 'sequence'] })
@Unique({ properties: ['agentId', 'clientMessageId'] })
@Unique({ properties: ['correlationId', 'runnerSeq'] })
export class ChatMessage {
  @PrimaryKey({ type: 'uuid' })
  id!: string;

  @Property({ type: 'text' })
  agentId!: string;

  @Property({ type: new BigIntType('number') })
  sequence!: number;

  @Property({ type: 'text' })
  kind!: ChatMessageKind;

  /** The id of the user message that started the turn (its own id for a user message). */
  @Property({ type: 'uuid' })
  correlationId!: string;

  @Property({ type: 'varchar', length: 128, nullable: true })
  clientMessageId?: string | null;

  @Property({ type: 'text' })
  authorRole!: ChatAuthorRole;

  @Property({ type: 'varchar', length: 255 })
  authorSubject!: string;

  @Property({ type: 'varchar', length: 255 })
  authorDisplayName!: string;

  @Property({ type: 'text' })
  text!: string;

  /** Tool call/result, question and error details (see chat-events.ts for their shapes). */
  @Property({ type: 'json', nullable: true })
  payload?: Record<string, unknown> | null;

  @Property({ type: 'integer', nullable: true })
  runnerSeq?: number | null;

  /** Set on user messages only. */
  @Property({ type: 'text', nullable: true })
  turnState?: TurnState | null;

  @Property({ type: 'datetime' })
  createTime!: Date;
}
