import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { decodePayload } from './helpers/tokens';
import { Client } from 'pg';
import { MIGRATION_LOCK_KEY } from '../src/database/data-source-options';
import { storeEnv, TEST_DATABASE_URL, usingPostgres } from './helpers/database';
import { BuiltApp, ROOT, startBuiltApp, stopBuiltApp } from './helpers/built-app';
import { waitForMigrationLock, withApplicationName } from './helpers/migration-lock';
import { DEFAULT_PASSWORD, TokenPair, uniqueEmail } from './helpers/test-app';
import { runCli, spawnCli } from './helpers/cli';
import { waitFor } from './helpers/wait-for';
import { POSTGRES_MIGRATIONS } from '../src/database/migrations';

/**
 * Two real instances of the built service (dist/main.js) sharing one PostgreSQL schema and one
 * Redis prefix, as behind a load balancer. Every check here fails if revocation, refresh rotation
 * or rate limiting kept its state inside one process.
 */
describe('two instances sharing PostgreSQL and Redis', () => {
  let a: BuiltApp;
  let b: BuiltApp;
  let schema: string;
  /** What both instances run with, for the CLI too. */
  let env: Record<string, string>;
  // Every test speaks from a client address of its own (the instances trust X-Forwarded-For), so
  // each has its own per-client budget and its own failed-sign-in records, whatever ran before.
  let clients = 0;
  let client: string;

  beforeEach(() => {
    clients += 1;
    client = `10.${(clients >> 16) & 255}.${(clients >> 8) & 255}.${clients & 255}`;
  });

  beforeAll(async () => {
    if (!usingPostgres()) {
      throw new Error('Run this suite with `npm run test:pg` (it needs PostgreSQL and Redis)');
    }
    if (!existsSync(join(ROOT, 'dist/main.js'))) {
      throw new Error('Build first: `npm run build`');
    }
    const store = await storeEnv(':memory:');
    schema = store.DATABASE_SCHEMA;
    env = {
      ...store,
      NODE_ENV: 'production',
      ADMIN_REQUIRE_MFA: 'false',
      EMAIL_FLOWS: 'off',
      JWT_SECRET: randomBytes(48).toString('base64url'),
      LOG_LEVEL: 'warn',
      RATE_LIMIT_ENABLED: 'true',
      RATE_LIMIT_SIGNUP: '1000',
      RATE_LIMIT_SIGNIN: '1000',
      RATE_LIMIT_REFRESH: '1000',
      RATE_LIMIT_SIGNIN_FAILURES: '4',
      // Windows far longer than the suite: no count resets half-way through a test.
      RATE_LIMIT_WINDOW: '1h',
      RATE_LIMIT_SIGNIN_FAILURE_WINDOW: '1h',
      TRUST_PROXY: '1',
      REFRESH_REUSE_GRACE: '10s',
    };
    // Both start on an empty schema at once: one runs the migrations, the other waits for it.
    [a, b] = await Promise.all([
      startBuiltApp('A', env, { captureStdout: true }),
      startBuiltApp('B', env, { captureStdout: true }),
    ]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a, b].filter(Boolean).map((app) => stopBuiltApp(app)));
  });

  const query = async <T>(text: string, values: unknown[] = []): Promise<T[]> => {
    const client = new Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    try {
      await client.query(`SET search_path TO "${schema}"`);
      return (await client.query(text, values)).rows as T[];
    } finally {
      await client.end();
    }
  };

  const call = async (
    app: BuiltApp,
    method: string,
    path: string,
    body?: object,
    token?: string,
  ) => {
    const response = await fetch(`${app.base}${path}`, {
      method,
      headers: {
        'X-Forwarded-For': client,
        ...(body ? { 'Content-Type': 'application/json' } : {}),
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: (text ? JSON.parse(text) : {}) as Record<string, unknown>,
    };
  };

  const signUpAndIn = async (on: BuiltApp): Promise<{ email: string; tokens: TokenPair }> => {
    const email = uniqueEmail('multi');
    expect((await call(on, 'POST', '/signup', { email, password: DEFAULT_PASSWORD })).status).toBe(
      201,
    );
    const signin = await call(on, 'POST', '/signin', { email, password: DEFAULT_PASSWORD });
    expect(signin.status).toBe(200);
    return { email, tokens: signin.body as unknown as TokenPair };
  };

  it('should have migrated once, the second instance waiting for the first', async () => {
    // Without the lock, both would create the tables; the loser fails and TypeORM's retry logs it.
    for (const app of [a, b]) {
      expect(app.stdout).not.toMatch(/Unable to connect|Migration .* failed|ERROR/i);
    }
    const applied = await query<{ name: string }>('SELECT name FROM migrations');
    expect(applied.map((row) => row.name)).toEqual(
      POSTGRES_MIGRATIONS.map((migration) => migration.name),
    );
  });

  it('should accept on B a token issued by A', async () => {
    const { tokens } = await signUpAndIn(a);
    const response = await call(b, 'GET', '/protected', undefined, tokens.access_token);
    expect(response.status).toBe(200);
  });

  it('should reject on A, at the very next request, a token revoked on B', async () => {
    const { tokens } = await signUpAndIn(a);
    // A has verified the token once, so it sits in A's cache of verified tokens.
    expect((await call(a, 'GET', '/protected', undefined, tokens.access_token)).status).toBe(200);
    expect((await call(b, 'POST', '/revoke', undefined, tokens.access_token)).status).toBe(200);
    const after = await call(a, 'GET', '/protected', undefined, tokens.access_token);
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('token_revoked');
  });

  it('should end on A every token of a session that B ended', async () => {
    const { tokens } = await signUpAndIn(a);
    const other = await call(a, 'POST', '/refresh', { refresh_token: tokens.refresh_token });
    expect(other.status).toBe(200);
    const sid = decodePayload(tokens.access_token).sid as string;
    expect(
      (await call(b, 'DELETE', `/sessions/${sid}`, undefined, tokens.access_token)).status,
    ).toBe(204);
    const after = await call(a, 'GET', '/protected', undefined, other.body.access_token as string);
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('session_revoked');
  });

  it('should detect refresh-token reuse across instances and revoke the session everywhere', async () => {
    const { tokens } = await signUpAndIn(a);
    const second = await call(a, 'POST', '/refresh', { refresh_token: tokens.refresh_token });
    const third = await call(b, 'POST', '/refresh', {
      refresh_token: second.body.refresh_token as string,
    });
    expect([second.status, third.status]).toEqual([200, 200]);

    // The first token, two rotations old, comes back on A: theft.
    const replay = await call(a, 'POST', '/refresh', { refresh_token: tokens.refresh_token });
    expect(replay.status).toBe(401);
    expect(replay.body.code).toBe('refresh_token_reused');

    const current = await call(b, 'POST', '/refresh', {
      refresh_token: third.body.refresh_token as string,
    });
    expect(current.body.code).toBe('session_revoked');
    const access = await call(b, 'GET', '/protected', undefined, third.body.access_token as string);
    expect(access.body.code).toBe('session_revoked');
  });

  it('should never fork a session when one refresh token is spent on both instances at once', async () => {
    const { tokens } = await signUpAndIn(a);
    const attempts = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        call(i % 2 === 0 ? a : b, 'POST', '/refresh', { refresh_token: tokens.refresh_token }),
      ),
    );
    expect(attempts.map((attempt) => attempt.status)).toEqual(Array(12).fill(200));
    const successors = new Set(attempts.map((attempt) => attempt.body.refresh_token));
    expect(successors.size).toBe(1);

    // The one successor carries the session on, on either instance.
    const [successor] = [...successors] as string[];
    const next = await call(b, 'POST', '/refresh', { refresh_token: successor });
    expect(next.status).toBe(200);
    const sessions = await call(a, 'GET', '/sessions', undefined, next.body.access_token as string);
    expect((sessions.body as unknown as unknown[]).length).toBe(1);
    // One rotation for the twelve concurrent calls, then the one above: the update is a
    // compare-and-set, not only a derivation that happens to agree.
    const sid = decodePayload(tokens.access_token).sid as string;
    const [row] = await query<{ generation: number }>(
      'SELECT generation FROM sessions WHERE id = $1',
      [sid],
    );
    expect(row.generation).toBe(2);
  });

  it('should count failed sign-ins for one account on both instances together', async () => {
    const { email } = await signUpAndIn(a);
    for (const app of [a, b, a, b]) {
      const wrong = await call(app, 'POST', '/signin', { email, password: 'not-the-password' });
      expect(wrong.status).toBe(401);
    }
    // Four failures, two per instance: the limit of four is reached, on both.
    for (const app of [a, b]) {
      const locked = await call(app, 'POST', '/signin', { email, password: DEFAULT_PASSWORD });
      expect(locked.status).toBe(429);
      expect(locked.body.code).toBe('rate_limited');
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    }
  });

  /** An admin (made by the CLI, as the first one is), signed in on `on`. */
  const newAdmin = async (on: BuiltApp): Promise<string> => {
    const { email } = await signUpAndIn(on);
    const granted = await runCli(['admin:grant', email], env);
    expect(granted.code).toBe(0);
    const signin = await call(on, 'POST', '/signin', { email, password: DEFAULT_PASSWORD });
    return (signin.body as unknown as TokenPair).access_token;
  };

  const idOf = async (on: BuiltApp, admin: string, email: string): Promise<string> => {
    const found = await call(
      on,
      'GET',
      `/admin/users?query=${encodeURIComponent(email)}`,
      undefined,
      admin,
    );
    expect(found.status).toBe(200);
    return (found.body.users as { id: string }[])[0].id;
  };

  it('should refuse on B, at the very next request, the tokens of an account disabled on A', async () => {
    const admin = await newAdmin(a);
    const { email, tokens } = await signUpAndIn(b);
    // B has verified the token once, so it sits in B's cache of verified tokens.
    expect((await call(b, 'GET', '/protected', undefined, tokens.access_token)).status).toBe(200);
    const id = await idOf(a, admin, email);
    const disabled = await call(
      a,
      'POST',
      `/admin/users/${id}/disable`,
      { reason: 'two instances' },
      admin,
    );
    expect(disabled.status).toBe(200);

    const after = await call(b, 'GET', '/protected', undefined, tokens.access_token);
    expect([after.status, after.body.code]).toEqual([401, 'session_revoked']);
    const refresh = await call(b, 'POST', '/refresh', { refresh_token: tokens.refresh_token });
    expect(refresh.status).toBe(401);
    const signin = await call(b, 'POST', '/signin', { email, password: DEFAULT_PASSWORD });
    expect([signin.status, signin.body.code]).toEqual([403, 'account_disabled']);

    expect((await call(b, 'POST', `/admin/users/${id}/enable`, undefined, admin)).status).toBe(200);
    expect((await call(a, 'POST', '/signin', { email, password: DEFAULT_PASSWORD })).status).toBe(
      200,
    );
  });

  it('should lift on both instances a lock that an admin on one of them unlocks', async () => {
    const admin = await newAdmin(a);
    const { email } = await signUpAndIn(a);
    for (const app of [a, b, a, b]) {
      await call(app, 'POST', '/signin', { email, password: 'not-the-password' });
    }
    expect((await call(a, 'POST', '/signin', { email, password: DEFAULT_PASSWORD })).status).toBe(
      429,
    );
    const id = await idOf(b, admin, email);
    const detail = await call(b, 'GET', `/admin/users/${id}`, undefined, admin);
    expect((detail.body.lock as { lockedAddresses: number }).lockedAddresses).toBe(1);
    expect((await call(b, 'POST', `/admin/users/${id}/unlock`, undefined, admin)).status).toBe(204);
    for (const app of [a, b]) {
      expect(
        (await call(app, 'POST', '/signin', { email, password: DEFAULT_PASSWORD })).status,
      ).toBe(200);
    }
  });

  it('should print with audit:tail --follow the events either instance records', async () => {
    const { email } = await signUpAndIn(a);
    const follow = spawnCli(['audit:tail', '--user', email, '--follow'], env);
    let output = '';
    follow.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      // The latest events first (the sign-up and the sign-in), then those recorded from now on.
      await waitFor('the latest events', () => output.includes('signin.success'), 30_000);
      await call(b, 'POST', '/signin', { email, password: 'not-the-password' });
      await waitFor('the new event', () => output.includes('signin.failure'), 30_000);
      expect(output).toContain('{"reason":"invalid_credentials"}');
      expect(output).not.toContain('not-the-password');
    } finally {
      follow.kill('SIGTERM');
    }
  });

  it('should let no more guesses through than the limit, even all at once on both', async () => {
    const { email } = await signUpAndIn(a);
    const statuses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        call(i % 2 === 0 ? a : b, 'POST', '/signin', { email, password: 'not-the-password' }),
      ),
    );
    const counts = statuses.reduce<Record<number, number>>(
      (all, { status }) => ({ ...all, [status]: (all[status] ?? 0) + 1 }),
      {},
    );
    expect(counts).toEqual({ 401: 4, 429: 6 });
  });

  it('should share the per-client request limit between the instances', async () => {
    const remaining: number[] = [];
    for (const app of [a, b, a, b]) {
      const response = await call(app, 'POST', '/signin', {
        email: uniqueEmail('limit'),
        password: 'whatever-password',
      });
      expect(response.status).toBe(401);
      remaining.push(Number(response.headers.get('ratelimit-remaining')));
    }
    // One counter, of this test's own: each answer, on either instance, has one request fewer left.
    expect(remaining).toEqual([999, 998, 997, 996]);
  });
});

