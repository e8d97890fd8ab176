import { DataSourceOptions } from 'typeorm';
import { RevokedToken } from '../auth/revoked-tokens/revoked-token.entity';
import { Session } from '../auth/sessions/session.entity';
import type { DatabaseConfig } from '../config/configuration';
import { User } from '../users/user.entity';
import { MIGRATIONS } from './migrations';

export const ENTITIES = [User, Session, RevokedToken];

/**
 * The one description of the database, used by the app, the tests and the TypeORM CLI
 * (ormconfig.ts). The schema changes only through migrations, which run at start-up.
 */
export function dataSourceOptions(config: DatabaseConfig): DataSourceOptions {
  return {
    type: 'better-sqlite3',
    database: config.path,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsRun: true,
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: false,
    enableWAL: config.path !== ':memory:',
    timeout: 5000,
    prepareDatabase: (db: { pragma(sql: string): unknown }) => {
      db.pragma('synchronous = NORMAL');
    },
  };
}
