import { randomUUID } from 'node:crypto';
import { NotFoundError, quoteIdentifier, type Database } from '@agenstra/shared';
import { ForeignKeyConstraintViolationException } from '@mikro-orm/core';
import {
  ChatMessage,
  type ChatAuthorRole,
  type ChatMessageKind,
  type TurnState,
} from './chat-message.entity.js';
import { ChatSequence } from './chat-sequence.entity.js';

export interface NewChatMessage {
  agentId: string;
  kind: ChatMessageKind;
  /** Omitted for a user message, whose correlation id is its own id. */
  correlationId?: string;
  clientMessageId?: string;
  authorRole: ChatAuthorRole;
  authorSubject: string;
  authorDisplayName: string;
  text: string;
  payload?: Record<string, unknown> | null;
  runnerSeq?: number;
  turnState?: TurnState;
}

export interface AppendResult {
  message: ChatMessage;
  /** False when an earlier row with the same idempotency key was returned instead. */
  created: boolean;
}

class DuplicateFound {
  constructor(readonly message: ChatMessage) {}
}

/** The agents' persisted chat: PostgreSQL is the source of truth for history and turn state. */
export class ChatStore {
  private readonly sequenceTable: string;

  constructor(private readonly database: Database) {
    this.sequenceTable = `${quoteIdentifier(database.schema)}."chat_sequence"`;
  }

  /**
   * Stores a message with the agent's next sequence. The counter row is incremented first in
   * the same transaction: its row lock makes concurrent writers of one agent take turns, so the
   * duplicate check after it is exact and a duplicate rolls back without using up a number.
   * Idempotency keys: a user message's client id, an agent output's (turn, runner seq).
   */
  async append(draft: NewChatMessage): Promise<AppendResult> {
    const earlier = await this.findDuplicate(this.database.fork(), draft);
    if (earlier) return { message: earlier, created: false };
    try {
      const message = await this.database.fork().transactional(async (tx) => {
        const [counter] = await tx.execute<{ last_sequence: string }[]>(
          `insert into ${this.sequenceTable} ("agent_id", "last_sequence") values (?, 1)
             on conflict ("agent_id") do update
             set "last_sequence" = ${this.sequenceTable}."last_sequence" + 1
             returning "last_sequence"`,
          [draft.agentId],
        );
        const duplicate = await this.findDuplicate(tx, draft);
        if (duplicate) throw new DuplicateFound(duplicate);
        const id = randomUUID();
        const row = tx.create(ChatMessage, {
          id,
          agentId: draft.agentId,
          sequence: Number(counter.last_sequence),
          kind: draft.kind,
          correlationId: draft.correlationId ?? id,
          clientMessageId: draft.clientMessageId ?? null,
          authorRole: draft.authorRole,
          authorSubject: draft.authorSubject,
          authorDisplayName: draft.authorDisplayName,
          text: draft.text,
          payload: draft.payload ?? null,
          runnerSeq: draft.runnerSeq ?? null,
          turnState: draft.turnState ?? null,
          createTime: new Date(),
        });
        await tx.flush();
        return row;
      });
      return { message, created: true };
    } catch (error) {
      if (error instanceof DuplicateFound) return { message: error.message, created: false };
      if (error instanceof ForeignKeyConstraintViolationException) {
        throw new NotFoundError(`agent ${draft.agentId} does not exist`);
      }
      throw error;
    }
  }

  private findDuplicate(
    em: ReturnType<Database['fork']>,
    draft: NewChatMessage,
  ): Promise<ChatMessage | null> {
    if (draft.clientMessageId !== undefined) {
      return em.findOne(ChatMessage, {
        agentId: draft.agentId,
        clientMessageId: draft.clientMessageId,
      });
    }
    if (draft.correlationId !== undefined && draft.runnerSeq !== undefined) {
      return em.findOne(ChatMessage, {
        correlationId: draft.correlationId,
        runnerSeq: draft.runnerSeq,
      });
    }
    return Promise.resolve(null);
  }

  /** Persisted events with a sequence above `afterSequence` (and at most `upToSequence`), oldest first. */
  listAfter(
    agentId: string,
    afterSequence: number,
    limit: number,
    upToSequence = Number.MAX_SAFE_INTEGER,
  ): Promise<ChatMessage[]> {
    return this.database
      .fork()
      .find(
        ChatMessage,
        { agentId, sequence: { $gt: afterSequence, $lte: upToSequence } },
        { orderBy: { sequence: 'asc' }, limit },
      );
  }

  async latestSequence(agentId: string): Promise<number> {
    const counter = await this.database.fork().findOne(ChatSequence, { agentId });
    return counter?.lastSequence ?? 0;
  }

  findMessage(id: string): Promise<ChatMessage | null> {
    return this.database.fork().findOne(ChatMessage, { id });
  }

  /** User messages whose turn the runner has not finished, oldest first. */
  unfinishedTurns(agentId?: string): Promise<ChatMessage[]> {
    return this.database.fork().find(
      ChatMessage,
      {
        ...(agentId === undefined ? {} : { agentId }),
        kind: 'user_message',
        turnState: { $in: ['pending', 'delivered'] },
      },
      { orderBy: { sequence: 'asc' } },
    );
  }

  /** Moves a turn forward; a finished turn never goes back. */
  async markTurn(userMessageId: string, state: TurnState): Promise<void> {
    const allowedFrom: TurnState[] = state === 'done' ? ['pending', 'delivered'] : ['pending'];
    await this.database
      .fork()
      .nativeUpdate(
        ChatMessage,
        { id: userMessageId, turnState: { $in: allowedFrom } },
        { turnState: state },
      );
  }

  /** The highest runner seq persisted for a turn (0 when none), to drop re-sent lines. */
  async highestRunnerSeq(correlationId: string): Promise<number> {
    const [row] = await this.database
      .fork()
      .execute<{ highest: number | null }[]>(
        `select max("runner_seq") as "highest" from ${quoteIdentifier(this.database.schema)}."chat_message" where "correlation_id" = ?`,
        [correlationId],
      );
    return Number(row?.highest ?? 0);
  }
}