describe('migrations while another instance holds the migration lock', () => {
  it('should wait for the lock before touching the schema, then migrate', async () => {
    const store = await storeEnv(':memory:');
    // Its connections carry a name of their own: its lock request is told apart from any other.
    const name = `lock-wait-${randomBytes(6).toString('hex')}`;
    const holder = new Client({ connectionString: TEST_DATABASE_URL });
    await holder.connect();
    const migrationsTable = async () =>
      (
        await holder.query<{ name: string | null }>('SELECT to_regclass($1) AS name', [
          `"${store.DATABASE_SCHEMA}".migrations`,
        ])
      ).rows[0].name;
    let starting: Promise<BuiltApp> | undefined;
    let started = false;
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      starting = startBuiltApp('C', {
        ...store,
        DATABASE_URL: withApplicationName(TEST_DATABASE_URL!, name),
        NODE_ENV: 'production',
        EMAIL_FLOWS: 'off',
        JWT_SECRET: randomBytes(48).toString('base64url'),
        LOG_LEVEL: 'silent',
        // The lock has a connection of its own: one pooled connection is enough to migrate.
        DATABASE_POOL_SIZE: '1',
      });
      void starting.then(
        () => (started = true),
        () => undefined,
      );
      // The instance is queued on the lock: its request shows in pg_locks, not granted.
      await waitForMigrationLock(holder, name, { granted: false, unless: starting });
      expect(started).toBe(false);
      expect(await migrationsTable()).toBeNull();

      await holder.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
      await starting;
      expect(await migrationsTable()).not.toBeNull();
    } finally {
      // Ending the session releases the lock if a failure left it held; then the start finishes
      // (or fails by its deadline) and the process is stopped either way.
      await holder.end();
      const app = await starting?.catch(() => undefined);
      if (app) {
        await stopBuiltApp(app);
      }
    }
  }, 90_000);
});
