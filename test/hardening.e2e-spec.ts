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
    expect(response.headers['content-security-policy']).toContain("default-src 'self'");
    expect(response.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['strict-transport-security']).toBeDefined();
    expect(response.headers['x-powered-by']).toBeUndefined();
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
    const t = await createTestApp({ ...limits, TRUST_PROXY: 'true' });
    try {
      for (let i = 0; i < 5; i++) {
        await t.http
          .post('/signup')
          .set('X-Forwarded-For', `10.0.1.${i}`)
          .send({ email: uniqueEmail(), password: DEFAULT_PASSWORD })
          .expect(201);
      }
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

  it('should lock an account against the failing client only, not against its owner elsewhere', async () => {
    const t = await createTestApp({ ...limits, TRUST_PROXY: 'true' });
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
  it('should drop a connection that never finishes its request', async () => {
    const t = await createTestApp({ HTTP_REQUEST_TIMEOUT: '1s' });
    const server = t.app.getHttpServer();
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    try {
      const { port } = server.address() as AddressInfo;
      const started = Date.now();
      const closedAfter = await new Promise<number>((done, fail) => {
        const socket = connect(port, '127.0.0.1', () =>
          socket.write('GET /health/live HTTP/1.1\r\nHost: x\r\n'),
        );
        socket.on('error', () => undefined);
        socket.on('close', () => done(Date.now() - started));
        setTimeout(
          () => fail(new Error('the server kept the half-sent request open')),
          8000,
        ).unref();
      });
      expect(closedAfter).toBeGreaterThanOrEqual(900);
    } finally {
      await new Promise<void>((done) => server.close(() => done()));
      await t.close();
    }
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
