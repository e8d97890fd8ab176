import { registerAs } from '@nestjs/config';
import { ConfigError } from './config.error';
import { Env, EnvReader } from './env-reader';

export interface DatabaseConfig {
  /** SQLite file, or `:memory:`; its folder also keeps a generated development secret. */
  path: string;
  /** PostgreSQL connection URL (DATABASE_URL); without it the SQLite file is the database. */
  url?: string;
  /** PostgreSQL schema holding the tables. */
  schema: string;
  /** Connections per instance to PostgreSQL. */
  poolSize: number;
}

export function loadDatabaseConfig(env: Env): DatabaseConfig {
  const read = new EnvReader(env);
  const url = read.raw('DATABASE_URL')?.trim();
  if (url !== undefined && !/^postgres(ql)?:\/\/[^\s]+$/.test(url)) {
    // The URL may hold a password: it is never echoed.
    throw new ConfigError('DATABASE_URL', 'must be a postgres:// or postgresql:// URL');
  }
  const schema = read.string('DATABASE_SCHEMA', 'public', 63);
  if (!/^[a-z_][a-z0-9_]*$/.test(schema) || schema.startsWith('pg_')) {
    throw new ConfigError(
      'DATABASE_SCHEMA',
      'must be a lower-case SQL identifier not starting with pg_',
    );
  }
  return {
    path: read.string('DB_PATH', './data/auth.sqlite', 4096),
    url,
    schema,
    poolSize: read.int('DATABASE_POOL_SIZE', 10, 1, 1000),
  };
}

export const databaseConfig = registerAs('database', () => loadDatabaseConfig(process.env));
