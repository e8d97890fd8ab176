import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../src/database/data-source-options';

/** The migrations, not synchronize, define the schema: they must match the entities exactly. */
describe('database schema', () => {
  let dataSource: DataSource;

  beforeEach(async () => {
    dataSource = new DataSource({
      ...dataSourceOptions({ path: ':memory:' }),
      migrationsRun: false,
    });
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
      `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('migrations', 'sqlite_sequence')`,
    );
    expect(tables).toEqual([]);
  });

  it('should keep users and their sessions through every later migration', async () => {
    const [first, ...later] = dataSourceOptions({ path: ':memory:' }).migrations as (new () => {
      up(runner: unknown): Promise<void>;
    })[];
    const runner = dataSource.createQueryRunner();
    await new first().up(runner);
    await runner.query(
      `INSERT INTO users (id, email, password_hash, created_at) VALUES ('u1', 'a@b.co', 'h', '2026-01-01 00:00:00.000')`,
    );
    await runner.query(
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
    expect(dataSourceOptions({ path: ':memory:' }).synchronize).toBe(false);
  });
});
