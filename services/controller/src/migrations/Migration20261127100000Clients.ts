import { Migration } from '@mikro-orm/migrations';

export class Migration20261127100000Clients extends Migration {
  override up(): void {
    this.addSql(
      'create table "controller"."client" (' +
        '"id" text not null, ' +
        '"display_name" text not null, ' +
        '"endpoint" text not null, ' +
        '"tls_enabled" boolean not null default false, ' +
        `"tls_ca_bundle_pem" text not null default '', ` +
        `"tls_server_name" text not null default '', ` +
        '"auth_kind" text not null, ' +
        `"api_key_hint" text not null default '', ` +
        `"oidc_issuer_url" text not null default '', ` +
        `"oidc_realm" text not null default '', ` +
        `"oidc_client_id" text not null default '', ` +
        `"oidc_scope" text not null default '', ` +
        `"oidc_audience" text not null default '', ` +
        `"manager_id" text not null default '', ` +
        '"state" smallint not null default 0, ' +
        `"state_message" text not null default '', ` +
        '"creator" text not null, ' +
        '"last_contact_time" timestamptz null, ' +
        `"provisioned_server" text not null default '', ` +
        '"create_time" timestamptz not null, ' +
        '"update_time" timestamptz not null, ' +
        'constraint "client_pkey" primary key ("id"), ' +
        `constraint "client_auth_kind_check" check ("auth_kind" in ('api_key', 'oidc')));`,
    );
    // ListClients pages by (display_name, id); users' lists filter by creator.
    this.addSql(
      'create index "client_display_name_id_index" on "controller"."client" ("display_name", "id");',
    );
    this.addSql('create index "client_creator_index" on "controller"."client" ("creator");');

    this.addSql(
      'create table "controller"."client_grant" (' +
        '"client_id" text not null, ' +
        '"subject" text not null, ' +
        '"granter" text not null, ' +
        '"grant_time" timestamptz not null, ' +
        'constraint "client_grant_pkey" primary key ("client_id", "subject"), ' +
        'constraint "client_grant_client_id_foreign" foreign key ("client_id") ' +
        'references "controller"."client" ("id") on delete cascade);',
    );
    this.addSql(
      'create index "client_grant_subject_index" on "controller"."client_grant" ("subject");',
    );

    this.addSql(
      'create table "controller"."vault_secret" (' +
        '"client_id" text not null, ' +
        '"name" text not null, ' +
        '"key_id" text not null, ' +
        '"sealed" text not null, ' +
        '"update_time" timestamptz not null, ' +
        'constraint "vault_secret_pkey" primary key ("client_id", "name"), ' +
        'constraint "vault_secret_client_id_foreign" foreign key ("client_id") ' +
        'references "controller"."client" ("id") on delete cascade);',
    );
    this.addSql(
      'create index "vault_secret_key_id_index" on "controller"."vault_secret" ("key_id");',
    );
  }

  override down(): void {
    this.addSql('drop table if exists "controller"."vault_secret";');
    this.addSql('drop table if exists "controller"."client_grant";');
    this.addSql('drop table if exists "controller"."client";');
  }
}
