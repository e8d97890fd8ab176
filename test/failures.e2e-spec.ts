import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import Database from 'better-sqlite3';
import { DataSource } from 'typeorm';
import { ExpiredRowsPurger } from '../src/auth/expired-rows.purger';
import { PasswordHasher } from '../src/auth/passwords/password-hasher.service';
import { bearer, createTestApp, DEFAULT_PASSWORD, signedInUser, TestApp } from './helpers/test-app';
import { decodePayload } from './helpers/tokens';
import { sql } from './helpers/database';

describe('server faults', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t.close();
    jest.restoreAllMocks();
  });

  it('should answer a database fault with a generic 500 and log no SQL, values or secrets', async () => {
    const user = await signedInUser(t.http);
    const logged: string[] = [];
    jest.spyOn(Logger.prototype, 'error').mockImplementation((message: unknown) => {
      logged.push(String(message));
    });
    await sql(t.app.get(DataSource), 'DROP TABLE sessions');

    const response = await t.http
      .post('/signin')
      .send({ email: user.email, password: DEFAULT_PASSWORD });
    expect(response.status).toBe(500);
    expect(response.body).toEqual({
      type: 'urn:nest-jwt-auth:problem:internal_error',
      title: 'Internal server error',
      status: 500,
      detail: 'An unexpected error occurred',
      code: 'internal_error',
      instance: '/signin',
    });
    expect(logged.length).toBeGreaterThan(0);
    const everything = logged.join('\n');
    expect(everything).not.toMatch(/INSERT|sessions|correct-horse|argon2/);
    expect(everything).not.toContain(user.tokens.access_token);
  });
});

// What /protected does without the sessions table differs by dialect, so each dialect has its own
// test: SQLite's here (forced, so it runs under both `npm test` and `npm run test:pg`), PostgreSQL's
// in test/database-outage.pg-spec.ts.
describe('server faults on SQLite', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('should keep /protected working without the sessions table (the revocation check needs no query)', async () => {
    const t = await createTestApp({ DB_PATH: ':memory:', DATABASE_URL: '', REDIS_URL: '' });
    try {
      expect(t.app.get(DataSource).options.type).toBe('better-sqlite3');
      const user = await signedInUser(t.http);
      jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      await sql(t.app.get(DataSource), 'DROP TABLE sessions');
      await t.http
        .post('/signin')
        .send({ email: user.email, password: DEFAULT_PASSWORD })
        .expect(500);
      const response = await t.http
        .get('/protected')
        .set(bearer(user.tokens.access_token))
        .expect(200);
      expect(response.body.user).toEqual({ id: user.id, email: user.email });
    } finally {
      await t.close();
    }
  });
});

describe(ExpiredRowsPurger.name, () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  it('should delete revocations of expired tokens and keep the others', async () => {
    const a = await signedInUser(t.http);
    const b = await signedInUser(t.http);
    await t.http.post('/revoke').set(bearer(a.tokens.access_token)).expect(200);
    await t.http.post('/revoke').set(bearer(b.tokens.access_token)).expect(200);
    const db = t.app.get(DataSource);
    const jtiA = decodePayload(a.tokens.access_token).jti as string;
    await sql(db, `UPDATE revoked_tokens SET expires_at = ? WHERE jti = ?`, [
      '2000-01-01 00:00:00.000',
      jtiA,
    ]);

    const purged = await t.app.get(ExpiredRowsPurger).purge();
    expect(purged.revokedTokens).toBe(1);
    const rows = await db.query<{ jti: string }[]>('SELECT jti FROM revoked_tokens');
    expect(rows.map((row) => row.jti)).toEqual([decodePayload(b.tokens.access_token).jti]);
    await t.http.get('/protected').set(bearer(b.tokens.access_token)).expect(401);
  });
});

describe(`${ExpiredRowsPurger.name} and deleted accounts`, () => {
  it('should remove a deleted account and its sessions once no token of it can be live', async () => {
    const t = await createTestApp();
    try {
      const gone = await signedInUser(t.http);
      const kept = await signedInUser(t.http);
      await t.http
        .delete('/me')
        .set(bearer(gone.tokens.access_token))
        .send({ password: DEFAULT_PASSWORD })
        .expect(204);
      const db = t.app.get(DataSource);
      const purger = t.app.get(ExpiredRowsPurger);
      expect((await purger.purge()).deletedUsers).toBe(0);
      await sql(db, `UPDATE users SET deleted_at = ? WHERE id = ?`, [
        '2000-01-01 00:00:00.000',
        gone.id,
      ]);
      expect((await purger.purge()).deletedUsers).toBe(1);
      const sessions = await db.query<{ user_id: string }[]>('SELECT user_id FROM sessions');
      expect(sessions.map((row) => row.user_id)).toEqual([kept.id]);
      await t.http.get('/protected').set(bearer(kept.tokens.access_token)).expect(200);
    } finally {
      await t.close();
    }
  });
});

