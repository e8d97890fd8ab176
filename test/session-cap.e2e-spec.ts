import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { sql, usingPostgres } from './helpers/database';
import {
  bearer,
  createTestApp,
  DEFAULT_PASSWORD,
  signIn,
  signUp,
  TestApp,
  TokenPair,
} from './helpers/test-app';

/** SESSIONS_PER_USER_MAX, and operations that end very many sessions at once. */
describe('sessions per user', () => {
  let t: TestApp;
  const MAX = 3;

  beforeAll(async () => {
    t = await createTestApp({ SESSIONS_PER_USER_MAX: String(MAX) });
  });
  afterAll(() => t.close());

  it('should end the least recently used session when a sign-in passes the cap', async () => {
    const user = await signUp(t.http);
    const pairs: TokenPair[] = [];
    for (let i = 0; i < MAX; i++) {
      pairs.push(await signIn(t.http, user.email));
    }
    // The first session is used again, so the second is now the least recently used.
    pairs[0] = (await t.http.post('/refresh').set(bearer(pairs[0].refresh_token)).expect(200))
      .body as TokenPair;
    pairs.push(await signIn(t.http, user.email));

    const ended = await t.http.get('/protected').set(bearer(pairs[1].access_token)).expect(401);
    expect(ended.body.code).toBe('session_revoked');
    const refresh = await t.http.post('/refresh').set(bearer(pairs[1].refresh_token));
    expect(refresh.body.code).toBe('session_revoked');
    for (const kept of [pairs[0], pairs[2], pairs[3]]) {
      await t.http.get('/protected').set(bearer(kept.access_token)).expect(200);
    }
    const list = await t.http.get('/sessions').set(bearer(pairs[3].access_token)).expect(200);
    expect(list.body).toHaveLength(MAX);
  });

  it("should leave other users' sessions alone", async () => {
    const a = await signUp(t.http);
    const b = await signUp(t.http);
    const bPair = await signIn(t.http, b.email);
    for (let i = 0; i < MAX + 2; i++) {
      await signIn(t.http, a.email);
    }
    await t.http.get('/protected').set(bearer(bPair.access_token)).expect(200);
  });
});

describe('ending very many sessions at once', () => {
  // Far past SQLite's 32,766 bound parameters: nothing may bind one parameter per session.
  const MANY = 40_000;

  it(`should change the password of a user with ${MANY} sessions and end all of them`, async () => {
    const t = await createTestApp({ SESSIONS_PER_USER_MAX: '10000' });
    try {
      const user = await signUp(t.http);
      const pair = await signIn(t.http, user.email);
      const db = t.app.get(DataSource);
      await insertSessions(db, user.id, MANY);

      const changed = await t.http
        .post('/password')
        .set(bearer(pair.access_token))
        .send({ currentPassword: DEFAULT_PASSWORD, newPassword: 'another-long-password' })
        .expect(200);
      expect(changed.body.refresh_token).toEqual(expect.any(String));
      const [{ left }] = await sql<{ left: number | string }[]>(
        db,
        'SELECT COUNT(*) AS "left" FROM sessions WHERE user_id = ? AND revoked_at IS NULL',
        [user.id],
      );
      expect(Number(left)).toBe(1); // the new session of the caller
      await t.http.get('/protected').set(bearer(pair.access_token)).expect(401);
    } finally {
      await t.close();
    }
  });
});

/** Session rows written straight into the table, in chunks the driver can bind. */
async function insertSessions(db: DataSource, userId: string, count: number): Promise<void> {
  const now = new Date();
  const later = new Date(now.getTime() + 86400_000);
  const stamp = (date: Date) =>
    usingPostgres() ? date : date.toISOString().replace('T', ' ').slice(0, 23);
  await db.transaction(async (manager) => {
    for (let done = 0; done < count; done += 1000) {
      const rows = Array.from({ length: Math.min(1000, count - done) }, () => [
        randomUUID(),
        userId,
        randomUUID().replace(/-/g, '').padEnd(64, '0'),
        stamp(now),
        stamp(now),
        stamp(later),
      ]);
      let n = 0;
      const placeholder = () => (usingPostgres() ? `$${++n}` : '?');
      const values = rows
        .map(() => `(${Array.from({ length: 6 }, placeholder).join(', ')})`)
        .join(', ');
      await manager.query(
        `INSERT INTO sessions (id, user_id, refresh_token_hash, created_at, last_used_at, expires_at) VALUES ${values}`,
        rows.flat(),
      );
    }
  });
}
