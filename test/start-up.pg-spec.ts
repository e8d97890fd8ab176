import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { loadDatabaseConfig } from '../src/config/configuration';
import { MIGRATION_LOCK_KEY, openMigrated } from '../src/database/data-source-options';
import { POSTGRES_MIGRATIONS } from '../src/database/migrations';
import { BuiltApp, freePort, ROOT, startBuiltApp, stopBuiltApp } from './helpers/built-app';
import {
  entityDataSourceOptions,
  runPrefix,
  storeEnv,
  TEST_DATABASE_URL,
  usingPostgres,
} from './helpers/database';
import {
  waitForBackendGone,
  waitForMigrationLock,
  withApplicationName,
} from './helpers/migration-lock';

/** The one PostgreSQL migration: what a fully migrated schema lists in its migrations table. */
/** Every PostgreSQL migration, by name, oldest first. */
const MIGRATIONS = POSTGRES_MIGRATIONS.map((migration) => migration.name);

const instanceEnv = (store: Record<string, string>, name: string) => ({
  ...store,
  // Its connections are told apart from those of other suites by this name.
  DATABASE_URL: withApplicationName(TEST_DATABASE_URL!, name),
  REDIS_URL: '',
  NODE_ENV: 'production',
  EMAIL_FLOWS: 'off',
  JWT_SECRET: randomBytes(48).toString('base64url'),
  LOG_LEVEL: 'silent',
});

async function connect(): Promise<Client> {
  const client = new Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  return client;
}

const appliedMigrations = async (client: Client, schema: string) =>
  (
    await client.query<{ name: string }>(`SELECT name FROM "${schema}".migrations ORDER BY id`)
  ).rows.map((row) => row.name);

/** Polls `condition` every 20 ms until it holds, failing after `deadlineMs`. */
async function until(what: string, condition: () => Promise<boolean>, deadlineMs = 30_000) {
  const deadline = Date.now() + deadlineMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(`${what}: not within ${deadlineMs} ms`);
    }
    await new Promise((done) => setTimeout(done, 20));
  }
}

