import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { FailedSigninLimiter } from '../src/auth/rate-limit/failed-signin-limiter';
import {
  FailureStore,
  MemoryFailureStore,
  RedisFailureStore,
} from '../src/auth/rate-limit/failure-store';
import { FakeClock } from '../src/common/clock/fake-clock';
import { AppException } from '../src/common/errors/app.exception';
import { loadRateLimitConfig } from '../src/config/configuration';
import { runPrefix, TEST_REDIS_URL } from './helpers/database';

const ADDRESS = '203.0.113.7';
const LIMIT = 3;
const WINDOW_MS = 1000;

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
 * The time as the store sees it, and a way to let it pass: the in-memory store runs on a fake clock
 * that is moved, Redis on its own clock (TIME), which is waited for (polled, with a deadline).
 */
interface StoreTime {
  now(): Promise<number>;
  /** Returns once the store's clock has reached `ms`. */
  reach(ms: number): Promise<void>;
}

/**
 * A lock set by an attempt made between `t0` and `t1` (store time) lasts `lockMs` from then; an
 * answer at or before `t1` has between `lockMs - (t1 - t0)` and `lockMs` left. Bounds rather than
 * one value: the check holds however slow the machine, and is exact on the fake clock.
 */
function expectLeft(left: number, lockMs: number, t0: number, t1: number, unit = 1) {
  expect(left).toBeLessThanOrEqual(Math.ceil(lockMs / unit));
  expect(left).toBeGreaterThanOrEqual(Math.ceil((lockMs - (t1 - t0)) / unit));
}

/**
 * The failed-sign-in lock behaves the same in this process and in Redis (where it is a Lua
 * script): the limit, the lock, its doubling and its cap, the reset on success, and per-address
 * keys.
 */
describe.each(['memory', 'redis'] as const)('%s failed sign-in lock', (kind) => {
  let redis: Redis | undefined;
  let store: FailureStore;
  let limiter: FailedSigninLimiter;
  let time: StoreTime;

  beforeAll(() => {
    if (!TEST_REDIS_URL) {
      throw new Error('Run this suite with `npm run test:pg` (it needs Redis)');
    }
  });

  beforeEach(() => {
    // Each test has a store of its own: its own fake clock, or its own Redis key prefix.
    if (kind === 'redis') {
      const client = new Redis(TEST_REDIS_URL!, {
        keyPrefix: `${runPrefix()}limiter:${randomUUID()}:`,
      });
      redis = client;
      store = new RedisFailureStore(client);
      const now = async () => {
        const [seconds, micros] = await client.time();
        return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      };
      time = {
        now,
        reach: async (ms) => {
          const deadline = Date.now() + ms + 30_000;
          while ((await now()) < ms) {
            if (Date.now() > deadline) {
              throw new Error(`Redis' clock did not reach ${ms} in time`);
            }
            await new Promise((done) => setTimeout(done, 10));
          }
        },
      };
    } else {
      const clock = new FakeClock();
      store = new MemoryFailureStore(clock);
      time = {
        now: () => Promise.resolve(clock.nowMs()),
        reach: (ms) => {
          clock.advance(Math.max(0, ms - clock.nowMs()) / 1000);
          return Promise.resolve();
        },
      };
    }
    limiter = new FailedSigninLimiter(
      loadRateLimitConfig({
        RATE_LIMIT_SIGNIN_FAILURES: String(LIMIT),
        RATE_LIMIT_SIGNIN_FAILURE_WINDOW: `${WINDOW_MS / 1000}s`,
      }),
      store,
    );
  });

  afterEach(() => {
    redis?.disconnect();
    redis = undefined;
  });

  it('should lock after the limit, double the next lock, and clear on success', async () => {
    const account = `user:${randomUUID()}`;
    // Three attempts go through (each counted until a success), the fourth is locked out.
    let t0 = await time.now();
    expect([
      await attempt(limiter, account),
      await attempt(limiter, account),
      await attempt(limiter, account),
    ]).toEqual([0, 0, 0]);
    const first = await attempt(limiter, account);
    let t1 = await time.now();
    expectLeft(first, WINDOW_MS, t0, t1, 1000);
    expect(first).toBeGreaterThan(0);
    // Another address is not locked out.
    expect(await attempt(limiter, account, '198.51.100.1')).toBe(0);

    // Once the lock has surely ended (by the store's clock), the next lock lasts twice as long.
    await time.reach(t1 + WINDOW_MS);
    t0 = await time.now();
    expect([
      await attempt(limiter, account),
      await attempt(limiter, account),
      await attempt(limiter, account),
    ]).toEqual([0, 0, 0]);
    const second = await attempt(limiter, account);
    t1 = await time.now();
    expectLeft(second, 2 * WINDOW_MS, t0, t1, 1000);
    expect(second).toBeGreaterThan(0);

    await limiter.recordSuccess(account, ADDRESS);
    expect(await attempt(limiter, account)).toBe(0);
  });

  it('should stop doubling the lock at eight windows', async () => {
    // The store itself, with a window of 50 ms, so that five locks in a row take little time.
    const key = `user:${randomUUID()}\n${ADDRESS}`;
    // Each lock twice the one before, up to eight windows: 50, 100, 200, 400 ms, then 400 again.
    for (const lockMs of [50, 100, 200, 400, 400, 400]) {
      const t0 = await time.now();
      for (let i = 0; i < LIMIT; i++) {
        expect(await store.reserve(key, LIMIT, 50)).toBe(0);
      }
      const left = await store.reserve(key, LIMIT, 50);
      const t1 = await time.now();
      expectLeft(left, lockMs, t0, t1);
      expect(left).toBeGreaterThan(0);
      await time.reach(t1 + lockMs);
    }
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
    expect(results.filter((left) => left === 0)).toHaveLength(LIMIT);
  });
});
