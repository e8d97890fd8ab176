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

  it('should keep synchronize off', () => {
    expect(dataSourceOptions({ path: ':memory:' }).synchronize).toBe(false);
  });
});
