import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { FailedSigninLimiter } from '../src/auth/rate-limit/failed-signin-limiter';
import { AppException } from '../src/common/errors/app.exception';
import { loadRateLimitConfig } from '../src/config/configuration';
import { runPrefix, TEST_REDIS_URL } from './helpers/database';

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Seconds the lock has left (its Retry-After), or 0 when the account may be tried. */
async function lockLeft(limiter: FailedSigninLimiter, account: string): Promise<number> {
  try {
    await limiter.assertAllowed(account, '203.0.113.7');
    return 0;
  } catch (error) {
    expect(error).toBeInstanceOf(AppException);
    return Number((error as AppException).headers['Retry-After']);
  }
}

/**
 * The failed-sign-in lock behaves the same in this process and in Redis (where it is a Lua
 * script): the limit, the lock, its doubling, the reset on success, and per-address keys.
 */
describe.each(['memory', 'redis'] as const)('%s failed sign-in lock', (store) => {
  let redis: Redis | undefined;
  let limiter: FailedSigninLimiter;

  beforeAll(() => {
    if (!TEST_REDIS_URL) {
      throw new Error('Run this suite with `npm run test:pg` (it needs Redis)');
    }
    redis =
      store === 'redis'
        ? new Redis(TEST_REDIS_URL, { keyPrefix: `${runPrefix()}limiter:` })
        : undefined;
    const config = loadRateLimitConfig({
      RATE_LIMIT_SIGNIN_FAILURES: '3',
      RATE_LIMIT_SIGNIN_FAILURE_WINDOW: '1',
    });
    limiter = new FailedSigninLimiter(config, redis);
  });

  afterAll(() => {
    redis?.disconnect();
  });

  it('should lock after the limit, double the next lock, and clear on success', async () => {
    const account = `user:${randomUUID()}`;
    for (let i = 0; i < 2; i++) {
      await limiter.recordFailure(account, '203.0.113.7');
      expect(await lockLeft(limiter, account)).toBe(0);
    }
    await limiter.recordFailure(account, '203.0.113.7');
    expect(await lockLeft(limiter, account)).toBe(1);
    // Another address is not locked out.
    await expect(limiter.assertAllowed(account, '198.51.100.1')).resolves.toBeUndefined();

    await sleep(1100);
    expect(await lockLeft(limiter, account)).toBe(0);
    for (let i = 0; i < 3; i++) {
      await limiter.recordFailure(account, '203.0.113.7');
    }
    expect(await lockLeft(limiter, account)).toBe(2);

    await limiter.recordSuccess(account, '203.0.113.7');
    expect(await lockLeft(limiter, account)).toBe(0);
  });
});
