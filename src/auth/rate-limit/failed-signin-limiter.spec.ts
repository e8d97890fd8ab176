import { FakeClock } from '../../common/clock/fake-clock';
import { AppException } from '../../common/errors/app.exception';
import { loadRateLimitConfig } from '../../config/configuration';
import { FailedSigninLimiter } from './failed-signin-limiter';
import { MemoryFailureStore } from './failure-store';

const LIMIT = 3;
const WINDOW = 60;

describe(FailedSigninLimiter.name, () => {
  let clock: FakeClock;
  let limiter: FailedSigninLimiter;

  beforeEach(() => {
    clock = new FakeClock();
    limiter = new FailedSigninLimiter(
      loadRateLimitConfig({
        RATE_LIMIT_SIGNIN_FAILURES: String(LIMIT),
        RATE_LIMIT_SIGNIN_FAILURE_WINDOW: `${WINDOW}s`,
      }),
      new MemoryFailureStore(clock),
    );
  });

  /** One password check: 'ok', 'wrong', or the Retry-After of a refusal. */
  async function attempt(right = false, ip = '192.0.2.1'): Promise<string> {
    try {
      const result = await limiter.guard('abc@abc.com', ip, () =>
        Promise.resolve(right ? 'user' : undefined),
      );
      return result ? 'ok' : 'wrong';
    } catch (error) {
      const headers = (error as AppException).headers;
      return `locked ${headers['Retry-After']}`;
    }
  }

  const attempts = async (n: number) => {
    const answers: string[] = [];
    for (let i = 0; i < n; i++) {
      answers.push(await attempt());
    }
    return answers;
  };

  it('should lock after the limit for one window, for that address only', async () => {
    expect(await attempts(LIMIT + 1)).toEqual(['wrong', 'wrong', 'wrong', `locked ${WINDOW}`]);
    expect(await attempt(true)).toBe(`locked ${WINDOW}`);
    expect(await attempt(true, '198.51.100.7')).toBe('ok');
    clock.advance(WINDOW - 1);
    expect(await attempt(true)).toBe('locked 1');
    clock.advance(1);
    expect(await attempt(true)).toBe('ok');
  });

  it('should double each further lock, up to eight windows', async () => {
    const locks: string[] = [];
    for (let strike = 0; strike < 6; strike++) {
      const answers = await attempts(LIMIT + 1);
      locks.push(answers[LIMIT]);
      clock.advance(8 * WINDOW);
    }
    expect(locks).toEqual([60, 120, 240, 480, 480, 480].map((s) => `locked ${s}`));
  });

  it('should clear the record on a success', async () => {
    await attempts(LIMIT - 1);
    expect(await attempt(true)).toBe('ok');
    expect(await attempts(LIMIT)).toEqual(['wrong', 'wrong', 'wrong']);
  });

  it('should start counting afresh when the window passes without a lock', async () => {
    await attempts(LIMIT - 1);
    clock.advance(WINDOW);
    expect(await attempts(LIMIT)).toEqual(['wrong', 'wrong', 'wrong']);
  });

  it('should forget the strikes long after the last lock', async () => {
    await attempts(LIMIT);
    clock.advance(WINDOW);
    await attempts(LIMIT);
    // Second lock: two windows. Well after it (and the eight windows strikes are kept), the next
    // lock is a single window again.
    clock.advance(2 * WINDOW + 8 * WINDOW + 1);
    expect(await attempts(LIMIT + 1)).toContain(`locked ${WINDOW}`);
  });

  it('should not count a check that failed for a server reason', async () => {
    await attempts(LIMIT - 1);
    await expect(
      limiter.guard('abc@abc.com', '192.0.2.1', () => Promise.reject(new Error('database down'))),
    ).rejects.toThrow('database down');
    expect(await attempt()).toBe('wrong');
    expect(await attempt()).toBe(`locked ${WINDOW}`);
  });
});
