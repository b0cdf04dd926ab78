import { Writable } from 'node:stream';
import { openDatabase, type DatabaseOptions } from '../database/database.js';
import { createLogger } from '../logging/logger.js';

const silentLogger = createLogger({
  service: 'test',
  destination: new Writable({ write: (_chunk, _encoding, done) => done() }),
});

export interface MigratedSchema {
  executed: string[];
  tables: string[];
  /** `table.column:type`, sorted. */
  columns: string[];
}

/**
 * Opens the database as a service does at start (applying pending migrations) and describes
 * what its schema then holds, so a test can compare two start-ups.
 */
export async function snapshotMigratedSchema(
  options: Pick<DatabaseOptions, 'url' | 'schema' | 'entities' | 'migrations'>,
): Promise<MigratedSchema> {
  const db = await openDatabase({ ...options, logger: silentLogger });
  try {
    const connection = db.fork().getConnection();
    const tables = await connection.execute<{ table_name: string }[]>(
      'select table_name from information_schema.tables where table_schema = ? order by 1',
      [options.schema],
    );
    const columns = await connection.execute<{ column: string }[]>(
      `select table_name || '.' || column_name || ':' || data_type as "column"
         from information_schema.columns where table_schema = ? order by 1`,
      [options.schema],
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
