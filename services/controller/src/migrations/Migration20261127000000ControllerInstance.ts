import { Migration } from '@mikro-orm/migrations';

export class Migration20261127000000ControllerInstance extends Migration {
  override up(): void {
    this.addSql(
      'create table "controller"."controller_instance" (' +
        '"id" uuid not null, ' +
        '"created_at" timestamptz not null, ' +
        'constraint "controller_instance_pkey" primary key ("id"));',
    );
    // One installation has exactly one identity: a unique index on a constant admits one row.
    this.addSql(
      'create unique index "controller_instance_single_row" on "controller"."controller_instance" ((true));',
    );
  }

  override down(): void {
    this.addSql('drop table if exists "controller"."controller_instance";');
  }
}