describe('production start-up', () => {
  // Always on in-memory SQLite: a module that fails to compile cannot be closed, and connections
  // to servers opened meanwhile would outlive the test (main.ts exits on this error instead).
  const embedded = { DB_PATH: ':memory:', DATABASE_URL: '', REDIS_URL: '' };

  it('should refuse to start without JWT_SECRET', async () => {
    await expect(
      createTestApp({
        ...embedded,
        NODE_ENV: 'production',
        SMTP_URL: 'smtp://127.0.0.1:25',
        PUBLIC_URL: 'https://auth.example.test',
        JWT_SECRET: '',
      }),
    ).rejects.toThrow(/JWT_SECRET is required when NODE_ENV=production/);
  });

  it('should refuse a short secret', async () => {
    await expect(
      createTestApp({
        ...embedded,
        NODE_ENV: 'production',
        SMTP_URL: 'smtp://127.0.0.1:25',
        PUBLIC_URL: 'https://auth.example.test',
        JWT_SECRET: 'too-short',
      }),
    ).rejects.toThrow(/at least 32 bytes/);
  });
});

describe('graceful shutdown', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('should finish an in-flight sign-in before the database closes', async () => {
    const t = await createTestApp();
    let closing: Promise<void> | undefined;
    let release!: () => void;
    try {
      const user = await signedInUser(t.http);
      // Hold the sign-in inside the password check until the shutdown is under way.
      const gate = new Promise<void>((done) => (release = done));
      let entered!: () => void;
      const reached = new Promise<void>((done) => (entered = done));
      const verify = PasswordHasher.prototype.verify;
      jest.spyOn(PasswordHasher.prototype, 'verify').mockImplementation(async function (
        this: PasswordHasher,
        ...args
      ) {
        entered();
        await gate;
        return verify.apply(this, args);
      });
      // The shutdown is under way once the app closes its HTTP server: its destroy hooks have run,
      // and only the shutdown hooks (the database and Redis closing) are left after it.
      const adapter = t.app.getHttpAdapter();
      const closeHttp = adapter.close.bind(adapter);
      let httpClosing!: () => void;
      const httpClosed = new Promise<void>((done) => (httpClosing = done));
      jest.spyOn(adapter, 'close').mockImplementation((): Promise<void> => {
        httpClosing();
        return closeHttp() as Promise<void>;
      });

      // Sent now (then() starts a supertest request), answered once released.
      const answered = t.http
        .post('/signin')
        .send({ email: user.email, password: DEFAULT_PASSWORD })
        .then((r) => r);
      await reached;
      closing = t.close();
      await httpClosed;
      release();
      const answer = await answered;
      expect(answer.status).toBe(200);
      expect(decodePayload(answer.body.access_token).sub).toBe(user.id);
      await closing;
    } finally {
      release?.();
      await (closing ?? t.close());
    }
  });
});

describe('an embedded database another process tries to lock', () => {
  it("should stay the app's: the other connection is refused and the app keeps serving", async () => {
    // Before the app held SQLite's exclusive lock, another connection locking the file made every
    // write wait out the busy timeout and answer 503; now that connection cannot lock it at all.
    const dir = mkdtempSync(join(tmpdir(), 'auth-busy-'));
    const dbPath = join(dir, 'auth.sqlite');
    const t = await createTestApp({ DB_PATH: dbPath, DATABASE_URL: '', REDIS_URL: '' });
    const other = new Database(dbPath, { timeout: 0 });
    try {
      expect(() => other.exec('BEGIN EXCLUSIVE')).toThrow(
        expect.objectContaining({ code: 'SQLITE_BUSY' }),
      );
      await t.http
        .post('/signup')
        .send({ email: 'busy@example.com', password: DEFAULT_PASSWORD })
        .expect(201);
    } finally {
      other.close();
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 20_000);
});
