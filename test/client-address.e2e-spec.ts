import { createTestApp, DEFAULT_PASSWORD, EMBEDDED, signUp, TestApp } from './helpers/test-app';

/**
 * The client address every limit and lock counts against, behind proxies that append to
 * X-Forwarded-For: only the entries the trusted proxies added are believed.
 */
const limits = { RATE_LIMIT_SIGNIN_FAILURES: '5', RATE_LIMIT_ACCOUNT_FAILURES: '1000' };

/** Wrong sign-ins against one account, each with its own X-Forwarded-For; the statuses. */
async function wrongSignins(t: TestApp, email: string, forwardedFor: string[]): Promise<number[]> {
  const statuses: number[] = [];
  for (const header of forwardedFor) {
    const response = await t.http
      .post('/signin')
      .set('X-Forwarded-For', header)
      .send({ email, password: 'not-the-password' });
    statuses.push(response.status);
  }
  return statuses;
}

const forged = (n: number, real: string) =>
  Array.from({ length: n }, (_, i) => `198.18.${i >> 8}.${i & 255}, ${real}`);

describe.each([
  ['a hop count', '1'],
  ['the proxy address', '127.0.0.1'],
  ['the proxy network', '127.0.0.0/8'],
])('TRUST_PROXY as %s', (_name, trustProxy) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ ...limits, TRUST_PROXY: trustProxy });
  });
  afterAll(() => t.close());

  it('should lock one client that forges a fresh left-most address on every attempt', async () => {
    const user = await signUp(t.http);
    const statuses = await wrongSignins(t, user.email, forged(12, '203.0.113.50'));
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5)).toEqual(Array(7).fill(429));
  });

  it('should not let a forged victim address lock the victim out', async () => {
    const victim = await signUp(t.http);
    const victimAddress = '203.0.113.60';
    await wrongSignins(t, victim.email, Array(12).fill(`${victimAddress}, 203.0.113.61`));
    // The victim, through the same proxy, is still let in.
    await t.http
      .post('/signin')
      .set('X-Forwarded-For', victimAddress)
      .send({ email: victim.email, password: DEFAULT_PASSWORD })
      .expect(200);
  });

  it('should count clients the proxy names apart on their own', async () => {
    const user = await signUp(t.http);
    const statuses = await wrongSignins(
      t,
      user.email,
      Array.from({ length: 12 }, (_, i) => `203.0.113.${100 + i}`),
    );
    expect(statuses).toEqual(Array(12).fill(401));
  });

  it('should count every address of one IPv6 /64 as one client', async () => {
    const user = await signUp(t.http);
    const statuses = await wrongSignins(
      t,
      user.email,
      Array.from({ length: 8 }, (_, i) => `2001:db8:42:7::${(i + 1).toString(16)}`),
    );
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
    await t.http
      .post('/signin')
      .set('X-Forwarded-For', '2001:db8:42:8::1')
      .send({ email: user.email, password: DEFAULT_PASSWORD })
      .expect(200);
  });
});

describe('TRUST_PROXY=true', () => {
  it('should stop the start-up and say what to use instead', async () => {
    await expect(createTestApp({ ...EMBEDDED, TRUST_PROXY: 'true' })).rejects.toThrow(
      /TRUST_PROXY.*number of proxies/,
    );
  });
});

describe('the account-wide ceiling on failed sign-ins', () => {
  it('should stop guesses spread over many addresses and say so', async () => {
    const t = await createTestApp({
      TRUST_PROXY: '1',
      RATE_LIMIT_SIGNIN_FAILURES: '5',
      RATE_LIMIT_ACCOUNT_FAILURES: '8',
    });
    try {
      const user = await signUp(t.http);
      const statuses = await wrongSignins(
        t,
        user.email,
        Array.from({ length: 10 }, (_, i) => `203.0.113.${i + 1}`),
      );
      expect(statuses).toEqual([401, 401, 401, 401, 401, 401, 401, 401, 429, 429]);
      const refused = await t.http
        .post('/signin')
        .set('X-Forwarded-For', '192.0.2.1')
        .send({ email: user.email, password: DEFAULT_PASSWORD })
        .expect(429);
      expect(refused.body).toMatchObject({ code: 'rate_limited' });
      expect(refused.body.detail).toMatch(/all addresses/);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await t.close();
    }
  });
});
