import { Migration } from '@mikro-orm/migrations';

export class Migration20261127200000Sessions extends Migration {
  override up(): void {
    this.addSql(
      'create table "controller"."session" (' +
        '"id" uuid not null, ' +
        '"subject" text not null, ' +
        '"client_id" text not null, ' +
        '"resume_token_hash" text not null, ' +
        '"resume_expire_time" timestamptz not null, ' +
        '"stream_id" uuid null, ' +
        '"create_time" timestamptz not null, ' +
        'constraint "session_pkey" primary key ("id"), ' +
        'constraint "session_client_id_foreign" foreign key ("client_id") ' +
        'references "controller"."client" ("id") on delete cascade);',
    );
    this.addSql(
      'create index "session_resume_token_hash_index" on "controller"."session" ("resume_token_hash");',
    );
    this.addSql(
      'create table "controller"."session_agent" (' +
        '"session_id" uuid not null, ' +
        '"agent_id" text not null, ' +
        '"login_time" timestamptz not null, ' +
        '"last_sequence" bigint not null, ' +
        'constraint "session_agent_pkey" primary key ("session_id", "agent_id"), ' +
        'constraint "session_agent_session_id_foreign" foreign key ("session_id") ' +
        'references "controller"."session" ("id") on delete cascade);',
    );
  }

  override down(): void {
    this.addSql('drop table if exists "controller"."session_agent";');
    this.addSql('drop table if exists "controller"."session";');
  }
}
