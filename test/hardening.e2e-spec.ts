import { connect, AddressInfo } from 'node:net';
import * as argon2 from 'argon2';
import { DataSource } from 'typeorm';
import {
  bearer,
  createTestApp,
  DEFAULT_PASSWORD,
  signedInUser,
  signUp,
  TestApp,
  uniqueEmail,
} from './helpers/test-app';
import { remint } from './helpers/tokens';
import { sql } from './helpers/database';

describe('security headers and CORS', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  it('should send helmet headers with a CSP and no X-Powered-By', async () => {
    const response = await t.http.get('/health/live').expect(200);
    // The API answers JSON only: nothing may be loaded, framed or submitted from it.
    expect(response.headers['content-security-policy']).toBe(
      "default-src 'none';frame-ancestors 'none';base-uri 'none';form-action 'none'",
    );
    expect(response.headers['x-frame-options']).toBe('DENY');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    // helmet's default, which configureApp keeps: a year, subdomains included, no preload.
    expect(response.headers['strict-transport-security']).toBe(
      'max-age=31536000; includeSubDomains',
    );
    expect(response.headers['x-powered-by']).toBeUndefined();
  });

  it('should send the same headers on refusals and unknown paths', async () => {
    const expected = (await t.http.get('/health/live')).headers['content-security-policy'];
    for (const response of [
      await t.http.get('/protected').expect(401),
      await t.http.get('/no-such-path').expect(404),
      await t.http.delete('/signin').expect(405),
    ]) {
      expect(response.headers['content-security-policy']).toBe(expected);
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it("should give the docs page a policy of its own that lets Swagger UI's styles and images load", async () => {
    const page = await t.http.get('/docs').redirects(1).expect(200);
    const policy = page.headers['content-security-policy'];
    expect(policy).toContain("default-src 'self'");
    expect(policy).toContain("style-src 'self' 'unsafe-inline'");
    expect(policy).toContain("img-src 'self' data:");
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).not.toContain('unsafe-eval');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
  });

  it('should keep CORS off by default', async () => {
    const response = await t.http
      .options('/signin')
      .set('Origin', 'https://evil.example')
      .set('Access-Control-Request-Method', 'POST');
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
  });

  it.each(['jku', 'jwk', 'x5u', 'x5c'])(
    'should reject a token whose header carries %s',
    async (name) => {
      const user = await signedInUser(t.http);
      const token = remint(
        user.tokens.access_token,
        t.env.JWT_SECRET,
        {},
        {
          header: {
            [name]: name === 'jwk' ? { kty: 'oct', k: 'AAAA' } : 'https://attacker.example/keys',
          },
        },
      );
      const response = await t.http.get('/protected').set(bearer(token)).expect(401);
      expect(response.body.code).toBe('invalid_token');
    },
  );
});

describe('CORS allowlist', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ CORS_ORIGINS: 'https://app.example.com' });
  });

  afterAll(async () => {
    await t.close();
  });

  it('should allow a listed origin and never reflect another one or allow credentials', async () => {
    const allowed = await t.http
      .options('/signin')
      .set('Origin', 'https://app.example.com')
      .set('Access-Control-Request-Method', 'POST');
    expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(allowed.headers['access-control-allow-credentials']).toBeUndefined();
    const other = await t.http.get('/health/live').set('Origin', 'https://evil.example');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('rate limits', () => {
  const limits = {
    RATE_LIMIT_ENABLED: 'true',
    RATE_LIMIT_SIGNUP: '3',
    RATE_LIMIT_SIGNIN: '100',
    RATE_LIMIT_SIGNIN_FAILURES: '3',
  };

  it('should answer 429 rate_limited with Retry-After once a client passes the signup limit', async () => {
    const t = await createTestApp(limits);
    try {
      for (let i = 0; i < 3; i++) {
        const ok = await t.http
          .post('/signup')
          .set('X-Forwarded-For', `10.0.0.${i}`) // spoofed: TRUST_PROXY is off, so it must not help
          .send({ email: uniqueEmail(), password: DEFAULT_PASSWORD })
          .expect(201);
        expect(ok.headers['ratelimit-limit']).toBe('3');
        expect(ok.headers['ratelimit-remaining']).toBe(String(2 - i));
      }
      const limited = await t.http
        .post('/signup')
        .set('X-Forwarded-For', '10.0.0.99')
        .send({ email: uniqueEmail(), password: DEFAULT_PASSWORD })
        .expect(429);
      expect(limited.body.code).toBe('rate_limited');
      expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      // Other routes keep their own budget.
      await t.http.get('/health/live').expect(200);
    } finally {
      await t.close();
    }
  });

  it('should count each forwarded address on its own when TRUST_PROXY is on', async () => {
    const t = await createTestApp({ ...limits, TRUST_PROXY: '1' });
    const signUpFrom = (address: string) =>
      t.http
        .post('/signup')
        .set('X-Forwarded-For', address)
        .send({ email: uniqueEmail(), password: DEFAULT_PASSWORD });
    try {
      // More distinct addresses than the budget of one: none of them is limited.
      for (let i = 0; i < 5; i++) {
        const ok = await signUpFrom(`10.0.1.${i}`).expect(201);
        expect(ok.headers['ratelimit-remaining']).toBe('2');
      }
      // One address repeated: its own budget of three, then 429.
      for (let i = 0; i < 3; i++) {
        const ok = await signUpFrom('10.0.2.1').expect(201);
        expect(ok.headers['ratelimit-remaining']).toBe(String(2 - i));
      }
      const limited = await signUpFrom('10.0.2.1').expect(429);
      expect(limited.body.code).toBe('rate_limited');
      // A further address still has its whole budget.
      await signUpFrom('10.0.1.200').expect(201);
    } finally {
      await t.close();
    }
  });

  it('should lock password checks of /password after repeated wrong current passwords', async () => {
    const t = await createTestApp(limits);
    try {
      const user = await signedInUser(t.http);
      for (let i = 0; i < 3; i++) {
        await t.http
          .post('/password')
          .set(bearer(user.tokens.access_token))
          .send({ currentPassword: `guess-${i}-wrong`, newPassword: 'a-brand-new-password' })
          .expect(403);
      }
      const locked = await t.http
        .post('/password')
        .set(bearer(user.tokens.access_token))
        .send({ currentPassword: DEFAULT_PASSWORD, newPassword: 'a-brand-new-password' })
        .expect(429);
      expect(locked.body.code).toBe('rate_limited');
    } finally {
      await t.close();
    }
  });

  it('should lock the password check of DELETE /me after repeated wrong passwords, for that client only', async () => {
    const t = await createTestApp({ ...limits, TRUST_PROXY: '1' });
    try {
      const user = await signedInUser(t.http);
      const deleteFrom = (address: string, password: string) =>
        t.http
          .delete('/me')
          .set('X-Forwarded-For', address)
          .set(bearer(user.tokens.access_token))
          .send({ password });
      for (let i = 0; i < 3; i++) {
        const wrong = await deleteFrom('203.0.113.9', `guess-${i}-wrong`).expect(403);
        expect(wrong.body.code).toBe('invalid_password');
      }
      // Locked: even the right password is not checked from this address.
      const locked = await deleteFrom('203.0.113.9', DEFAULT_PASSWORD).expect(429);
      expect(locked.body.code).toBe('rate_limited');
      expect(locked.headers['content-type']).toMatch(/^application\/problem\+json/);
      // One failure window (the default 15 minutes) at most, and well above nothing.
      const retryAfter = Number(locked.headers['retry-after']);
      expect(retryAfter).toBeGreaterThan(800);
      expect(retryAfter).toBeLessThanOrEqual(900);
      await t.http.get('/me').set(bearer(user.tokens.access_token)).expect(200);
      // The lock is the failing client's: the owner elsewhere can still delete the account.
      await deleteFrom('198.51.100.30', DEFAULT_PASSWORD).expect(204);
      await t.http.get('/me').set(bearer(user.tokens.access_token)).expect(401);
    } finally {
      await t.close();
    }
  });

  it('should answer 429 rate_limited once a client passes RATE_LIMIT_REFRESH', async () => {
    const t = await createTestApp({ ...limits, RATE_LIMIT_REFRESH: '2' });
    try {
      let { tokens } = await signedInUser(t.http);
      for (let i = 0; i < 2; i++) {
        const ok = await t.http
          .post('/refresh')
          .send({ refresh_token: tokens.refresh_token })
          .expect(200);
        expect(ok.headers['ratelimit-limit']).toBe('2');
        expect(ok.headers['ratelimit-remaining']).toBe(String(1 - i));
        tokens = ok.body as typeof tokens;
      }
      const limited = await t.http
        .post('/refresh')
        .send({ refresh_token: tokens.refresh_token })
        .expect(429);
      expect(limited.body.code).toBe('rate_limited');
      expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/);
      const retryAfter = Number(limited.headers['retry-after']);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60); // the default RATE_LIMIT_WINDOW
      // Sign-in has a budget of its own.
      await t.http
        .post('/signin')
        .send({ email: (await signUp(t.http)).email, password: DEFAULT_PASSWORD })
        .expect(200);
    } finally {
      await t.close();
    }
  });

  it('should send RateLimit-Reset as the seconds left of RATE_LIMIT_WINDOW', async () => {
    const window = 30;
    const t = await createTestApp({ ...limits, RATE_LIMIT_WINDOW: `${window}s` });
    try {
      const resets: number[] = [];
      for (let i = 0; i < 3; i++) {
        const response = await t.http
          .post('/signin')
          .send({ email: uniqueEmail(), password: DEFAULT_PASSWORD })
          .expect(401);
        expect(response.headers['ratelimit-reset']).toMatch(/^\d+$/);
        resets.push(Number(response.headers['ratelimit-reset']));
      }
      for (const reset of resets) {
        expect(reset).toBeGreaterThan(0);
        expect(reset).toBeLessThanOrEqual(window); // not the default window of 60 s
      }
      // One window, counting down (never restarted by the next request within it).
      expect([...resets].sort((a, b) => b - a)).toEqual(resets);
    } finally {
      await t.close();
    }
  });

  it('should lock an account against the failing client only, not against its owner elsewhere', async () => {
    const t = await createTestApp({ ...limits, TRUST_PROXY: '1' });
    try {
      const victim = await signUp(t.http);
      const attacker = '203.0.113.7';
      for (let i = 0; i < 3; i++) {
        await t.http
          .post('/signin')
          .set('X-Forwarded-For', attacker)
          .send({ email: victim.email, password: 'guess-number-' + i })
          .expect(401);
      }
      const locked = await t.http
        .post('/signin')
        .set('X-Forwarded-For', attacker)
        .send({ email: victim.email, password: DEFAULT_PASSWORD })
        .expect(429);
      expect(locked.body.code).toBe('rate_limited');
      expect(Number(locked.headers['retry-after'])).toBeGreaterThan(800);
      await t.http
        .post('/signin')
        .set('X-Forwarded-For', '198.51.100.20')
        .send({ email: victim.email, password: DEFAULT_PASSWORD })
        .expect(200);
    } finally {
      await t.close();
    }
  });
});

