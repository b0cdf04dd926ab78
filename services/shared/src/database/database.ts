import { Migrator } from '@mikro-orm/migrations';
import { MikroORM, type EntityManager, type Options } from '@mikro-orm/postgresql';
import type { MigrationObject } from '@mikro-orm/core';
import pg from 'pg';
import type { Logger } from 'pino';

export const MIGRATIONS_TABLE = 'mikro_orm_migrations';

export interface DatabaseOptions {
  /** `postgres://user:password@host:port/database`; the database is created when missing. */
  url: string;
  /** The PostgreSQL schema owning this service's tables and its migrations table. */
  schema: string;
  entities: NonNullable<Options['entities']>;
  /** Checked-in migration classes in the order they apply, named e.g. `Migration20260101000000`. */
  migrations: MigrationObject[];
  logger: Logger;
}

/** An open ORM whose schema is up to date. Give each request its own `fork()`. */
export class Database {
  constructor(
    readonly orm: MikroORM,
    readonly schema: string,
  ) {}

  /** A fresh EntityManager with its own identity map, for one RPC or one unit of work. */
  fork(): EntityManager {
    return this.orm.em.fork();
  }

  /** Names of the migrations recorded as applied, oldest first. */
  async executedMigrations(): Promise<string[]> {
    const executed = await this.orm.getMigrator().getExecutedMigrations();
    return executed.map((migration) => migration.name);
  }

  async close(): Promise<void> {
    await this.orm.close(true);
  }
}

/**
 * Opens the service's database: creates the database and schema if missing, applies pending
 * migrations (never `schema:update`) while holding a lock so concurrent starts do not race.
 */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const { url, schema, logger } = options;
  await ensureDatabaseExists(url, logger);
  const orm = await MikroORM.init({
    clientUrl: url,
    schema,
    entities: options.entities,
    extensions: [Migrator],
    migrations: {
      migrationsList: options.migrations,
      tableName: MIGRATIONS_TABLE,
      transactional: true,
      allOrNothing: true,
      snapshot: false,
    },
    discovery: { warnWhenNoEntities: false },
    allowGlobalContext: false,
    logger: (message) => logger.debug({ component: 'mikro-orm' }, message),
  });
  try {
    await withAdvisoryLock(url, `agenstra:${schema}:migrations`, async (client) => {
      await client.query(`create schema if not exists ${quoteIdentifier(schema)}`);
      const applied = await orm.getMigrator().up();
      logger.info(
        { schema, applied: applied.map((migration) => migration.name) },
        applied.length > 0 ? 'applied database migrations' : 'database schema is up to date',
      );
    });
  } catch (error) {
    await orm.close(true);
    throw error;
  }
  return new Database(orm, schema);
}

/** Creates the database named in `url` when it does not exist yet. Returns whether it created it. */
export async function ensureDatabaseExists(url: string, logger?: Logger): Promise<boolean> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (!name) throw new Error('the database URL names no database');
  const maintenance = new URL(url);
  maintenance.pathname = '/postgres';
  const client = new pg.Client({ connectionString: maintenance.toString() });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount) return false;
    try {
      await client.query(`create database ${quoteIdentifier(name)}`);
    } catch (error) {
      // Another process created it between our check and our create: 42P04, or 23505 when
      // both creates ran at the same moment.
      if (['42P04', '23505'].includes((error as { code?: string }).code ?? '')) return false;
      throw error;
    }
    logger?.info({ database: name }, 'created database');
    return true;
  } finally {
    await client.end();
  }
}

/** Drops the database named in `url` (used by tests for their throwaway databases). */
export async function dropDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  const maintenance = new URL(url);
  maintenance.pathname = '/postgres';
  const client = new pg.Client({ connectionString: maintenance.toString() });
  await client.connect();
  try {
    await client.query(`drop database if exists ${quoteIdentifier(name)} with (force)`);
  } finally {
    await client.end();
  }
}

async function withAdvisoryLock<T>(
  url: string,
  lockName: string,
  work: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('select pg_advisory_lock(hashtext($1))', [lockName]);
    return await work(client);
  } finally {
    // Ending the session releases the lock even if unlocking is skipped by an error.
    await client.end();
  }
}

export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
