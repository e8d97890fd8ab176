import { storeEnv, TEST_REDIS_URL, usingPostgres } from './helpers/database';
import {
  answersOf,
  everyRoute,
  expectOpenRoutesWork,
  limitedRoutes,
  LIMITS_UNAVAILABLE,
} from './helpers/outage';
import { startTcpProxy, TcpProxy, throughProxy } from './helpers/tcp-proxy';
import { createTestApp, DEFAULT_PASSWORD, signedInUser, signUp, TestApp } from './helpers/test-app';
import { waitFor } from './helpers/wait-for';

/**
 * A real Redis that goes away after the app has started, and comes back: the app reaches it
 * through a relay the test cuts. Needs `npm run test:pg` (the real PostgreSQL and Redis).
 */
async function withRedisBehindProxy(
  env: Record<string, string>,
  test: (t: TestApp, redis: TcpProxy) => Promise<void>,
): Promise<void> {
  if (!usingPostgres() || TEST_REDIS_URL === undefined) {
    throw new Error('Run this suite with `npm run test:pg` (it needs PostgreSQL and Redis)');
  }
  const redis = await startTcpProxy(
    new URL(TEST_REDIS_URL).hostname,
    Number(new URL(TEST_REDIS_URL).port || 6379),
  );
  let t: TestApp | undefined;
  try {
    t = await createTestApp({
      ...(await storeEnv(':memory:')),
      REDIS_URL: throughProxy(TEST_REDIS_URL, redis),
      RATE_LIMIT_ENABLED: 'true',
      ...env,
    });
    await test(t, redis);
  } finally {
    await t?.close();
    await redis.close();
  }
}

const readiness = async (t: TestApp) => {
  const response = await t.http.get('/health/ready');
  return { status: response.status, detail: (response.body as { detail?: string }).detail };
};
const redisDown = async (t: TestApp) => (await readiness(t)).detail === 'Not ready: redis down';
const ready = async (t: TestApp) => (await readiness(t)).status === 200;

describe('Redis going away after start-up', () => {
  it('should report Redis up in readiness while it answers', async () => {
    await withRedisBehindProxy({}, async (t) => {
      const response = await t.http.get('/health/ready').expect(200);
      expect(response.body.details).toEqual({
        database: { status: 'up' },
        redis: { status: 'up' },
      });
    });
  });

  it('should refuse every limited route with 503 while it is away, keep the others working, and recover', async () => {
    await withRedisBehindProxy({}, async (t, redis) => {
      const user = await signedInUser(t.http);
      const routes = limitedRoutes(t.http, user);

      await redis.cut();
      await waitFor('readiness to report Redis down', () => redisDown(t));
      const down = await t.http.get('/health/ready').expect(503);
      expect(down.headers['retry-after']).toBe('5');
      expect(await answersOf(routes)).toEqual(everyRoute(routes, LIMITS_UNAVAILABLE));
      await expectOpenRoutesWork(t.http, user);

      await redis.restore();
      await waitFor('readiness once Redis is back', () => ready(t));
      await t.http
        .post('/signin')
        .send({ email: user.email, password: DEFAULT_PASSWORD })
        .expect(200);
      await expectOpenRoutesWork(t.http, user);
    });
  }, 60_000);

  it('should count none of the attempts refused during the outage: both budgets are whole once it is back', async () => {
    // Per address: three sign-ins a window; per account and address: two failures.
    const env = { RATE_LIMIT_SIGNIN: '3', RATE_LIMIT_SIGNIN_FAILURES: '2' };
    await withRedisBehindProxy(env, async (t, redis) => {
      const user = await signUp(t.http);
      const wrong = () =>
        t.http.post('/signin').send({ email: user.email, password: 'wrong-password-1' });

      await redis.cut();
      await waitFor('readiness to report Redis down', () => redisDown(t));
      for (let i = 0; i < 4; i++) {
        const refused = await wrong();
        expect([refused.status, refused.body.code]).toEqual([503, 'service_unavailable']);
      }

      await redis.restore();
      await waitFor('readiness once Redis is back', () => ready(t));
      const answers = [];
      for (let i = 0; i < 4; i++) {
        const response = await wrong();
        answers.push(`${response.status} ${response.body.detail}`);
      }
      expect(answers).toEqual([
        '401 The email or password is incorrect',
        '401 The email or password is incorrect',
        '429 Too many failed sign-ins for this account; try again later',
        '429 Too many requests from this client; try again later',
      ]);
    });
  }, 60_000);
});
