import * as argon2 from 'argon2';
import { DataSource } from 'typeorm';
import { sql } from './helpers/database';
import {
  bearer,
  createTestApp,
  DEFAULT_PASSWORD,
  signedInUser,
  TestApp,
  TokenPair,
} from './helpers/test-app';

/**
 * Credential changes racing the requests they must cut off, each run many times with the second
 * request started at a random offset around the first (the window spans both Argon2 checks).
 * Whatever the interleaving, nothing opened with the old credentials may work once the change has
 * answered.
 */
const ROUNDS = 50;
const NEW_PASSWORD = 'a-brand-new-password';

const randomOffset = () => Math.floor(Math.random() * 90) - 10;
const after = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

describe('credential changes racing sign-ins and refreshes', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  /** Whether a token pair still opens anything: the access token at /protected, or a refresh. */
  async function survives(pair: TokenPair): Promise<boolean> {
    const access = await t.http.get('/protected').set(bearer(pair.access_token));
    const refresh = await t.http.post('/refresh').send({ refresh_token: pair.refresh_token });
    return access.status === 200 || refresh.status === 200;
  }

  async function changePassword(tokens: TokenPair) {
    return t.http
      .post('/password')
      .set(bearer(tokens.access_token))
      .send({ currentPassword: DEFAULT_PASSWORD, newPassword: NEW_PASSWORD });
  }

  async function signInWithOldPassword(email: string, offset: number) {
    await after(offset);
    return t.http.post('/signin').send({ email, password: DEFAULT_PASSWORD });
  }

  it(`should leave no session opened with the old password alive (${ROUNDS} rounds)`, async () => {
    const survivors: number[] = [];
    let raced = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const user = await signedInUser(t.http);
      const [change, signin] = await Promise.all([
        changePassword(user.tokens),
        signInWithOldPassword(user.email, randomOffset()),
      ]);
      expect(change.status).toBe(200);
      expect([200, 401]).toContain(signin.status);
      if (signin.status === 200) {
        raced++;
        if (await survives(signin.body as TokenPair)) {
          survivors.push(round);
        }
      }
      // The caller's own pre-change tokens are dead too; its new pair works.
      expect(await survives(user.tokens)).toBe(false);
      await t.http
        .get('/protected')
        .set(bearer((change.body as TokenPair).access_token))
        .expect(200);
    }
    expect(survivors).toEqual([]);
    // The offsets must have produced real races: some sign-ins finished before the change.
    expect(raced).toBeGreaterThan(0);
  });

  it(`should leave no refreshed pair of another session alive (${ROUNDS} rounds)`, async () => {
    const survivors: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const user = await signedInUser(t.http);
      const other = (
        await t.http.post('/signin').send({ email: user.email, password: DEFAULT_PASSWORD })
      ).body as TokenPair;
      const [change, refresh] = await Promise.all([
        changePassword(user.tokens),
        after(randomOffset()).then(() =>
          t.http.post('/refresh').send({ refresh_token: other.refresh_token }),
        ),
      ]);
      expect(change.status).toBe(200);
      if (refresh.status === 200 && (await survives(refresh.body as TokenPair))) {
        survivors.push(round);
      }
      expect(await survives(other)).toBe(false);
    }
    expect(survivors).toEqual([]);
  });

  it(`should leave no session of a deleted account alive (${ROUNDS} rounds)`, async () => {
    const survivors: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const user = await signedInUser(t.http);
      const [deletion, signin] = await Promise.all([
        t.http
          .delete('/me')
          .set(bearer(user.tokens.access_token))
          .send({ password: DEFAULT_PASSWORD }),
        signInWithOldPassword(user.email, randomOffset()),
      ]);
      expect(deletion.status).toBe(204);
      if (signin.status === 200 && (await survives(signin.body as TokenPair))) {
        survivors.push(round);
      }
    }
    expect(survivors).toEqual([]);
  });

  it(`should never let a re-hash at sign-in bring the old password back (${ROUNDS} rounds)`, async () => {
    const db = t.app.get(DataSource);
    // A hash with older parameters: the next successful sign-in re-hashes the password it checked.
    const weak = await argon2.hash(DEFAULT_PASSWORD, {
      type: argon2.argon2id,
      memoryCost: 4096,
      timeCost: 1,
      parallelism: 1,
    });
    const revived: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const user = await signedInUser(t.http);
      await sql(db, 'UPDATE users SET password_hash = ? WHERE id = ?', [weak, user.id]);
      const [change] = await Promise.all([
        changePassword(user.tokens),
        signInWithOldPassword(user.email, randomOffset()),
      ]);
      expect(change.status).toBe(200);
      const old = await t.http
        .post('/signin')
        .send({ email: user.email, password: DEFAULT_PASSWORD });
      if (old.status !== 401) {
        revived.push(round);
      }
      await t.http.post('/signin').send({ email: user.email, password: NEW_PASSWORD }).expect(200);
    }
    expect(revived).toEqual([]);
  });
});
