import { Migration } from '@mikro-orm/migrations';

export class Migration20261127100100ApiTokens extends Migration {
  override up(): void {
    this.addSql(
      'create table "controller"."api_token" (' +
        '"id" uuid not null, ' +
        '"display_name" text not null, ' +
        '"subject" text not null, ' +
        '"role" text not null, ' +
        '"token_hash" text not null, ' +
        '"token_hint" text not null, ' +
        '"creator" text not null, ' +
        '"create_time" timestamptz not null, ' +
        '"revoke_time" timestamptz null, ' +
        '"last_use_time" timestamptz null, ' +
        'constraint "api_token_pkey" primary key ("id"), ' +
        'constraint "api_token_token_hash_unique" unique ("token_hash"), ' +
        `constraint "api_token_role_check" check ("role" in ('admin', 'user')));`,
    );
    this.addSql(
      'create index "api_token_subject_create_time_index" on "controller"."api_token" ("subject", "create_time");',
    );
  }

  override down(): void {
    this.addSql('drop table if exists "controller"."api_token";');
  }
}
