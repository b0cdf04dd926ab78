import { randomUUID } from 'node:crypto';
import { NotFoundError, quoteIdentifier, type Database } from '@agenstra/shared';
import type { Knex } from '@mikro-orm/postgresql';
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

/** What makes an appended row a duplicate of an earlier one. */
type DuplicateKey = 'client_message' | 'runner_seq' | 'none';

/** A statement PostgreSQL prepares once per connection under its name (node-postgres). */
interface NamedStatement {
  name: string;
  text: string;
}

/** The part of a pooled node-postgres connection the store uses. */
interface PgConnection {
  query(
    config: NamedStatement & { values: readonly unknown[] },
  ): Promise<{ rows: Record<string, unknown>[] }>;
}

/** knex's client, which hands out the ORM pool's connections. */
interface PooledClient {
  acquireConnection(): Promise<PgConnection>;
  releaseConnection(connection: PgConnection): Promise<unknown>;
}

/** PostgreSQL error codes (SQLSTATE). */
const UNIQUE_VIOLATION = '23505';
const FOREIGN_KEY_VIOLATION = '23503';

/** The agents' persisted chat: PostgreSQL is the source of truth for history and turn state. */
export class ChatStore {
  private readonly sequenceTable: string;
  private readonly messageTable: string;
  /**
   * The ORM's own connection pool, for the statements every chat message runs: `em.execute`
   * inlines and escapes every parameter into the SQL text and adds its bookkeeping (about
   * 1 ms per statement); they run as named prepared statements on a pooled connection instead.
   */
  private readonly knex: Knex;
  private readonly appendStatements: Record<DuplicateKey, NamedStatement>;
  private readonly markDelivered: NamedStatement;
  private readonly markDone: NamedStatement;

  constructor(private readonly database: Database) {
    this.knex = database.orm.em.getConnection().getKnex();
    this.sequenceTable = `${quoteIdentifier(database.schema)}."chat_sequence"`;
    this.messageTable = `${quoteIdentifier(database.schema)}."chat_message"`;
    this.appendStatements = {
      client_message: this.appendStatement(
        'client_message',
        '"agent_id" = $2 and "client_message_id" = $3',
      ),
      runner_seq: this.appendStatement(
        'runner_seq',
        '"correlation_id" = $2::uuid and "runner_seq" = $3::integer',
      ),
      none: this.appendStatement('none', '$2::text is null and $3::text is null and false'),
    };
    this.markDelivered = this.markTurnStatement('delivered', ['pending']);
    this.markDone = this.markTurnStatement('done', ['pending', 'delivered']);
  }

  /**
   * The append for one idempotency key; $1 is the agent, $2 and $3 the key, $4 to $15 the row.
   * Its name includes the schema, as prepared statements outlive the store on the connection.
   */
  private appendStatement(key: DuplicateKey, duplicateCondition: string): NamedStatement {
    return {
      name: `${this.database.schema}.chat_append.${key}`,
      text: `with "next" as (
           insert into ${this.sequenceTable} ("agent_id", "last_sequence")
             select $1, 1
             where not exists (select 1 from ${this.messageTable} where ${duplicateCondition})
             on conflict ("agent_id") do update
             set "last_sequence" = ${this.sequenceTable}."last_sequence" + 1
             returning "last_sequence"
         )
         insert into ${this.messageTable} ("id", "agent_id", "sequence", "kind", "correlation_id",
           "client_message_id", "author_role", "author_subject", "author_display_name", "text",
           "payload", "runner_seq", "turn_state", "create_time")
         select $4, $5, "next"."last_sequence", $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14,
           $15, now() from "next"
         returning *`,
    };
  }

