import { Migration } from '@mikro-orm/migrations';

export class Migration20261127010000Agents extends Migration {
  override up(): void {
    this.addSql(
      'create table "manager"."agent" (' +
        '"id" text not null, ' +
        '"display_name" text not null, ' +
        '"type" smallint not null, ' +
        `"image" text not null default '', ` +
        '"cpu_millis" integer not null default 0, ' +
        '"memory_bytes" bigint not null default 0, ' +
        '"pids_limit" integer not null default 0, ' +
        `"model" text not null default '', ` +
        `"environment" jsonb not null default '{}', ` +
        '"secret_environment" text null, ' +
        `"secret_environment_keys" jsonb not null default '[]', ` +
        '"repository_url" text null, ' +
        '"repository_branch" text null, ' +
        '"repository_credentials_kind" text null, ' +
        '"repository_credentials" text null, ' +
        '"password_hash" text not null, ' +
        '"container_id" text null, ' +
        `"desired_state" text not null default 'running', ` +
        `"state_reason" text not null default '', ` +
        '"create_time" timestamptz not null, ' +
        '"update_time" timestamptz not null, ' +
        'constraint "agent_pkey" primary key ("id"), ' +
        `constraint "agent_desired_state_check" check ("desired_state" in ('running', 'stopped')), ` +
        `constraint "agent_repository_credentials_kind_check" check ("repository_credentials_kind" in ('https_token', 'username_password', 'ssh_key')));`,
    );
    // ListAgents pages oldest first by (create_time, id).
    this.addSql(
      'create index "agent_create_time_id_index" on "manager"."agent" ("create_time", "id");',
    );
  }

  override down(): void {
    this.addSql('drop table if exists "manager"."agent";');
  }
}
