import { Writable } from 'node:stream';
import { createLogger, openDatabase } from '@agenstra/shared';
import { throwawayDatabase } from '@agenstra/shared/testing';
import { expect } from 'chai';
import { CONTROLLER_SCHEMA, controllerEntities, controllerMigrations } from './index.js';

const logger = createLogger({
  service: 'test',
  destination: new Writable({ write: (_c, _e, done) => done() }),
});

async function snapshot(url: string) {
  const db = await openDatabase({
    url,
    schema: CONTROLLER_SCHEMA,
    entities: controllerEntities,
    migrations: controllerMigrations,
    logger,
  });
  try {
    const tables = await db
      .fork()
      .getConnection()
      .execute<{ table_name: string }[]>(
        'select table_name from information_schema.tables where table_schema = ? order by 1',
        [CONTROLLER_SCHEMA],
      );
    const columns = await db
      .fork()
      .getConnection()
      .execute<{ column: string }[]>(
        `select table_name || '.' || column_name || ':' || data_type as "column"
           from information_schema.columns where table_schema = ? order by 1`,
        [CONTROLLER_SCHEMA],
      );
    return {
      executed: await db.executedMigrations(),
      tables: tables.map((row) => row.table_name),
      columns: columns.map((row) => row.column),
    };
  } finally {
    await db.close();
  }
}

describe('controller migrations', () => {
  const database = throwawayDatabase('agenstra_controller_migrations');
  after(() => database.drop());

  it('apply to an empty database, and a second run changes nothing', async () => {
    const first = await snapshot(database.url);
    expect(first.executed).to.deep.equal(controllerMigrations.map((migration) => migration.name));
    expect(first.tables).to.include.members(['controller_instance', 'mikro_orm_migrations']);

    const second = await snapshot(database.url);
    expect(second).to.deep.equal(first);
  });
});
