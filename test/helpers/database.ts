import { createHash, randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource, DataSourceOptions } from 'typeorm';
import type { DatabaseConfig } from '../../src/config/configuration';
import { dataSourceOptions } from '../../src/database/data-source-options';
import { ENTITIES } from '../../src/entities';

/**
 * Where the suites keep their data. `npm test` runs on SQLite; `npm run test:pg` sets
 * TEST_DATABASE_URL and TEST_REDIS_URL, and every app a suite starts then gets its own PostgreSQL
 * schema and Redis key prefix, removed again by the global teardown.
 */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL;
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL;
export const usingPostgres = () => TEST_DATABASE_URL !== undefined;

/** Every schema and key prefix of one run starts with this, so the teardown finds them. */
export const runPrefix = () => `t_${process.env.TEST_RUN_ID ?? 'local'}_`;

/**
 * The variables that point an app at its store. On SQLite, `dbPath` is the file (`:memory:` for a
 * fresh one). On PostgreSQL, the same `dbPath` maps to the same schema, so an app restarted with it
 * finds its data again, and `:memory:` gets a new schema every time.
 */
export async function storeEnv(dbPath: string): Promise<Record<string, string>> {
  if (!usingPostgres()) {
    return { DB_PATH: dbPath };
  }
  const key =
    dbPath === ':memory:'
      ? randomBytes(6).toString('hex')
      : createHash('sha256').update(dbPath).digest('hex').slice(0, 12);
  const schema = `${runPrefix()}${key}`;
  const client = new Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  } finally {
    await client.end();
  }
  return {
    DB_PATH: dbPath,
    DATABASE_URL: TEST_DATABASE_URL!,
    DATABASE_SCHEMA: schema,
    REDIS_URL: TEST_REDIS_URL ?? '',
    REDIS_KEY_PREFIX: `${schema}:`,
  };
}

/**
 * The app's database options with every entity, for a DataSource built without the app's modules
 * (which register their entities themselves), as the TypeORM CLI builds it in ormconfig.ts.
 */
export function entityDataSourceOptions(config: DatabaseConfig): DataSourceOptions {
  return { ...dataSourceOptions(config), entities: ENTITIES };
}

/** A query with `?` placeholders, run on either dialect. */
export function sql<T = unknown>(db: DataSource, text: string, params: unknown[] = []): Promise<T> {
  let n = 0;
  const native = db.options.type === 'postgres' ? text.replace(/\?/g, () => `$${++n}`) : text;
  return db.query<T>(native, params);
}