describe('slow clients', () => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    t = await createTestApp({ HTTP_REQUEST_TIMEOUT: '1s' });
    const server = t.app.getHttpServer();
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await t.close(); // closes the server it listens with
  });

  /**
   * Sends `text` and never finishes the request; resolves with everything the server wrote once
   * it has closed the connection. Fails (and destroys the socket) if it is still open after
   * `deadlineMs`, far beyond the 1 s timeout.
   */
  function sendAndWait(text: string, deadlineMs = 20_000): Promise<string> {
    return new Promise((done, fail) => {
      let answer = '';
      const socket = connect(port, '127.0.0.1', () => socket.write(text));
      const deadline = setTimeout(() => {
        socket.destroy();
        fail(new Error('the server kept the half-sent request open'));
      }, deadlineMs);
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
      socket.on('error', () => undefined); // a reset after the answer is the close we wait for
      socket.on('close', () => {
        clearTimeout(deadline);
        done(answer);
      });
    });
  }

  it('should answer headers that never end with the 408 request_timeout problem, then close', async () => {
    const answer = await sendAndWait('GET /health/live HTTP/1.1\r\nHost: x\r\nX-Slow: 1');
    const [head, body] = answer.split('\r\n\r\n');
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 408 Request Timeout');
    expect(head).toMatch(/\r\nConnection: close\r\n/i);
    expect(head).toMatch(/\r\nContent-Type: application\/problem\+json/i);
    expect(JSON.parse(body)).toEqual({
      type: 'urn:nest-jwt-auth:problem:request_timeout',
      title: expect.any(String),
      status: 408,
      detail: 'The request was not received in time',
      code: 'request_timeout',
      instance: '/',
    });
  });

  it('should drop a connection whose body never arrives, without answering for the route', async () => {
    const answer = await sendAndWait(
      'POST /signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
        'Content-Length: 100\r\n\r\n{"email":',
    );
    // Closed without an answer for the route (or with the 408 problem): never a 2xx or a 4xx of
    // /signin, since the request was not complete.
    const outcome = answer === '' ? 'closed' : answer.slice(0, 'HTTP/1.1 408'.length);
    expect(['closed', 'HTTP/1.1 408']).toContain(outcome);
    await t.http.get('/health/live').expect(200);
  });
});

describe('password hashes made with older parameters', () => {
  it('should re-hash with the current parameters at the next successful sign-in', async () => {
    const t = await createTestApp();
    try {
      const user = await signUp(t.http);
      const old = await argon2.hash(DEFAULT_PASSWORD, {
        type: argon2.argon2id,
        memoryCost: 4096,
        timeCost: 1,
        parallelism: 1,
      });
      const db = t.app.get(DataSource);
      await sql(db, 'UPDATE users SET password_hash = ? WHERE id = ?', [old, user.id]);
      await t.http
        .post('/signin')
        .send({ email: user.email, password: DEFAULT_PASSWORD })
        .expect(200);
      const [{ password_hash: stored }] = await sql<{ password_hash: string }[]>(
        db,
        'SELECT password_hash FROM users WHERE id = ?',
        [user.id],
      );
      expect(stored).not.toBe(old);
      expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      await t.http
        .post('/signin')
        .send({ email: user.email, password: DEFAULT_PASSWORD })
        .expect(200);
    } finally {
      await t.close();
    }
  });
});
