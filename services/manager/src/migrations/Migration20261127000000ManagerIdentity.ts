import { Migration } from '@mikro-orm/migrations';

export class Migration20261127000000ManagerIdentity extends Migration {
  override up(): void {
    this.addSql(
      'create table "manager"."manager_identity" (' +
        '"id" uuid not null, ' +
        '"created_at" timestamptz not null, ' +
        'constraint "manager_identity_pkey" primary key ("id"));',
    );
    // A manager has exactly one identity: a unique index on a constant admits one row.
    this.addSql(
      'create unique index "manager_identity_single_row" on "manager"."manager_identity" ((true));',
    );
  }

  override down(): void {
    this.addSql('drop table if exists "manager"."manager_identity";');
  }
}
