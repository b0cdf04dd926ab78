import { Writable } from 'node:stream';
import { Migration } from '@mikro-orm/migrations';
import { expect } from 'chai';
import pg from 'pg';
import { createLogger } from '../logging/logger.js';
import { throwawayDatabase } from '../testing/testing.js';
import { ensureDatabaseExists, MIGRATIONS_TABLE, openDatabase } from './database.js';

class Migration20260101000000CreateNote extends Migration {
  override up(): void {
    this.addSql('create table "notes"."note" ("id" serial primary key, "text" text not null);');
  }
}

const logger = createLogger({
  service: 'test',
  destination: new Writable({ write: (_c, _e, done) => done() }),
});

async function tablesIn(url: string, schema: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query(
      'select table_name from information_schema.tables where table_schema = $1 order by 1',
      [schema],
    );
    return result.rows.map((row: { table_name: string }) => row.table_name);
  } finally {
    await client.end();
  }
}

describe('database set-up', () => {
  const database = throwawayDatabase();
  after(() => database.drop());

  it('creates a missing database, its schema, and keeps the migrations table in that schema', async () => {
    const db = await openDatabase({
      url: database.url,
      schema: 'notes',
      entities: [],
      migrations: [
        { name: 'Migration20260101000000CreateNote', class: Migration20260101000000CreateNote },
      ],
      logger,
    });
    try {
      expect(await db.executedMigrations()).to.deep.equal(['Migration20260101000000CreateNote']);
    } finally {
      await db.close();
    }
    expect(await tablesIn(database.url, 'notes')).to.deep.equal([MIGRATIONS_TABLE, 'note']);
    expect(await tablesIn(database.url, 'public')).to.deep.equal([]);
  });

  it('reports an existing database as not created', async () => {
    expect(await ensureDatabaseExists(database.url)).to.equal(false);
  });
});
