import { DataSource } from 'typeorm';
import { DatabaseConfig, loadDatabaseConfig } from '../src/config/configuration';
import { dataSourceOptions } from '../src/database/data-source-options';
import { entityDataSourceOptions, sql, storeEnv } from './helpers/database';

/** The migrations, not synchronize, define the schema: they must match the entities exactly. */
describe('database schema', () => {
  let config: DatabaseConfig;
  let dataSource: DataSource;

  beforeEach(async () => {
    config = loadDatabaseConfig(await storeEnv(':memory:'));
    dataSource = new DataSource(entityDataSourceOptions(config));
    await dataSource.initialize();
  });

  afterEach(async () => {
    await dataSource.destroy();
  });

  it('should have no entity change without a migration', async () => {
    await dataSource.runMigrations();
    const pending = await dataSource.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((query) => query.query)).toEqual([]);
  });

  it('should revert every migration cleanly', async () => {
    const applied = await dataSource.runMigrations();
    expect(applied.length).toBeGreaterThan(0);
    for (let i = 0; i < applied.length; i++) {
      await dataSource.undoLastMigration();
    }
    const tables = await dataSource.query<{ name: string }[]>(
      dataSource.options.type === 'postgres'
        ? `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name <> 'migrations'`
        : `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('migrations', 'sqlite_sequence')`,
    );
    expect(tables).toEqual([]);
  });

  it('should keep users and their sessions through every later migration', async () => {
    const [first, ...later] = dataSourceOptions(config).migrations as (new () => {
      up(runner: unknown): Promise<void>;
    })[];
    const runner = dataSource.createQueryRunner();
    await new first().up(runner);
    await sql(
      dataSource,
      `INSERT INTO users (id, email, password_hash, created_at) VALUES ('u1', 'a@b.co', 'h', '2026-01-01 00:00:00.000')`,
    );
    await sql(
      dataSource,
      `INSERT INTO sessions (id, user_id, refresh_token_hash, created_at, last_used_at, expires_at) VALUES ('s1', 'u1', 'x', '2026-01-01 00:00:00.000', '2026-01-01 00:00:00.000', '2027-01-01 00:00:00.000')`,
    );
    for (const migration of later) {
      await new migration().up(runner);
    }
    expect(await runner.query('SELECT id FROM sessions')).toEqual([{ id: 's1' }]);
    expect(await runner.query('SELECT id FROM users')).toEqual([{ id: 'u1' }]);
    await runner.release();
  });

  it('should keep synchronize off', () => {
    expect(dataSourceOptions(config).synchronize).toBe(false);
  });
});
