import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import {
  bearer,
  createTestApp,
  signedInUser,
  signIn,
  TestApp,
  TokenPair,
} from './helpers/test-app';
import { usingPostgres } from './helpers/database';

describe('POST /revoke', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  it('should revoke the access token so that it is rejected on the next request', async () => {
    const user = await signedInUser(t.http);
    const access = user.tokens.access_token;
    await t.http.get('/protected').set(bearer(access)).expect(200);
    const response = await t.http.post('/revoke').set(bearer(access)).expect(200);
    expect(response.body).toEqual({ message: 'Token has been revoked' });

    const reuse = await t.http.get('/protected').set(bearer(access)).expect(401);
    expect(reuse.body.code).toBe('token_revoked');
    expect(reuse.headers['www-authenticate']).toContain('error="invalid_token"');
    const again = await t.http.post('/revoke').set(bearer(access)).expect(401);
    expect(again.body.code).toBe('token_revoked');
  });

  it('should end the session so that its refresh token no longer works', async () => {
    const user = await signedInUser(t.http);
    await t.http.post('/revoke').set(bearer(user.tokens.access_token)).expect(200);
    const refresh = await t.http
      .post('/refresh')
      .send({ refresh_token: user.tokens.refresh_token })
      .expect(401);
    expect(refresh.body.code).toBe('session_revoked');
  });

  it("should leave the user's other sessions alone", async () => {
    const user = await signedInUser(t.http);
    const other = await signIn(t.http, user.email);
    await t.http.post('/revoke').set(bearer(user.tokens.access_token)).expect(200);
    await t.http.get('/protected').set(bearer(other.access_token)).expect(200);
    await t.http.post('/refresh').send({ refresh_token: other.refresh_token }).expect(200);
  });

  it('should need an access token', async () => {
    const response = await t.http.post('/revoke').expect(401);
    expect(response.body.code).toBe('token_missing');
  });

  it('should not accept a refresh token in place of the access token', async () => {
    const user = await signedInUser(t.http);
    await t.http.post('/revoke').set(bearer(user.tokens.refresh_token)).expect(401);
    await t.http.get('/protected').set(bearer(user.tokens.access_token)).expect(200);
  });
});

describe('revocation across a restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'auth-restart-'));
  const env = {
    DB_PATH: join(dir, 'auth.sqlite'),
    REFRESH_REUSE_GRACE: '0',
    JWT_SECRET: 'restart-test-secret-6f1c2d3e4b5a4c7d8e9f0a1b2c3d4e5f',
  };

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('should still reject a revoked token after the app restarts on the same database', async () => {
    const first = await createTestApp(env);
    let user: Awaited<ReturnType<typeof signedInUser>>;
    let kept: TokenPair;
    let stolen: TokenPair;
    try {
      // The run's own dialect: PostgreSQL under `npm run test:pg`, the SQLite file otherwise.
      expect(first.app.get(DataSource).options.type).toBe(
        usingPostgres() ? 'postgres' : 'better-sqlite3',
      );
      user = await signedInUser(first.http);
      kept = await signIn(first.http, user.email);
      stolen = await signIn(first.http, user.email);
      await first.http.post('/revoke').set(bearer(user.tokens.access_token)).expect(200);
      // Reuse detection revokes the whole session of `stolen`.
      await first.http.post('/refresh').send({ refresh_token: stolen.refresh_token }).expect(200);
      const reuse = await first.http
        .post('/refresh')
        .send({ refresh_token: stolen.refresh_token })
        .expect(401);
      expect(reuse.body.code).toBe('refresh_token_reused');
    } finally {
      await first.close();
    }

    const second = await createTestApp(env);
    try {
      const response = await second.http
        .get('/protected')
        .set(bearer(user.tokens.access_token))
        .expect(401);
      expect(response.body.code).toBe('token_revoked');
      const refresh = await second.http
        .post('/refresh')
        .send({ refresh_token: user.tokens.refresh_token })
        .expect(401);
      expect(refresh.body.code).toBe('session_revoked');
      const sessionRevoked = await second.http
        .get('/protected')
        .set(bearer(stolen.access_token))
        .expect(401);
      expect(sessionRevoked.body.code).toBe('session_revoked');
      await second.http.get('/protected').set(bearer(kept.access_token)).expect(200);
    } finally {
      await second.close();
    }
  });
});

/**
 * A property of the SQLite dialect itself, so it runs on SQLite in every run (under
 * `npm run test:pg` too): a file database is opened in WAL mode, whose readers never wait for the
 * writer.
 */
describe('a SQLite file database', () => {
  const dir = mkdtempSync(join(tmpdir(), 'auth-wal-'));

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('should be opened in WAL mode', async () => {
    const t = await createTestApp({
      DB_PATH: join(dir, 'auth.sqlite'),
      DATABASE_URL: '',
      DATABASE_SCHEMA: '',
      REDIS_URL: '',
      REDIS_KEY_PREFIX: '',
    });
    try {
      const db = t.app.get(DataSource);
      expect(db.options.type).toBe('better-sqlite3');
      const [{ journal_mode }] = await db.query<{ journal_mode: string }[]>('PRAGMA journal_mode');
      expect(journal_mode).toBe('wal');
    } finally {
      await t.close();
    }
  });
});
