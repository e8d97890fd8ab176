import fc from 'fast-check';
import { decode } from 'jsonwebtoken';
import { DataSource } from 'typeorm';
import { Clock } from '../src/common/clock/clock';
import type { FakeClock } from '../src/common/clock/fake-clock';
import { sql } from './helpers/database';
import { fakeClockOf } from './helpers/fake-clock';
import { enrolTotp } from './helpers/mfa';
import {
  bearer,
  createTestApp,
  DEFAULT_PASSWORD,
  signIn,
  signUp,
  TestApp,
  TokenPair,
  uniqueEmail,
} from './helpers/test-app';

const rolesOf = (token: string) => (decode(token) as { roles?: string[] }).roles;

/** Makes the account an admin the way the CLI does (in the table), then signs it in again. */
async function grantAdmin(t: TestApp, id: string): Promise<void> {
  await sql(t.app.get(DataSource), 'UPDATE users SET roles = ? WHERE id = ?', ['admin', id]);
}

async function newAdmin(t: TestApp): Promise<{ id: string; email: string; tokens: TokenPair }> {
  const user = await signUp(t.http, uniqueEmail('admin'));
  await grantAdmin(t, user.id);
  return { ...user, tokens: await signIn(t.http, user.email) };
}

const USER_ROUTES: [method: 'get' | 'post' | 'put' | 'delete', path: string, body?: object][] = [
  ['get', ''],
  ['post', '/disable', { reason: 'test' }],
  ['post', '/enable'],
  ['post', '/sessions/end'],
  ['post', '/unlock'],
  ['delete', '/mfa'],
  ['put', '/roles', { roles: [] }],
];

