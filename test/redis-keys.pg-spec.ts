import Redis from 'ioredis';
import { TEST_REDIS_URL, usingPostgres } from './helpers/database';
import {
  bearer,
  createTestApp,
  DEFAULT_PASSWORD,
  signIn,
  signUp,
  TestApp,
  uniqueEmail,
} from './helpers/test-app';

/** Every key under `prefix`, by SCAN (never KEYS). */
async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

/** What the service writes to Redis is keyed by hashes: no key holds an email address. */
describe('Redis keys', () => {
  let t: TestApp;
  let redis: Redis;

  beforeEach(async () => {
    if (!usingPostgres() || !TEST_REDIS_URL) {
      throw new Error('Run this suite with `npm run test:pg` (it needs PostgreSQL and Redis)');
    }
    // An app of its own, with its own key prefix (from storeEnv), and a lock after two failures.
    t = await createTestApp({ RATE_LIMIT_SIGNIN_FAILURES: '2' });
    redis = new Redis(TEST_REDIS_URL);
  });

  afterEach(async () => {
    redis?.disconnect();
    await t?.close();
  });

  it('should never contain an email, after sign-ins, failed sign-ins and a lock', async () => {
    const prefix = t.env.REDIS_KEY_PREFIX;
    expect(prefix).toBeTruthy();
    // Mixed case on the way in: the service normalises it, and neither spelling may show.
    const email = uniqueEmail('Keys.Owner');
    const [local] = email.split('@');
    await signUp(t.http, email);
    const tokens = await signIn(t.http, email);
    await t.http.post('/refresh').send({ refresh_token: tokens.refresh_token }).expect(200);
    // Another account is locked: two wrong passwords, then the right one refused.
    const other = uniqueEmail('Keys.Other');
    await signUp(t.http, other);
    for (let i = 0; i < 2; i++) {
      await t.http.post('/signin').send({ email: other, password: 'wrong-password' }).expect(401);
    }
    await t.http.post('/signin').send({ email: other, password: DEFAULT_PASSWORD }).expect(429);
    // Failed password checks on DELETE /me count too.
    await t.http
      .delete('/me')
      .set(bearer(tokens.access_token))
      .send({ password: 'wrong-password' })
      .expect(403);

    const keys = await keysUnder(redis, prefix);
    // The records really are in Redis: the per-client counters and the failed-sign-in records.
    expect(keys.some((key) => key.startsWith(`${prefix}signin-failures:`))).toBe(true);
    expect(keys.length).toBeGreaterThanOrEqual(3);
    const forbidden = [email, other, local, other.split('@')[0]].flatMap((text) => [
      text,
      text.toLowerCase(),
    ]);
    for (const key of keys) {
      for (const text of forbidden) {
        expect(key).not.toContain(text);
      }
    }
    // Nor any value of the failure records (counts and times only).
    for (const key of keys.filter((k) => k.startsWith(`${prefix}signin-failures:`))) {
      const record = JSON.stringify(await redis.hgetall(key));
      for (const text of forbidden) {
        expect(record).not.toContain(text);
      }
    }
  });
});
