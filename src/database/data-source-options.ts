import { Client, defaults as pgDefaults, types as pgTypes } from 'pg';
import { DataSource, DataSourceOptions } from 'typeorm';
import type { DatabaseConfig } from '../config/configuration';
import { POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS } from './migrations';
import { holdExclusively } from './sqlite-lock';

/** How long a SQLite statement waits for a lock held by this process's own other work. */
const SQLITE_BUSY_TIMEOUT_MS = 5000;

/** PostgreSQL's OID of `timestamp without time zone`. */
const TIMESTAMP_OID = 1114;

/** Any 64-bit number of our own; instances starting together queue on it to migrate one by one. */
export const MIGRATION_LOCK_KEY = 7_270_305_818_411;

/** True when the service runs on PostgreSQL: state is then shared by every instance. */
export const isShared = (config: DatabaseConfig) => config.url !== undefined;

/**
 * The one description of the database, used by the app, the tests and the TypeORM CLI
 * (ormconfig.ts): PostgreSQL when DATABASE_URL is set, otherwise the SQLite file at DB_PATH. The
 * schema changes only through the dialect's migrations, which `runMigrations` applies at start-up.
 * Entities are not listed here: the app's feature modules register their own (autoLoadEntities),
 * and the CLI takes the list in src/entities.ts.
 */
export function dataSourceOptions(config: DatabaseConfig): DataSourceOptions {
  const common = {
    migrationsRun: false,
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: false,
  } as const;
  if (config.url !== undefined) {
    // Timestamps are stored as UTC in `timestamp` columns: written and read as UTC whatever the
    // time zone of the host, so instances in different zones agree.
    pgDefaults.parseInputDatesAsUTC = true;
    return {
      ...common,
      type: 'postgres',
      url: config.url,
      schema: config.schema,
      migrations: POSTGRES_MIGRATIONS,
      poolSize: config.poolSize,
      // Waiting for a connection is bounded: a request fails rather than queue for ever.
      connectTimeoutMS: 5000,
      extra: {
        options: `-c search_path=${config.schema}`,
        types: {
          getTypeParser: (oid: number, format?: 'text' | 'binary'): unknown =>
            oid === TIMESTAMP_OID && format !== 'binary'
              ? (text: string) => new Date(`${text.replace(' ', 'T')}Z`)
              : (pgTypes.getTypeParser as (oid: number, format?: string) => unknown)(oid, format),
        },
      },
    };
  }
  return {
    ...common,
    type: 'better-sqlite3',
    database: config.path,
    migrations: SQLITE_MIGRATIONS,
    enableWAL: config.path !== ':memory:',
    timeout: SQLITE_BUSY_TIMEOUT_MS,
    prepareDatabase: (db: { pragma(sql: string): unknown; exec(sql: string): unknown }) => {
      if (config.path !== ':memory:') {
        // First of all: one process per file, a second one refuses to start (DatabaseInUseError).
        holdExclusively(db, config.path, SQLITE_BUSY_TIMEOUT_MS);
      }
      db.pragma('synchronous = NORMAL');
    },
  };
}

/**
 * Applies pending migrations. On PostgreSQL an advisory lock makes instances that start together
 * take turns: the first migrates, the others wait, then find nothing left to do.
 */
export async function runMigrations(dataSource: DataSource): Promise<void> {
  if (dataSource.options.type !== 'postgres') {
    await dataSource.runMigrations();
    return;
  }
  // The lock is held on a connection of its own, outside the pool: the migrations may then use
  // every pooled connection (even with DATABASE_POOL_SIZE=1).
  const lock = new Client({
    connectionString: dataSource.options.url,
    connectionTimeoutMillis: 5000,
  });
  // Losing this connection releases the lock: the start-up then fails (and is retried) rather than
  // migrate unprotected, and the error never goes unhandled.
  let lost: Error | undefined;
  lock.on('error', (error) => (lost = error));
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const schema = dataSource.options.schema ?? 'public';
    if (!(await lock.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rowCount) {
      // DATABASE_SCHEMA is a validated identifier, safe to quote into the statement.
      await lock.query(`CREATE SCHEMA "${schema}"`);
    }
    await dataSource.runMigrations();
    if (lost) {
      throw new Error(`the migration lock was lost (${lost.message})`);
    }
  } finally {
    // Ending the session releases the lock too, even when unlocking fails.
    await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await lock.end();
  }
}

/** Connects and applies pending migrations; a failed try leaves no pool behind (it is retried). */
export async function openMigrated(options: DataSourceOptions): Promise<DataSource> {
  const dataSource = await new DataSource(options).initialize();
  try {
    await runMigrations(dataSource);
  } catch (error) {
    await dataSource.destroy();
    throw error;
  }
  return dataSource;
}
