import { bearer, createTestApp, DEFAULT_PASSWORD, signedInUser, TestApp } from './helpers/test-app';

/**
 * POST /password and DELETE /me run Argon2 on every request: they are limited per client and per
 * user, successes included, and a "change" to the same password is refused before any hashing.
 */
describe('limits on the password routes', () => {
  let t: TestApp;
  const LIMIT = 2;

  beforeEach(async () => {
    t = await createTestApp({ RATE_LIMIT_PASSWORD: String(LIMIT), TRUST_PROXY: '1' });
  });
  afterEach(() => t.close());

  /** A password change from `address` for a fresh signed-in user, or for `user` when given. */
  async function change(
    address: string,
    user?: { tokens: { access_token: string }; password: string },
  ) {
    const caller = user ?? { ...(await signedInUser(t.http)), password: DEFAULT_PASSWORD };
    const next = `changed-${Math.random().toString(36).slice(2)}-password`;
    const response = await t.http
      .post('/password')
      .set(bearer(caller.tokens.access_token))
      .set('X-Forwarded-For', address)
      .send({ currentPassword: caller.password, newPassword: next });
    if (response.status === 200) {
      caller.tokens = response.body as { access_token: string };
      caller.password = next;
    }
    return { status: response.status, body: response.body as { code?: string } };
  }

  it('should limit one client across many accounts, successful changes included', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 2; i++) {
      statuses.push((await change('203.0.113.10')).status);
    }
    expect(statuses).toEqual([200, 200, 429, 429]);
    // Another client still has its budget.
    expect((await change('203.0.113.11')).status).toBe(200);
  });

  it('should limit one account across many clients', async () => {
    const user = { ...(await signedInUser(t.http)), password: DEFAULT_PASSWORD };
    const answers = [];
    for (let i = 0; i < LIMIT + 2; i++) {
      answers.push(await change(`198.51.100.${i + 1}`, user));
    }
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 429, 429]);
    expect(answers[2].body.code).toBe('rate_limited');
  });

  it('should limit DELETE /me per client too', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 1; i++) {
      const user = await signedInUser(t.http);
      const response = await t.http
        .delete('/me')
        .set(bearer(user.tokens.access_token))
        .set('X-Forwarded-For', '203.0.113.20')
        .send({ password: 'not-the-password' });
      statuses.push(response.status);
    }
    expect(statuses).toEqual([403, 403, 429]);
  });

  it('should refuse the current password as the new one with 400 password_unchanged', async () => {
    const user = await signedInUser(t.http);
    const response = await t.http
      .post('/password')
      .set(bearer(user.tokens.access_token))
      .send({ currentPassword: DEFAULT_PASSWORD, newPassword: DEFAULT_PASSWORD })
      .expect(400);
    expect(response.body.code).toBe('password_unchanged');
    // Nothing changed: the session and the password are as they were.
    await t.http.get('/protected').set(bearer(user.tokens.access_token)).expect(200);
    await t.http
      .post('/signin')
      .send({ email: user.email, password: DEFAULT_PASSWORD })
      .expect(200);
  });
});