describe('admin API', () => {
  let t: TestApp;
  let admin: { id: string; email: string; tokens: TokenPair };
  const as = (token: string) => bearer(token);

  beforeAll(async () => {
    t = await createTestApp({ ADMIN_REQUIRE_MFA: 'false', RATE_LIMIT_SIGNIN_FAILURES: '3' });
    admin = await newAdmin(t);
    expect(rolesOf(admin.tokens.access_token)).toEqual(['admin']);
  });

  afterAll(() => t.close());

  it('answers 401 without a token, 403 `forbidden` to a plain user, 404 for unknown ids', async () => {
    const user = await signUp(t.http);
    const plain = await signIn(t.http, user.email);
    const unknown = '00000000-0000-4000-8000-000000000000';
    for (const [method, path, body] of [
      ...USER_ROUTES.map(([m, p, b]) => [m, `/admin/users/${user.id}${p}`, b] as const),
      ['get', '/admin/users', undefined] as const,
      ['get', '/admin/audit', undefined] as const,
    ]) {
      const anonymous = await t.http[method](path).send(body);
      expect([path, anonymous.status]).toEqual([path, 401]);
      const refused = await t.http[method](path).set(as(plain.access_token)).send(body);
      expect([path, refused.status, refused.body.code]).toEqual([path, 403, 'forbidden']);
    }
    for (const [method, path, body] of USER_ROUTES) {
      for (const id of [unknown, 'not-a-uuid']) {
        const missing = await t.http[method](`/admin/users/${id}${path}`)
          .set(as(admin.tokens.access_token))
          .send(body);
        expect([path, missing.status, missing.body.code]).toEqual([path, 404, 'user_not_found']);
      }
    }
  });

  it('refuses a token that still says admin once the stored role is gone', async () => {
    const other = await newAdmin(t);
    await t.http.get('/admin/users').set(as(other.tokens.access_token)).expect(200);
    await t.http
      .put(`/admin/users/${other.id}/roles`)
      .set(as(admin.tokens.access_token))
      .send({ roles: [] })
      .expect(200);
    expect(rolesOf(other.tokens.access_token)).toEqual(['admin']);
    const refused = await t.http.get('/admin/users').set(as(other.tokens.access_token)).expect(403);
    expect(refused.body.code).toBe('forbidden');
  });

  it('shows an account: profile, roles, second factor, locks, sessions', async () => {
    const user = await signUp(t.http);
    await signIn(t.http, user.email);
    await signIn(t.http, user.email);
    const detail = await t.http
      .get(`/admin/users/${user.id}`)
      .set(as(admin.tokens.access_token))
      .expect(200);
    expect(detail.headers['cache-control']).toBe('no-store');
    expect(detail.body).toMatchObject({
      id: user.id,
      email: user.email,
      emailVerified: false,
      roles: [],
      disabled: false,
      disabledState: null,
      mfa: { totp: 'off', recoveryCodesLeft: 0 },
      lock: { lockedUntil: null, lockedAddresses: 0 },
    });
    expect(detail.body.sessions).toHaveLength(2);
    expect(detail.body.sessions[0]).toMatchObject({ current: false, aal: 'aal1', amr: ['pwd'] });
    expect(JSON.stringify(detail.body)).not.toContain('password');
  });

  it('disables an account at once: sessions end, tokens are refused, sign-in gets 403', async () => {
    const user = await signUp(t.http);
    const first = await signIn(t.http, user.email);
    const second = await signIn(t.http, user.email);
    await t.http.get('/protected').set(as(first.access_token)).expect(200);

    const disabled = await t.http
      .post(`/admin/users/${user.id}/disable`)
      .set(as(admin.tokens.access_token))
      .send({ reason: 'Reported for abuse' })
      .expect(200);
    expect(disabled.body).toMatchObject({
      disabled: true,
      disabledState: { until: null, reason: 'Reported for abuse' },
      sessions: [],
    });
    for (const tokens of [first, second]) {
      const refused = await t.http.get('/protected').set(as(tokens.access_token)).expect(401);
      expect(refused.body.code).toBe('session_revoked');
      await t.http.post('/refresh').send({ refresh_token: tokens.refresh_token }).expect(401);
    }
    const signin = await t.http
      .post('/signin')
      .send({ email: user.email, password: DEFAULT_PASSWORD })
      .expect(403);
    expect(signin.body.code).toBe('account_disabled');
    expect(signin.body.detail).not.toContain('abuse');
    // Only whoever knows the password learns that the account is disabled.
    const wrong = await t.http
      .post('/signin')
      .send({ email: user.email, password: 'wrong-password' })
      .expect(401);
    expect(wrong.body.code).toBe('invalid_credentials');

    await t.http
      .post(`/admin/users/${user.id}/enable`)
      .set(as(admin.tokens.access_token))
      .expect(200)
      .expect((response) => expect(response.body.disabled).toBe(false));
    await signIn(t.http, user.email);
    // The sessions it ended stay ended.
    await t.http.get('/protected').set(as(first.access_token)).expect(401);
  });

  it('never leaves a live session to a sign-in racing the disabling', async () => {
    const delay = () => new Promise((done) => setTimeout(done, Math.random() * 15));
    for (let round = 0; round < 15; round++) {
      const user = await signUp(t.http);
      const [signin] = await Promise.all([
        delay().then(() =>
          t.http.post('/signin').send({ email: user.email, password: DEFAULT_PASSWORD }),
        ),
        delay().then(() =>
          t.http
            .post(`/admin/users/${user.id}/disable`)
            .set(as(admin.tokens.access_token))
            .send({ reason: 'race' })
            .expect(200),
        ),
      ]);
      // Either the sign-in came first and the disabling ended its session, or it was refused.
      expect([200, 403]).toContain(signin.status);
      if (signin.status === 200) {
        await t.http.get('/protected').set(as(signin.body.access_token)).expect(401);
      } else {
        expect(signin.body.code).toBe('account_disabled');
      }
      const detail = await t.http
        .get(`/admin/users/${user.id}`)
        .set(as(admin.tokens.access_token))
        .expect(200);
      expect(detail.body.sessions).toEqual([]);
    }
  });

  it('disables until a time, then lets the owner back in by itself', async () => {
    const real = t.app.get(Clock);
    const { now, nowMs } = real;
    const clock: FakeClock = fakeClockOf(t);
    try {
      const user = await signUp(t.http);
      const past = await t.http
        .post(`/admin/users/${user.id}/disable`)
        .set(as(admin.tokens.access_token))
        .send({ reason: 'x', until: new Date(clock.nowMs() - 1000).toISOString() })
        .expect(400);
      expect(past.body.code).toBe('validation_failed');
      const until = new Date(clock.nowMs() + 3600_000);
      await t.http
        .post(`/admin/users/${user.id}/disable`)
        .set(as(admin.tokens.access_token))
        .send({ reason: 'cooling off', until: until.toISOString() })
        .expect(200);
      const refused = await t.http
        .post('/signin')
        .send({ email: user.email, password: DEFAULT_PASSWORD })
        .expect(403);
      expect(refused.body.detail).toContain(until.toISOString());
      clock.advance(3601);
      await signIn(t.http, user.email);
    } finally {
      Object.assign(real, { now, nowMs });
    }
  });

  it('refuses an admin disabling themselves or taking their own admin role', async () => {
    const self = await t.http
      .post(`/admin/users/${admin.id}/disable`)
      .set(as(admin.tokens.access_token))
      .send({ reason: 'oops' })
      .expect(400);
    expect(self.body.code).toBe('bad_request');
    await t.http
      .put(`/admin/users/${admin.id}/roles`)
      .set(as(admin.tokens.access_token))
      .send({ roles: ['support'] })
      .expect(400);
  });

  it('ends every session of an account', async () => {
    const user = await signUp(t.http);
    const tokens = [await signIn(t.http, user.email), await signIn(t.http, user.email)];
    const ended = await t.http
      .post(`/admin/users/${user.id}/sessions/end`)
      .set(as(admin.tokens.access_token))
      .expect(200);
    expect(ended.body).toEqual({ ended: 2 });
    for (const pair of tokens) {
      await t.http.get('/protected').set(as(pair.access_token)).expect(401);
    }
    await signIn(t.http, user.email);
  });

  it('unlocks an account locked by failed sign-ins', async () => {
    const user = await signUp(t.http);
    for (let i = 0; i < 3; i++) {
      await t.http.post('/signin').send({ email: user.email, password: 'wrong-password' });
    }
    await t.http
      .post('/signin')
      .send({ email: user.email, password: DEFAULT_PASSWORD })
      .expect(429);
    const locked = await t.http
      .get(`/admin/users/${user.id}`)
      .set(as(admin.tokens.access_token))
      .expect(200);
    expect(locked.body.lock.lockedAddresses).toBe(1);
    expect(Date.parse(locked.body.lock.lockedUntil)).toBeGreaterThan(Date.now());

    await t.http
      .post(`/admin/users/${user.id}/unlock`)
      .set(as(admin.tokens.access_token))
      .expect(204);
    await signIn(t.http, user.email);
    const unlocked = await t.http
      .get(`/admin/users/${user.id}`)
      .set(as(admin.tokens.access_token))
      .expect(200);
    expect(unlocked.body.lock).toEqual({ lockedUntil: null, lockedAddresses: 0 });
  });

  it("removes a user's second factor", async () => {
    const user = await signUp(t.http);
    const tokens = await signIn(t.http, user.email);
    const { totp } = await enrolTotp(t.http, tokens.access_token);
    const challenged = await t.http
      .post('/signin')
      .send({ email: user.email, password: DEFAULT_PASSWORD })
      .expect(403);
    expect(challenged.body.code).toBe('mfa_required');

    await t.http
      .delete(`/admin/users/${user.id}/mfa`)
      .set(as(admin.tokens.access_token))
      .expect(204);
    await signIn(t.http, user.email);
    // The challenge the password step opened before the reset is spent with the factor.
    await t.http
      .post('/signin/mfa')
      .send({ mfa_token: challenged.body.mfa_token, code: totp.generate() })
      .expect(401)
      .expect((response) => expect(response.body.code).toBe('mfa_token_invalid'));
    const again = await t.http
      .delete(`/admin/users/${user.id}/mfa`)
      .set(as(admin.tokens.access_token))
      .expect(404);
    expect(again.body.code).toBe('mfa_not_enabled');
  });

  it('replaces roles; tokens carry them from the next refresh', async () => {
    const user = await signUp(t.http);
    const tokens = await signIn(t.http, user.email);
    const changed = await t.http
      .put(`/admin/users/${user.id}/roles`)
      .set(as(admin.tokens.access_token))
      .send({ roles: ['support', 'billing'] })
      .expect(200);
    expect(changed.body.roles).toEqual(['billing', 'support']);
    expect(rolesOf(tokens.access_token)).toBeUndefined();
    const refreshed = await t.http
      .post('/refresh')
      .send({ refresh_token: tokens.refresh_token })
      .expect(200);
    expect(rolesOf(refreshed.body.access_token)).toEqual(['billing', 'support']);
    for (const roles of [
      ['Admin'],
      ['a'.repeat(40)],
      ['x', 'x'],
      'admin',
      [1],
      Array(17).fill('r'),
    ]) {
      const refused = await t.http
        .put(`/admin/users/${user.id}/roles`)
        .set(as(admin.tokens.access_token))
        .send({ roles })
        .expect(400);
      expect(refused.body.code).toBe('validation_failed');
    }
  });

  it('pages through accounts by email prefix, stable while accounts are added', async () => {
    const prefix = `page-${Date.now()}-`;
    const emails = Array.from(
      { length: 25 },
      (_, i) => `${prefix}${String(i * 2).padStart(3, '0')}@example.com`,
    );
    for (const email of emails) {
      await signUp(t.http, email);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let added = 0;
    do {
      const page: { body: { users: { email: string }[]; nextCursor: string | null } } = await t.http
        .get('/admin/users')
        .query({ query: prefix.toUpperCase(), limit: 7, ...(cursor ? { cursor } : {}) })
        .set(as(admin.tokens.access_token))
        .expect(200);
      expect(page.body.users.length).toBeLessThanOrEqual(7);
      seen.push(...page.body.users.map((user: { email: string }) => user.email));
      cursor = page.body.nextCursor;
      // Accounts added between pages, before and after the cursor, shift nothing.
      await signUp(t.http, `${prefix}${String(added * 2 + 1).padStart(3, '0')}@example.com`);
      added += 1;
    } while (cursor !== null);
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual(seen);
    for (const email of emails) {
      expect(seen).toContain(email);
    }
    const bad = await t.http
      .get('/admin/users')
      .query({ limit: 101 })
      .set(as(admin.tokens.access_token))
      .expect(400);
    expect(bad.body.code).toBe('validation_failed');
    await t.http
      .get('/admin/users')
      .query({ cursor: 'not a cursor' })
      .set(as(admin.tokens.access_token))
      .expect(400);
  });

  it('audits every admin action with its actor, and pages through the log newest first', async () => {
    const user = await signUp(t.http);
    const base = `/admin/users/${user.id}`;
    const auth = as(admin.tokens.access_token);
    await t.http.post(`${base}/disable`).set(auth).send({ reason: 'audit test' }).expect(200);
    await t.http.post(`${base}/enable`).set(auth).expect(200);
    await t.http.post(`${base}/sessions/end`).set(auth).expect(200);
    await t.http.post(`${base}/unlock`).set(auth).expect(204);
    await t.http
      .put(`${base}/roles`)
      .set(auth)
      .send({ roles: ['support'] })
      .expect(200);

    const log = await t.http
      .get('/admin/audit')
      .query({ user: user.id, type: 'admin.*' })
      .set(auth)
      .expect(200);
    const events = log.body.events as { id: string; type: string }[];
    expect(events.map((event) => event.type)).toEqual([
      'admin.roles_changed',
      'admin.user_unlocked',
      'admin.sessions_ended',
      'admin.user_enabled',
      'admin.user_disabled',
    ]);
    for (const event of log.body.events) {
      expect(event).toMatchObject({ userId: user.id, actorId: admin.id, outcome: 'success' });
      expect(event.ip).toBeTruthy();
    }
    expect(log.body.events[0].details).toEqual({ roles: 'support', previous: '' });
    expect(log.body.events[4].details).toMatchObject({ reason: 'audit test', until: 'indefinite' });

    // Page by page, two at a time: the same events, in the same order, while more are recorded.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { events: { id: string }[]; nextCursor: string | null } } = await t.http
        .get('/admin/audit')
        .query({ user: user.id, limit: 2, ...(cursor ? { cursor } : {}) })
        .set(auth)
        .expect(200);
      seen.push(...page.body.events.map((event: { id: string }) => event.id));
      cursor = page.body.nextCursor;
      await t.http.post(`${base}/unlock`).set(auth).expect(204);
    } while (cursor !== null);
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort().reverse()).toEqual(seen);
    expect(seen).toEqual(expect.arrayContaining(events.map((event) => event.id)));
    expect(seen).toHaveLength(events.length + 1); // the sign-up

    const since = await t.http
      .get('/admin/audit')
      .query({ user: user.id, since: new Date(Date.now() + 60_000).toISOString() })
      .set(auth)
      .expect(200);
    expect(since.body.events).toEqual([]);
    const signups = await t.http
      .get('/admin/audit')
      .query({ user: user.id, type: 'signup', until: new Date(Date.now() + 60_000).toISOString() })
      .set(auth)
      .expect(200);
    expect(signups.body.events).toHaveLength(1);
  });

  it('keeps every secret of these tests out of every column of every audit row', async () => {
    const rows = await sql<Record<string, unknown>[]>(
      t.app.get(DataSource),
      'SELECT * FROM audit_events',
    );
    expect(rows.some((row) => String(row.type).startsWith('admin.'))).toBe(true);
    const text = JSON.stringify(rows);
    for (const secret of [
      DEFAULT_PASSWORD,
      'wrong-password',
      admin.tokens.access_token,
      admin.tokens.refresh_token,
      admin.tokens.access_token.split('.')[2],
    ]) {
      expect(text.includes(secret)).toBe(false);
    }
  });

  it('never answers 500 to hostile query strings and bodies', async () => {
    const user = await signUp(t.http);
    const auth = as(admin.tokens.access_token);
    const text = fc.oneof(
      fc.string(),
      fc.string({ unit: 'grapheme', maxLength: 80 }),
      fc.constantFrom('%', '_', '\\', "'", '0', '-1', '1e3', '101', '', 'admin.*', '*', '\u0000'),
      fc.constantFrom(
        'AA',
        'YQ',
        '2026-01-01T00:00:00Z',
        '0000-01-01T00:00:00Z',
        '9999-12-31T23:59:59Z',
      ),
    );
    const scalar = fc.oneof(text, fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
    const value = fc.oneof(
      scalar,
      fc.array(scalar, { maxLength: 3 }),
      fc.dictionary(text, scalar, { maxKeys: 2 }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/admin/users', '/admin/audit'),
        fc.dictionary(
          fc.constantFrom('query', 'cursor', 'limit', 'user', 'type', 'since', 'until', 'x'),
          text,
          { maxKeys: 4 },
        ),
        async (path, query) => {
          const response = await t.http.get(path).query(query).set(auth);
          expect([200, 400]).toContain(response.status);
        },
      ),
      { numRuns: 150 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('disable', 'roles'),
        fc.oneof(
          value,
          fc.record({ reason: value, until: value, roles: value }, { requiredKeys: [] }),
        ),
        async (route, body) => {
          const request =
            route === 'roles'
              ? t.http.put(`/admin/users/${user.id}/roles`)
              : t.http.post(`/admin/users/${user.id}/disable`);
          const response = await request
            .set(auth)
            .set('Content-Type', 'application/json')
            .send(JSON.stringify(body));
          expect([200, 400]).toContain(response.status);
          if (response.status === 200 && route === 'disable') {
            await t.http.post(`/admin/users/${user.id}/enable`).set(auth).expect(200);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('admin API with ADMIN_REQUIRE_MFA', () => {
  let t: TestApp;
  let clock: FakeClock;

  beforeAll(async () => {
    t = await createTestApp({ ADMIN_REQUIRE_MFA: 'true' });
    clock = fakeClockOf(t, Math.floor(Date.now() / 30_000) * 30_000 + 15_000);
  });

  afterAll(() => t.close());

  it('admits an admin only once they have a second factor and signed in with it', async () => {
    const admin = await newAdmin(t);
    const none = await t.http
      .get('/admin/users')
      .set(bearer(admin.tokens.access_token))
      .expect(403);
    expect(none.body.code).toBe('mfa_enrollment_required');

    const { totp } = await enrolTotp(t.http, admin.tokens.access_token, clock.nowMs());
    const aal1 = await t.http
      .get('/admin/users')
      .set(bearer(admin.tokens.access_token))
      .expect(403);
    expect(aal1.body.code).toBe('mfa_step_up_required');

    const challenge = await t.http
      .post('/signin')
      .send({ email: admin.email, password: DEFAULT_PASSWORD })
      .expect(403);
    clock.advance(30);
    const aal2 = await t.http
      .post('/signin/mfa')
      .send({
        mfa_token: challenge.body.mfa_token,
        code: totp.generate({ timestamp: clock.nowMs() }),
      })
      .expect(200);
    await t.http.get('/admin/users').set(bearer(aal2.body.access_token)).expect(200);
  });

  it('is on by default in production only', async () => {
    const { loadAuthConfig } = await import('../src/config/auth.config');
    const secret = { JWT_SECRET: 'x'.repeat(48) };
    expect(loadAuthConfig({ ...secret, NODE_ENV: 'production' }).adminRequireMfa).toBe(true);
    expect(loadAuthConfig({ ...secret, NODE_ENV: 'development' }).adminRequireMfa).toBe(false);
    expect(
      loadAuthConfig({ ...secret, NODE_ENV: 'production', ADMIN_REQUIRE_MFA: 'false' })
        .adminRequireMfa,
    ).toBe(false);
  });
});
