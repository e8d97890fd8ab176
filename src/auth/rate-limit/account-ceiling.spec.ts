import { FakeClock } from '../../common/clock/fake-clock';
import { AppException } from '../../common/errors/app.exception';
import { loadRateLimitConfig } from '../../config/configuration';
import { FailedSigninLimiter } from './failed-signin-limiter';
import { MemoryFailureStore } from './failure-store';

const PER_CLIENT = 5;
const CEILING = 20;
const CEILING_WINDOW = 3600;

/** The account-wide ceiling on failed sign-ins from all addresses, and the IPv6 /64 keys. */
describe(`${FailedSigninLimiter.name}: across addresses`, () => {
  let clock: FakeClock;
  let limiter: FailedSigninLimiter;

  beforeEach(() => {
    clock = new FakeClock();
    limiter = new FailedSigninLimiter(
      loadRateLimitConfig({
        RATE_LIMIT_SIGNIN_FAILURES: String(PER_CLIENT),
        RATE_LIMIT_SIGNIN_FAILURE_WINDOW: '15m',
        RATE_LIMIT_ACCOUNT_FAILURES: String(CEILING),
        RATE_LIMIT_ACCOUNT_FAILURE_WINDOW: `${CEILING_WINDOW}s`,
      }),
      new MemoryFailureStore(clock),
    );
  });

  async function attempt(ip: string, right = false): Promise<string> {
    try {
      const result = await limiter.guard('abc@abc.com', ip, () =>
        Promise.resolve(right ? 'user' : undefined),
      );
      return result ? 'ok' : 'wrong';
    } catch (error) {
      const { detail, headers } = error as AppException;
      return `${detail.includes('all addresses') ? 'ceiling' : 'locked'} ${headers['Retry-After']}`;
    }
  }

  it('should stop guesses spread over many addresses at the ceiling', async () => {
    const answers: string[] = [];
    for (let i = 0; i < CEILING + 5; i++) {
      answers.push(await attempt(`203.0.113.${i + 1}`));
    }
    expect(answers.slice(0, CEILING - 1)).toEqual(Array(CEILING - 1).fill('wrong'));
    // The attempt that reaches the ceiling is let through and counted; the next ones are not.
    expect(answers[CEILING - 1]).toBe('wrong');
    expect(answers.slice(CEILING)).toEqual(Array(5).fill(`ceiling ${CEILING_WINDOW}`));
  });

  it('should let no single address reach the ceiling: its own lock comes first', async () => {
    const answers: string[] = [];
    for (let i = 0; i < CEILING; i++) {
      answers.push(await attempt('198.51.100.7'));
    }
    expect(answers.filter((answer) => answer === 'wrong')).toHaveLength(PER_CLIENT);
    expect(answers.every((answer) => !answer.startsWith('ceiling'))).toBe(true);
    // Refused attempts of the locked address did not count: the owner elsewhere signs in.
    expect(await attempt('192.0.2.1', true)).toBe('ok');
  });

  it('should lock for one window at the ceiling, never doubling', async () => {
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < CEILING; i++) {
        await attempt(`203.0.113.${i + 1}`);
      }
      expect(await attempt('192.0.2.200', true)).toBe(`ceiling ${CEILING_WINDOW}`);
      clock.advance(CEILING_WINDOW);
      expect(await attempt('192.0.2.200', true)).toBe('ok');
      clock.advance(15 * 60); // the per-address records of this round end too
    }
  });

  it('should not count successful sign-ins towards the ceiling', async () => {
    for (let i = 0; i < CEILING * 2; i++) {
      expect(await attempt(`203.0.113.${(i % 50) + 1}`, true)).toBe('ok');
    }
    for (let i = 0; i < CEILING - 1; i++) {
      expect(await attempt(`198.51.100.${i + 1}`)).toBe('wrong');
    }
  });

  it('should count every address of one IPv6 /64 as one client', async () => {
    const answers: string[] = [];
    for (let i = 0; i < PER_CLIENT + 3; i++) {
      answers.push(await attempt(`2001:db8:7:9::${(i + 1).toString(16)}`));
    }
    expect(answers.slice(0, PER_CLIENT)).toEqual(Array(PER_CLIENT).fill('wrong'));
    expect(answers.slice(PER_CLIENT).every((answer) => answer.startsWith('locked'))).toBe(true);
    expect(await attempt('2001:db8:7:a::1', true)).toBe('ok');
  });
});
