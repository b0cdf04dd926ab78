import { Migration } from '@mikro-orm/migrations';

/** Chat history, per-agent sequence counters and chat sessions (see chat/). */
export class Migration20261127020000Chat extends Migration {
  override up(): void {
    const agentFk = (table: string) =>
      `constraint "${table}_agent_id_foreign" foreign key ("agent_id") ` +
      'references "manager"."agent" ("id") on delete cascade';

    this.addSql(
      'create table "manager"."chat_sequence" (' +
        '"agent_id" text not null, ' +
        '"last_sequence" bigint not null, ' +
        'constraint "chat_sequence_pkey" primary key ("agent_id"), ' +
        `${agentFk('chat_sequence')});`,
    );
    this.addSql(
      'create table "manager"."chat_message" (' +
        '"id" uuid not null, ' +
        '"agent_id" text not null, ' +
        '"sequence" bigint not null, ' +
        '"kind" text not null, ' +
        '"correlation_id" uuid not null, ' +
        '"client_message_id" varchar(128) null, ' +
        '"author_role" text not null, ' +
        '"author_subject" varchar(255) not null, ' +
        '"author_display_name" varchar(255) not null, ' +
        '"text" text not null, ' +
        '"payload" jsonb null, ' +
        '"runner_seq" int null, ' +
        '"turn_state" text null, ' +
        '"create_time" timestamptz not null, ' +
        'constraint "chat_message_pkey" primary key ("id"), ' +
        'constraint "chat_message_agent_id_sequence_unique" unique ("agent_id", "sequence"), ' +
        'constraint "chat_message_agent_id_client_message_id_unique" ' +
        'unique ("agent_id", "client_message_id"), ' +
        'constraint "chat_message_correlation_id_runner_seq_unique" ' +
        'unique ("correlation_id", "runner_seq"), ' +
        'constraint "chat_message_sequence_positive" check ("sequence" > 0), ' +
        `${agentFk('chat_message')});`,
    );
    // Only unfinished turns are looked up by state (re-delivery when a runner is ready).
    this.addSql(
      'create index "chat_message_unfinished_turns" on "manager"."chat_message" ' +
        `("agent_id", "sequence") where "turn_state" in ('pending', 'delivered');`,
    );
    this.addSql(
      'create table "manager"."chat_session" (' +
        '"token_hash" char(64) not null, ' +
        '"agent_id" text not null, ' +
        '"caller" text not null, ' +
        '"create_time" timestamptz not null, ' +
        '"expire_time" timestamptz not null, ' +
        'constraint "chat_session_pkey" primary key ("token_hash"), ' +
        `${agentFk('chat_session')});`,
    );
    this.addSql(
      'create index "chat_session_agent_id_index" on "manager"."chat_session" ("agent_id");',
    );
  }

  override down(): void {
    this.addSql('drop table if exists "manager"."chat_session";');
    this.addSql('drop table if exists "manager"."chat_message";');
    this.addSql('drop table if exists "manager"."chat_sequence";');
  }
}