describe('start-up on PostgreSQL', () => {
  let client: Client;

  beforeAll(async () => {
    if (!usingPostgres()) {
      throw new Error('Run this suite with `npm run test:pg` (it needs PostgreSQL)');
    }
    if (!existsSync(join(ROOT, 'dist/main.js'))) {
      throw new Error('Build first: `npm run build`');
    }
    client = await connect();
  });

  afterAll(async () => {
    await client?.end();
  });

  it('should create a missing DATABASE_SCHEMA, then migrate it', async () => {
    // Under the run's prefix, so that the global teardown drops it too if this test cannot.
    const schema = `${runPrefix()}new_${randomBytes(6).toString('hex')}`;
    const exists = async () =>
      (await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rowCount ===
      1;
    let app: BuiltApp | undefined;
    try {
      expect(await exists()).toBe(false);
      app = await startBuiltApp('new-schema', {
        ...instanceEnv({ DATABASE_SCHEMA: schema }, `new-schema-${randomBytes(4).toString('hex')}`),
        DB_PATH: ':memory:',
      });
      expect(await exists()).toBe(true);
      expect(await appliedMigrations(client, schema)).toEqual(MIGRATIONS);
      // The tables are there and in use: an account made through the API lands in this schema.
      const signup = await fetch(`${app.base}/signup`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          email: 'new-schema@example.com',
          password: 'correct-horse-battery',
        }),
      });
      expect(signup.status).toBe(201);
      const users = await client.query(`SELECT email FROM "${schema}".users`);
      expect(users.rows).toEqual([{ email: 'new-schema@example.com' }]);
    } finally {
      if (app) {
        await stopBuiltApp(app);
      }
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    }
  }, 90_000);

  it('should not migrate when its request for the migration lock is cut off, but queue again', async () => {
    const store = await storeEnv(':memory:');
    const name = `lock-cut-${randomBytes(4).toString('hex')}`;
    const holder = await connect();
    let starting: Promise<BuiltApp> | undefined;
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      starting = startBuiltApp('lock-cut', instanceEnv(store, name));
      const first = await waitForMigrationLock(holder, name, { granted: false, unless: starting });
      // The connection waiting for the lock is lost (as when PostgreSQL restarts or a proxy drops it).
      await holder.query('SELECT pg_terminate_backend($1)', [first]);
      await waitForBackendGone(holder, first);
      // That attempt fails and the next one queues for the lock again: it never migrates without it.
      const second = await waitForMigrationLock(holder, name, { granted: false, unless: starting });
      expect(second).not.toBe(first);
      const table = await holder.query<{ name: string | null }>('SELECT to_regclass($1) AS name', [
        `"${store.DATABASE_SCHEMA}".migrations`,
      ]);
      expect(table.rows[0].name).toBeNull();

      await holder.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
      await starting;
      expect(await appliedMigrations(holder, store.DATABASE_SCHEMA)).toEqual(MIGRATIONS);
    } finally {
      await holder.end(); // releases the lock if a failure left it held
      const app = await starting?.catch(() => undefined);
      if (app) {
        await stopBuiltApp(app);
      }
    }
  }, 90_000);

  it('should fail the start-up, exit 1, when the migration lock is lost on every try', async () => {
    // A migrated schema: each try of the instance takes the lock, then reads the migrations table.
    const store = await storeEnv(':memory:');
    const schema = store.DATABASE_SCHEMA;
    const migrated = await openMigrated(entityDataSourceOptions(loadDatabaseConfig(store)));
    await migrated.destroy();
    const name = `lock-lost-${randomBytes(4).toString('hex')}`;
    const table = `"${schema}".migrations`;

    // Two sessions take turns holding the migrations table, so that every try of the instance
    // stops at its read of it, holding the migration lock: the moment to cut the lock's connection.
    const blockers = [await connect(), await connect()];
    const pids = await Promise.all(
      blockers.map(
        async (b) => (await b.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid,
      ),
    );
    const waitsForTable = async (pid: number | undefined, applicationName?: string) => {
      if (instance?.process.exitCode !== null) {
        throw new Error('the instance has exited');
      }
      return (
        ((
          await client.query(
            `SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'relation' AND NOT l.granted AND l.relation = to_regclass($1)
              AND (a.pid = $2 OR a.application_name = $3)`,
            [table, pid ?? 0, applicationName ?? ''],
          )
        ).rowCount ?? 0) > 0
      );
    };

    let instance: Spawned | undefined;
    const pending: Promise<unknown>[] = [];
    try {
      await blockers[0].query('BEGIN');
      await blockers[0].query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
      let holding = 0;
      instance = await spawnMain(instanceEnv(store, name));
      const exited = instance.exited;
      let tries = 0;
      for (;;) {
        // The try holds the migration lock and waits for the table; or the instance gave up.
        const outcome = await Promise.race([
          exited.then(() => 'exited' as const),
          (async () => {
            const lockPid = await waitForMigrationLock(client, name, {
              granted: true,
              unless: exited,
              deadlineMs: 60_000,
            });
            await until('the instance waits for the migrations table', () =>
              waitsForTable(undefined, name),
            );
            return lockPid;
          })(),
        ]).catch((error: unknown) => {
          if (instance!.process.exitCode !== null) {
            return 'exited' as const;
          }
          throw error;
        });
        if (outcome === 'exited') {
          break;
        }
        tries += 1;
        // The other session queues for the table behind the instance's read, to hold it next.
        const next = 1 - holding;
        pending.push(
          blockers[next]
            .query('BEGIN')
            .then(() => blockers[next].query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`)),
        );
        await until('the next blocker queues for the table', () => waitsForTable(pids[next]));
        // The migration lock's connection is lost while the try holds it.
        await client.query('SELECT pg_terminate_backend($1)', [outcome]);
        await waitForBackendGone(client, outcome);
        // The try may go on: it reads the table, finds nothing to do, and must notice the loss.
        await blockers[holding].query('COMMIT');
        holding = next;
      }
      // The last queued session holds the table now: let it go before reading it.
      await Promise.all(pending);
      await blockers[holding].query('ROLLBACK');
      const { code } = await exited;
      expect(code).toBe(1);
      // TypeORM's retries: nine tries, each of which lost the lock; none of them served.
      expect(tries).toBe(9);
      expect(instance.stderr).toContain('Start-up failed: the migration lock was lost');
      expect(await appliedMigrations(client, schema)).toEqual(MIGRATIONS);
    } finally {
      if (instance && instance.process.exitCode === null && instance.process.signalCode === null) {
        instance.process.kill('SIGKILL');
        await instance.exited;
      }
      for (const blocker of blockers) {
        await blocker.end();
      }
      await Promise.allSettled(pending);
    }
  }, 120_000);
});

interface Spawned {
  process: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<{ code: number | null; signal: string | null }>;
}

/**
 * dist/main.js with both output streams kept: a failed start-up reports on stderr (the logs are
 * buffered until then). The caller kills it if it is still running.
 */
async function spawnMain(env: Record<string, string>): Promise<Spawned> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(ROOT, 'dist/main.js')], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const spawned: Spawned = {
    process: child,
    stdout: '',
    stderr: '',
    exited: new Promise((done) => child.once('exit', (code, signal) => done({ code, signal }))),
  };
  child.stdout.on('data', (chunk: Buffer) => (spawned.stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (spawned.stderr += chunk.toString('utf8')));
  return spawned;
}