  /**
   * `delivered` does not wait for the WAL flush, `done` does: set_config(..., true) lasts until
   * the statement's own transaction commits, and that commit is where synchronous_commit is
   * read; one round trip, no transaction to manage.
   */
  private markTurnStatement(state: TurnState, allowedFrom: TurnState[]): NamedStatement {
    const synchronousCommit = state === 'done' ? 'on' : 'off';
    return {
      name: `${this.database.schema}.chat_mark_turn.${state}`,
      text: `with "commit" as (select set_config('synchronous_commit', '${synchronousCommit}', true))
       update ${this.messageTable} set "turn_state" = '${state}' from "commit"
       where "id" = $1 and "turn_state" in (${allowedFrom.map((from) => `'${from}'`).join(', ')})`,
    };
  }

  /**
   * Stores a message with the agent's next sequence, in one statement: it increments the
   * agent's counter row (whose lock makes writers of one agent take turns) and inserts the row
   * with that number, both only when no row has the same idempotency key (a user message's
   * client id, an agent output's turn and runner seq). A duplicate committed concurrently makes
   * the insert hit a unique constraint, which undoes the whole statement: no number is used up.
   */
  async append(draft: NewChatMessage): Promise<AppendResult> {
    const id = randomUUID();
    const key: DuplicateKey =
      draft.clientMessageId !== undefined
        ? 'client_message'
        : draft.correlationId !== undefined && draft.runnerSeq !== undefined
          ? 'runner_seq'
          : 'none';
    const keyParams =
      key === 'client_message'
        ? [draft.agentId, draft.clientMessageId]
        : key === 'runner_seq'
          ? [draft.correlationId, draft.runnerSeq]
          : [null, null];
    try {
      const rows = await this.rows(this.appendStatements[key], [
        draft.agentId,
        ...keyParams,
        id,
        draft.agentId,
        draft.kind,
        draft.correlationId ?? id,
        draft.clientMessageId ?? null,
        draft.authorRole,
        draft.authorSubject,
        draft.authorDisplayName,
        draft.text,
        draft.payload ? JSON.stringify(draft.payload) : null,
        draft.runnerSeq ?? null,
        draft.turnState ?? null,
      ]);
      if (rows.length === 1) {
        return { message: this.database.fork().map(ChatMessage, rows[0]), created: true };
      }
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === FOREIGN_KEY_VIOLATION) {
        throw new NotFoundError(`agent ${draft.agentId} does not exist`);
      }
      if (code !== UNIQUE_VIOLATION) throw error;
    }
    const earlier = await this.findDuplicate(this.database.fork(), draft);
    if (!earlier) throw new Error('a chat message was neither stored nor found as a duplicate');
    return { message: earlier, created: false };
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

  /**
   * Moves a turn forward; a finished turn never goes back. `delivered` is only informative
   * (pending and delivered turns are both re-sent), so it does not wait for the WAL flush that
   * every chat message's own statements wait for; `done` does, as the runner forgets the turn
   * once it is acknowledged.
   */
  async markTurn(userMessageId: string, state: TurnState): Promise<void> {
    await this.rows(state === 'done' ? this.markDone : this.markDelivered, [userMessageId]);
  }

  /**
   * Runs a statement by name on a connection of the ORM's pool: PostgreSQL parses and plans it
   * once per connection, not per message (the append's plan alone is about half a
   * millisecond), and no query builder rewrites the parameters on the way.
   */
  private async rows(
    statement: NamedStatement,
    values: readonly unknown[],
  ): Promise<Record<string, unknown>[]> {
    const client = this.knex.client as PooledClient;
    const connection = await client.acquireConnection();
    try {
      return (await connection.query({ ...statement, values })).rows;
    } finally {
      await client.releaseConnection(connection);
    }
  }

  /** The highest runner seq persisted for a turn (0 when none), to drop re-sent lines. */
  async highestRunnerSeq(correlationId: string): Promise<number> {
    const [row] = await this.database
      .fork()
      .execute<{ highest: number | null }[]>(
        `select max("runner_seq") as "highest" from ${this.messageTable} where "correlation_id" = ?`,
        [correlationId],
      );
    return Number(row?.highest ?? 0);
  }
}
