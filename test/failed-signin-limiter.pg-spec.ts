import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { FailedSigninLimiter } from '../src/auth/rate-limit/failed-signin-limiter';
import { MemoryFailureStore, RedisFailureStore } from '../src/auth/rate-limit/failure-store';
import { Clock } from '../src/common/clock/clock';
import { AppException } from '../src/common/errors/app.exception';
import { loadRateLimitConfig } from '../src/config/configuration';
import { runPrefix, TEST_REDIS_URL } from './helpers/database';

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

const ADDRESS = '203.0.113.7';

/** Makes one attempt: 0 when it may go ahead (and is counted), else the lock's Retry-After. */
async function attempt(limiter: FailedSigninLimiter, account: string, ip = ADDRESS) {
  try {
    await limiter.reserveAttempt(account, ip);
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
    limiter = new FailedSigninLimiter(
      config,
      redis ? new RedisFailureStore(redis) : new MemoryFailureStore(new Clock()),
    );
  });

  afterAll(() => {
    redis?.disconnect();
  });

  it('should lock after the limit, double the next lock, and clear on success', async () => {
    const account = `user:${randomUUID()}`;
    // Three attempts go through (each counted until a success), the fourth is locked out.
    expect([
      await attempt(limiter, account),
      await attempt(limiter, account),
      await attempt(limiter, account),
      await attempt(limiter, account),
    ]).toEqual([0, 0, 0, 1]);
    // Another address is not locked out.
    expect(await attempt(limiter, account, '198.51.100.1')).toBe(0);

    await sleep(1100);
    expect([
      await attempt(limiter, account),
      await attempt(limiter, account),
      await attempt(limiter, account),
      await attempt(limiter, account),
    ]).toEqual([0, 0, 0, 2]);

    await limiter.recordSuccess(account, ADDRESS);
    expect(await attempt(limiter, account)).toBe(0);
  });

  it('should take back attempts whose check failed, strikes included', async () => {
    const account = `user:${randomUUID()}`;
    const wrong = () => limiter.guard(account, ADDRESS, () => Promise.resolve(undefined));
    const outage = () =>
      limiter.guard(account, ADDRESS, () => Promise.reject(new Error('database away')));
    await wrong();
    await wrong();
    for (let i = 0; i < 3; i++) {
      await expect(outage()).rejects.toThrow('database away');
    }
    // Two wrong passwords count; the three outages do not, nor the strike the third one reached.
    await wrong();
    expect(await attempt(limiter, account)).toBe(1);
  });

  it('should clear the record when the check succeeds', async () => {
    const account = `user:${randomUUID()}`;
    await limiter.guard(account, ADDRESS, () => Promise.resolve(undefined));
    await limiter.guard(account, ADDRESS, () => Promise.resolve(undefined));
    await expect(limiter.guard(account, ADDRESS, () => Promise.resolve('user'))).resolves.toBe(
      'user',
    );
    expect([
      await attempt(limiter, account),
      await attempt(limiter, account),
      await attempt(limiter, account),
    ]).toEqual([0, 0, 0]);
  });

  it('should let exactly the limit through when attempts arrive at once', async () => {
    const account = `user:${randomUUID()}`;
    const results = await Promise.all(Array.from({ length: 10 }, () => attempt(limiter, account)));
    expect(results.filter((left) => left === 0)).toHaveLength(3);
  });
});
