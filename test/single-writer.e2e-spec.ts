import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RevocationCheck } from '../src/auth/revocation/revocation-check';
import { exitOf, startBuiltApp, stopBuiltApp } from './helpers/built-app';
import { fakeClockOf } from './helpers/fake-clock';
import {
  bearer,
  createTestApp,
  DEFAULT_PASSWORD,
  EMBEDDED,
  signedInUser,
  signIn,
  signUp,
} from './helpers/test-app';

/**
 * The embedded mode keeps its revocation filters in the one process that owns the SQLite file:
 * a second process on the file refuses to start, and the lock ends with its process.
 */
describe('one process per SQLite file', () => {
  let dir: string;
  let dbPath: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'single-writer-'));
    dbPath = join(dir, 'auth.sqlite');
  });
  // SQLite is the subject: under `npm run test:pg` too, these apps stay on the file.
  const onFile = () => ({ DB_PATH: dbPath, ...EMBEDDED });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('should refuse a second app on a file another one holds, with a clear message', async () => {
    const first = await createTestApp(onFile());
    try {
      await expect(createTestApp(onFile())).rejects.toThrow(
        /Another process is using the SQLite database .*auth\.sqlite.*DATABASE_URL/s,
      );
      // The first one is untouched.
      await signedInUser(first.http);
    } finally {
      await first.close();
    }
    // Closed, it lets the next one in.
    const next = await createTestApp(onFile());
    await next.close();
  });

  it('should start again on the same file after the holder was killed with SIGKILL', async () => {
    const holder = await startBuiltApp(
      'holder',
      { DB_PATH: dbPath, LOG_LEVEL: 'silent' },
      {
        fromSource: true,
      },
    );
    let email: string;
    try {
      const response = await fetch(`${holder.base}/signup`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email: 'kept@example.com', password: DEFAULT_PASSWORD }),
      });
      expect(response.status).toBe(201);
      email = 'kept@example.com';
      await expect(createTestApp(onFile())).rejects.toThrow(/Another process/);
      holder.process.kill('SIGKILL');
      expect(await exitOf(holder)).toEqual({ code: null, signal: 'SIGKILL' });
    } finally {
      await stopBuiltApp(holder);
    }
    const t = await createTestApp(onFile());
    try {
      await signIn(t.http, email);
    } finally {
      await t.close();
    }
  });
});

describe('revocations across a restart with a shorter JWT_ACCESS_TTL', () => {
  it('should still refuse a revoked session whose token outlives the new lifetime', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ttl-restart-'));
    // The same key on both sides of the restart: only the lifetime changes.
    const env = {
      ...EMBEDDED,
      DB_PATH: join(dir, 'auth.sqlite'),
      JWT_SECRET: randomBytes(48).toString('base64'),
    };
    try {
      let t = await createTestApp({ ...env, JWT_ACCESS_TTL: '15m' });
      const user = await signUp(t.http);
      const tokens = await signIn(t.http, user.email);
      const other = await signIn(t.http, user.email);
      // Revoke all: the first session's access token stays unexpired for 15 minutes.
      await t.http
        .post('/revoke')
        .set(bearer(other.access_token))
        .send({ scope: 'all' })
        .expect(200);
      await t.close();

      t = await createTestApp({ ...env, JWT_ACCESS_TTL: '10s', SESSION_IDLE_TTL: '1h' });
      try {
        // A minute later, far past the new lifetime of 10 s, the filters are loaded again.
        fakeClockOf(t, Date.now() + 60_000);
        await t.app.get(RevocationCheck).reload();
        const response = await t.http.get('/protected').set(bearer(tokens.access_token));
        expect(response.status).toBe(401);
        expect(response.body.code).toBe('session_revoked');
      } finally {
        await t.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
