import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'jsonwebtoken';
import fc from 'fast-check';
import { Secret, TOTP, URI } from 'otpauth';
import type { FakeClock } from '../src/common/clock/fake-clock';
import { fakeClockOf } from './helpers/fake-clock';
import { sql } from './helpers/database';
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
import { DataSource } from 'typeorm';

/** Codes as an authenticator app computes them, from the enrolment's otpauth URI. */
function appFor(uri: string): (atMs: number) => string {
  const totp = URI.parse(uri) as TOTP;
  return (atMs) => totp.generate({ timestamp: atMs });
}

/** Milliseconds to the start of the next 30-second step, so a test never straddles one. */
const STEP_MS = 30_000;
const STEP_S = STEP_MS / 1000;

describe('second factor (TOTP)', () => {
  let t: TestApp;
  let clock: FakeClock;

  beforeEach(async () => {
    t = await createTestApp({ RATE_LIMIT_SIGNIN_FAILURES: '8' });
    // The middle of a step, well away from its edges.
    clock = fakeClockOf(t, Math.floor(Date.now() / STEP_MS) * STEP_MS + 15_000);
  });

  afterEach(() => t.close());

  interface Enrolled {
    email: string;
    id: string;
    tokens: TokenPair;
    code: (atMs: number) => string;
    recoveryCodes: string[];
    secret: string;
  }

  async function enrolled(): Promise<Enrolled> {
    const user = await signUp(t.http, uniqueEmail('mfa'));
    const tokens = await signIn(t.http, user.email);
    const enrolment = await t.http
      .post('/mfa/totp/enroll')
      .set(bearer(tokens.access_token))
      .send({ password: DEFAULT_PASSWORD })
      .expect(200);
    const code = appFor(enrolment.body.otpauthUri);
    const verified = await t.http
      .post('/mfa/totp/verify')
      .set(bearer(tokens.access_token))
      .send({ code: code(clock.nowMs()) })
      .expect(200);
    return {
      ...user,
      tokens,
      code,
      recoveryCodes: verified.body.recoveryCodes,
      secret: enrolment.body.secret,
    };
  }

  async function mfaToken(email: string, password = DEFAULT_PASSWORD): Promise<string> {
    const response = await t.http.post('/signin').send({ email, password }).expect(403);
    expect(response.body.code).toBe('mfa_required');
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.body.access_token).toBeUndefined();
    return response.body.mfa_token as string;
  }

  const claims = (token: string) => decode(token) as { aal: string; amr: string[] };

  it('enrols from the otpauth URI and asks for the factor at every sign-in', async () => {
    const user = await signUp(t.http, uniqueEmail('enrol'));
    const tokens = await signIn(t.http, user.email);
    expect(claims(tokens.access_token)).toMatchObject({ aal: 'aal1', amr: ['pwd'] });
    const other = await signIn(t.http, user.email);
    await t.http
      .get('/mfa')
      .set(bearer(tokens.access_token))
      .expect(200, { totp: 'off', recoveryCodesLeft: 0 });

    const wrong = await t.http
      .post('/mfa/totp/enroll')
      .set(bearer(tokens.access_token))
      .send({ password: 'not-the-password' })
      .expect(403);
    expect(wrong.body.code).toBe('invalid_password');
    const enrolment = await t.http
      .post('/mfa/totp/enroll')
      .set(bearer(tokens.access_token))
      .send({ password: DEFAULT_PASSWORD })
      .expect(200);
    const { secret, otpauthUri, qrSvg } = enrolment.body as Record<string, string>;
    expect(secret).toMatch(/^[A-Z2-7]{32}$/); // 160 bits
    const uri = new URL(otpauthUri);
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe(`/test-issuer:${user.email}`);
    expect(Object.fromEntries(uri.searchParams)).toEqual({
      secret,
      issuer: 'test-issuer',
      algorithm: 'SHA1',
      digits: '6',
      period: '30',
    });
    expect(qrSvg).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
    await t.http
      .get('/mfa')
      .set(bearer(tokens.access_token))
      .expect(200, { totp: 'pending', recoveryCodesLeft: 0 });

    const code = appFor(otpauthUri);
    const bad = await t.http
      .post('/mfa/totp/verify')
      .set(bearer(tokens.access_token))
      .send({ code: code(clock.nowMs() + 5 * STEP_MS) })
      .expect(400);
    expect(bad.body.code).toBe('invalid_code');
    const verified = await t.http
      .post('/mfa/totp/verify')
      .set(bearer(tokens.access_token))
      .send({ code: code(clock.nowMs()) })
      .expect(200);
    expect(verified.body.recoveryCodes).toHaveLength(10);
    expect(new Set(verified.body.recoveryCodes).size).toBe(10);
    for (const recovery of verified.body.recoveryCodes as string[]) {
      expect(recovery).toMatch(/^[0-9A-Z]{5}-[0-9A-Z]{5}$/);
    }
    // Every other session ended; this one stays, at its level.
    await t.http.get('/protected').set(bearer(other.access_token)).expect(401);
    await t.http
      .get('/mfa')
      .set(bearer(tokens.access_token))
      .expect(200, { totp: 'active', recoveryCodesLeft: 10 });
    const again = await t.http
      .post('/mfa/totp/enroll')
      .set(bearer(tokens.access_token))
      .send({ password: DEFAULT_PASSWORD })
      .expect(409);
    expect(again.body.code).toBe('mfa_already_enabled');

    const token = await mfaToken(user.email);
    clock.advance(STEP_S);
    const signedIn = await t.http
      .post('/signin/mfa')
      .send({ mfa_token: token, code: code(clock.nowMs()) })
      .expect(200);
    expect(claims(signedIn.body.access_token)).toMatchObject({ aal: 'aal2', amr: ['pwd', 'otp'] });
    const sessions = await t.http
      .get('/sessions')
      .set(bearer(signedIn.body.access_token))
      .expect(200);
    const current = (sessions.body as { current: boolean; aal: string; amr: string[] }[]).find(
      (session) => session.current,
    );
    expect(current).toMatchObject({ aal: 'aal2', amr: ['pwd', 'otp'] });
    // A refresh keeps the level.
    const refreshed = await t.http
      .post('/refresh')
      .send({ refresh_token: signedIn.body.refresh_token })
      .expect(200);
    expect(claims(refreshed.body.access_token)).toMatchObject({ aal: 'aal2', amr: ['pwd', 'otp'] });
    // A spent mfa_token is dead.
    const reused = await t.http
      .post('/signin/mfa')
      .send({ mfa_token: token, code: code(clock.nowMs() + STEP_MS) })
      .expect(401);
    expect(reused.body.code).toBe('mfa_token_invalid');
  });

  it('accepts one step either side and nothing further, as the clock moves', async () => {
    const user = await enrolled();
    for (const [offset, expected] of [
      [-2 * STEP_MS, 400],
      [2 * STEP_MS, 400],
      [-STEP_MS, 200],
    ] as const) {
      clock.advance(3 * STEP_S);
      const token = await mfaToken(user.email);
      const response = await t.http
        .post('/signin/mfa')
        .send({ mfa_token: token, code: user.code(clock.nowMs() + offset) });
      expect(response.status).toBe(expected);
    }
    clock.advance(3 * STEP_S);
    const token = await mfaToken(user.email);
    await t.http
      .post('/signin/mfa')
      .send({ mfa_token: token, code: user.code(clock.nowMs() + STEP_MS) })
      .expect(200);
  });

  it('never accepts a code twice, nor one of an earlier step, even concurrently', async () => {
    const user = await enrolled();
    clock.advance(STEP_S);
    const now = clock.nowMs();
    await t.http
      .post('/signin/mfa')
      .send({ mfa_token: await mfaToken(user.email), code: user.code(now) })
      .expect(200);
    const replay = await t.http
      .post('/signin/mfa')
      .send({ mfa_token: await mfaToken(user.email), code: user.code(now) })
      .expect(400);
    expect(replay.body.code).toBe('invalid_code');
    const earlier = await t.http
      .post('/signin/mfa')
      .send({ mfa_token: await mfaToken(user.email), code: user.code(now - STEP_MS) })
      .expect(400);
    expect(earlier.body.code).toBe('invalid_code');

    for (let run = 0; run < 10; run++) {
      clock.advance(STEP_S);
      const code = user.code(clock.nowMs());
      const tokens = [await mfaToken(user.email), await mfaToken(user.email)];
      const statuses = await Promise.all(
        tokens.map(async (token) => {
          await new Promise((done) => setTimeout(done, Math.random() * 5));
          return (await t.http.post('/signin/mfa').send({ mfa_token: token, code })).status;
        }),
      );
      expect(statuses.sort()).toEqual([200, 400]);
    }
  });

  it('kills an mfa_token after 5 wrong codes, and counts them towards the sign-in lock', async () => {
    const user = await enrolled();
    const token = await mfaToken(user.email);
    const wrong = user.code(clock.nowMs() + 10 * STEP_MS);
    for (let i = 0; i < 5; i++) {
      const response = await t.http.post('/signin/mfa').send({ mfa_token: token, code: wrong });
      expect(response.status).toBe(400);
      expect(response.body.code).toBe('invalid_code');
    }
    const dead = await t.http
      .post('/signin/mfa')
      .send({ mfa_token: token, code: user.code(clock.nowMs()) })
      .expect(401);
    expect(dead.body.code).toBe('mfa_token_invalid');

    // Counted so far: the right password (half a sign-in until its code comes) and 5 wrong
    // codes. The lock allows 8 failures per account and client: one more password and one more
    // wrong code reach it.
    const second = await mfaToken(user.email);
    await t.http.post('/signin/mfa').send({ mfa_token: second, code: wrong }).expect(400);
    const blocked = await t.http
      .post('/signin/mfa')
      .send({ mfa_token: second, code: user.code(clock.nowMs()) })
      .expect(429);
    expect(blocked.headers['retry-after']).toMatch(/^\d+$/);
    const locked = await t.http
      .post('/signin')
      .send({ email: user.email, password: DEFAULT_PASSWORD })
      .expect(429);
    expect(locked.body.code).toBe('rate_limited');
  });

  it('leaves nothing counted on the account-wide ceiling after two-step sign-ins, and counts them', async () => {
    await t.close();
    t = await createTestApp({ RATE_LIMIT_ACCOUNT_FAILURES: '3' });
    clock = fakeClockOf(t, Math.floor(Date.now() / STEP_MS) * STEP_MS + 15_000);
    const user = await enrolled();
    for (let i = 0; i < 5; i++) {
      clock.advance(STEP_S);
      await t.http
        .post('/signin/mfa')
        .send({ mfa_token: await mfaToken(user.email), code: user.code(clock.nowMs()) })
        .expect(200);
    }
    const metrics = await t.http.get('/metrics').expect(200);
    expect(metrics.text).toMatch(/^auth_signin_second_steps_total\{outcome="success"\} 5$/m);
    expect(metrics.text).toMatch(/^auth_signins_total\{outcome="mfa_required"\} 5$/m);
  });

  it('lets at most 5 concurrent attempts through with one mfa_token', async () => {
    const user = await enrolled();
    const token = await mfaToken(user.email);
    const wrong = user.code(clock.nowMs() + 10 * STEP_MS);
    const statuses = await Promise.all(
      Array.from({ length: 7 }, () =>
        t.http.post('/signin/mfa').send({ mfa_token: token, code: wrong }),
      ),
    );
    const counts = statuses.reduce<Record<number, number>>((all, { status }) => {
      all[status] = (all[status] ?? 0) + 1;
      return all;
    }, {});
    // Exactly five codes are tried; the rest find the token worn out (or, should the sign-in lock
    // of the account fill up first, the lock).
    expect(counts[400]).toBe(5);
    expect(counts[200]).toBeUndefined();
    expect((counts[401] ?? 0) + (counts[429] ?? 0)).toBe(2);
  });

  it('signs in once with each recovery code, and a new set kills the old', async () => {
    const user = await enrolled();
    const [first, second] = user.recoveryCodes;
    const withCode = await t.http
      .post('/signin/mfa')
      .send({ mfa_token: await mfaToken(user.email), recovery_code: first.toLowerCase() })
      .expect(200);
    expect(claims(withCode.body.access_token)).toMatchObject({ aal: 'aal2', amr: ['pwd', 'mfa'] });
    const reused = await t.http
      .post('/signin/mfa')
      .send({ mfa_token: await mfaToken(user.email), recovery_code: first })
      .expect(400);
    expect(reused.body.code).toBe('invalid_code');
    await t.http
      .get('/mfa')
      .set(bearer(withCode.body.access_token))
      .expect(200, { totp: 'active', recoveryCodesLeft: 9 });

    // Concurrent spends of one code: one wins.
    const tokens = [await mfaToken(user.email), await mfaToken(user.email)];
    const statuses = await Promise.all(
      tokens.map((token) =>
        t.http.post('/signin/mfa').send({ mfa_token: token, recovery_code: second }),
      ),
    );
    expect(statuses.map((response) => response.status).sort()).toEqual([200, 400]);

    const fresh = await t.http
      .post('/mfa/recovery-codes')
      .set(bearer(withCode.body.access_token))
      .expect(200);
    expect(fresh.body.recoveryCodes).toHaveLength(10);
    const old = await t.http
      .post('/signin/mfa')
      .send({ mfa_token: await mfaToken(user.email), recovery_code: user.recoveryCodes[2] })
      .expect(400);
    expect(old.body.code).toBe('invalid_code');
    await t.http
      .post('/signin/mfa')
      .send({ mfa_token: await mfaToken(user.email), recovery_code: fresh.body.recoveryCodes[0] })
      .expect(200);
  });

  it('refuses credential changes from an aal1 session of an account with a factor', async () => {
    const user = await enrolled();
    // The enrolling session was opened with the password alone.
    const aal1 = bearer(user.tokens.access_token);
    const refusals = [
      t.http
        .post('/password')
        .set(aal1)
        .send({ currentPassword: DEFAULT_PASSWORD, newPassword: 'another-long-passphrase' }),
      t.http.delete('/me').set(aal1).send({ password: DEFAULT_PASSWORD }),
      t.http
        .post('/email/change')
        .set(aal1)
        .send({ newEmail: uniqueEmail('n'), password: DEFAULT_PASSWORD }),
      t.http.delete('/mfa/totp').set(aal1).send({ password: DEFAULT_PASSWORD }),
      t.http.post('/mfa/recovery-codes').set(aal1),
    ];
    for (const response of await Promise.all(refusals)) {
      expect(response.status).toBe(403);
      expect(response.body.code).toBe('mfa_step_up_required');
    }
    clock.advance(STEP_S);
    const aal2 = await t.http
      .post('/signin/mfa')
      .send({ mfa_token: await mfaToken(user.email), code: user.code(clock.nowMs()) })
      .expect(200);
    // A password change from an aal2 session continues at its level.
    const changed = await t.http
      .post('/password')
      .set(bearer(aal2.body.access_token))
      .send({ currentPassword: DEFAULT_PASSWORD, newPassword: 'another-long-passphrase' })
      .expect(200);
    expect(claims(changed.body.access_token)).toMatchObject({ aal: 'aal2', amr: ['pwd', 'otp'] });
    const back = await t.http
      .post('/password')
      .set(bearer(changed.body.access_token))
      .send({ currentPassword: 'another-long-passphrase', newPassword: DEFAULT_PASSWORD })
      .expect(200);
    const current = bearer(back.body.access_token as string);
    const wrong = await t.http
      .delete('/mfa/totp')
      .set(current)
      .send({ password: 'not-the-password' })
      .expect(403);
    expect(wrong.body.code).toBe('invalid_password');
    await t.http.delete('/mfa/totp').set(current).send({ password: DEFAULT_PASSWORD }).expect(204);
    await t.http.get('/mfa').set(current).expect(200, { totp: 'off', recoveryCodesLeft: 0 });
    await signIn(t.http, user.email);
  });

  it('still asks for the factor after a password reset', async () => {
    const user = await enrolled();
    const pending = await mfaToken(user.email);
    const link = await resetLinkOf(t, user.email, async () => {
      await t.http.post('/password/forgot').send({ email: user.email }).expect(202);
    });
    await t.http
      .post('/password/reset')
      .send({ token: link, newPassword: 'a-brand-new-passphrase' })
      .expect(200);
    // The second step begun with the old password is over; the new password still needs a code.
    await t.http
      .post('/signin/mfa')
      .send({ mfa_token: pending, code: user.code(clock.nowMs() + STEP_MS) })
      .expect(401);
    const token = await mfaToken(user.email, 'a-brand-new-passphrase');
    clock.advance(STEP_S);
    await t.http
      .post('/signin/mfa')
      .send({ mfa_token: token, code: user.code(clock.nowMs()) })
      .expect(200);
  });

  it('keeps the lock on wrong codes through a password reset', async () => {
    const user = await enrolled();
    const wrong = user.code(clock.nowMs() + 10 * STEP_MS);
    // The right password, then wrong codes, until the account's lock from this client holds.
    for (let attempt = 0; attempt < 8; attempt++) {
      const first = await t.http
        .post('/signin')
        .send({ email: user.email, password: DEFAULT_PASSWORD });
      if (first.status === 429) {
        break;
      }
      await t.http.post('/signin/mfa').send({ mfa_token: first.body.mfa_token, code: wrong });
    }
    await t.http
      .post('/signin')
      .send({ email: user.email, password: DEFAULT_PASSWORD })
      .expect(429);
    const link = await resetLinkOf(t, user.email, async () => {
      await t.http.post('/password/forgot').send({ email: user.email }).expect(202);
    });
    await t.http
      .post('/password/reset')
      .send({ token: link, newPassword: 'a-brand-new-passphrase' })
      .expect(200);
    const still = await t.http
      .post('/signin')
      .send({ email: user.email, password: 'a-brand-new-passphrase' })
      .expect(429);
    expect(still.body.code).toBe('rate_limited');
  });

  it('activates only the secret whose code was checked, and treats null as absent', async () => {
    const user = await signUp(t.http, uniqueEmail('twice'));
    const tokens = await signIn(t.http, user.email);
    const enrol = () =>
      t.http
        .post('/mfa/totp/enroll')
        .set(bearer(tokens.access_token))
        .send({ password: DEFAULT_PASSWORD })
        .expect(200);
    const first = appFor((await enrol()).body.otpauthUri);
    const second = appFor((await enrol()).body.otpauthUri);
    const stale = await t.http
      .post('/mfa/totp/verify')
      .set(bearer(tokens.access_token))
      .send({ code: first(clock.nowMs()) })
      .expect(400);
    expect(stale.body.code).toBe('invalid_code');
    await t.http
      .post('/mfa/totp/verify')
      .set(bearer(tokens.access_token))
      .send({ code: second(clock.nowMs()) })
      .expect(200);
    const token = await mfaToken(user.email);
    for (const body of [
      { mfa_token: token, recovery_code: null },
      { mfa_token: token, code: null },
      { mfa_token: token, code: null, recovery_code: null },
    ]) {
      const response = await t.http.post('/signin/mfa').send(body).expect(400);
      expect(response.body.code).toBe('validation_failed');
    }
    clock.advance(STEP_S);
    await t.http
      .post('/signin/mfa')
      .send({ mfa_token: token, code: second(clock.nowMs()), recovery_code: null })
      .expect(200);
  });

  it('keeps the secret sealed in the table', async () => {
    const user = await enrolled();
    const db = t.app.get(DataSource);
    const rows = await sql<{ sealed_secret: string }[]>(
      db,
      'SELECT sealed_secret FROM mfa_factors WHERE user_id = ?',
      [user.id],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].sealed_secret).toMatch(/^v1\./);
    expect(rows[0].sealed_secret).not.toContain(user.secret);
    expect(Buffer.from(rows[0].sealed_secret).toString()).not.toContain(
      Secret.fromBase32(user.secret).hex,
    );
    const codes = await sql<{ code_hash: string }[]>(
      db,
      'SELECT code_hash FROM mfa_recovery_codes WHERE user_id = ?',
      [user.id],
    );
    for (const row of codes) {
      for (const code of user.recoveryCodes) {
        expect(row.code_hash).not.toContain(code.replace('-', ''));
      }
    }
  });

  it('costs a sign-in of an account with a factor the same Argon2 work, and answers unknown emails as before', async () => {
    const user = await enrolled();
    const unknown = await t.http
      .post('/signin')
      .send({ email: uniqueEmail('nobody'), password: DEFAULT_PASSWORD })
      .expect(401);
    expect(unknown.body.code).toBe('invalid_credentials');
    const wrong = await t.http
      .post('/signin')
      .send({ email: user.email, password: 'not-the-password' })
      .expect(401);
    expect(wrong.body.code).toBe('invalid_credentials');
  });

  it('never answers 5xx to hostile bodies on the new routes', async () => {
    const user = await enrolled();
    const token = await mfaToken(user.email);
    const routes = ['/signin/mfa', '/mfa/totp/enroll', '/mfa/totp/verify', '/mfa/recovery-codes'];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        fc.oneof(
          fc.jsonValue(),
          fc.record(
            {
              mfa_token: fc.oneof(fc.constant(token), fc.string(), fc.jsonValue()),
              code: fc.oneof(fc.stringMatching(/^\d{6}$/), fc.string(), fc.jsonValue()),
              recovery_code: fc.oneof(fc.string(), fc.jsonValue()),
              password: fc.oneof(fc.string(), fc.jsonValue()),
            },
            { requiredKeys: [] },
          ),
        ),
        async (route, body) => {
          const response = await t.http
            .post(route)
            .set(bearer(user.tokens.access_token))
            .set('Content-Type', 'application/json')
            .send(JSON.stringify(body));
          expect(response.status).toBeGreaterThanOrEqual(200);
          expect(response.status).toBeLessThan(500);
        },
      ),
      { numRuns: 150 },
    );
  });
});

/**
 * The token of the reset link `request` makes the test app send to `email` (the app has no SMTP
 * server here: the mail is read off its transport).
 */
async function resetLinkOf(
  t: TestApp,
  email: string,
  request: () => Promise<void>,
): Promise<string> {
  const { OutboxSender } = await import('../src/mail/outbox.sender');
  const { MailTransport } = await import('../src/mail/mail-transport');
  const transport = t.app.get(MailTransport);
  const links: string[] = [];
  const send = transport.send.bind(transport);
  transport.send = (mail) => {
    if (mail.to === email && mail.link) {
      links.push(mail.link);
    }
    return send(mail);
  };
  await request();
  const sender = t.app.get(OutboxSender);
  sender.wake();
  await sender.idle();
  transport.send = send;
  expect(links).toHaveLength(1);
  return new URL(links[0]).searchParams.get('token')!;
}

describe('DATA_ENCRYPTION_KEY rotation', () => {
  const dir = mkdtempSync(join(tmpdir(), 'auth-mfa-keys-'));
  const oldKey = randomBytes(32).toString('base64url');
  const newKey = randomBytes(32).toString('base64url');
  const jwtSecret = randomBytes(48).toString('base64url');

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const start = (keys: string) =>
    createTestApp({
      DB_PATH: join(dir, 'auth.sqlite'),
      JWT_SECRET: jwtSecret,
      DATA_ENCRYPTION_KEY: keys,
    });

  const keyIdOf = async (t: TestApp, userId: string) => {
    const [row] = await sql<{ sealed_secret: string }[]>(
      t.app.get(DataSource),
      'SELECT sealed_secret FROM mfa_factors WHERE user_id = ?',
      [userId],
    );
    return row.sealed_secret.split('.')[1];
  };

  async function signInWithCode(t: TestApp, email: string, code: string): Promise<number> {
    const first = await t.http.post('/signin').send({ email, password: DEFAULT_PASSWORD });
    expect(first.body.code).toBe('mfa_required');
    return (await t.http.post('/signin/mfa').send({ mfa_token: first.body.mfa_token, code }))
      .status;
  }

  /** A new account with an active factor, verified with the code of `atMs`. */
  async function enrolNew(t: TestApp, name: string, atMs: number) {
    const user = await signUp(t.http, uniqueEmail(name));
    const tokens = await signIn(t.http, user.email);
    const enrolment = await t.http
      .post('/mfa/totp/enroll')
      .set(bearer(tokens.access_token))
      .send({ password: DEFAULT_PASSWORD })
      .expect(200);
    const code = appFor(enrolment.body.otpauthUri);
    await t.http
      .post('/mfa/totp/verify')
      .set(bearer(tokens.access_token))
      .send({ code: code(atMs) })
      .expect(200);
    return { user, code };
  }

  it('still opens secrets sealed before DATA_ENCRYPTION_KEY was first set', async () => {
    const derivedDir = mkdtempSync(join(tmpdir(), 'auth-mfa-derived-'));
    const env = { DB_PATH: join(derivedDir, 'auth.sqlite'), JWT_SECRET: jwtSecret };
    let t = await createTestApp({ ...env, DATA_ENCRYPTION_KEY: '' });
    try {
      const now = Date.now();
      const { user, code } = await enrolNew(t, 'derived', now - STEP_MS);
      const before = await keyIdOf(t, user.id);
      await t.close();
      t = await createTestApp({ ...env, DATA_ENCRYPTION_KEY: newKey });
      expect(await signInWithCode(t, user.email, code(now))).toBe(200);
      expect(await keyIdOf(t, user.id)).not.toBe(before);
    } finally {
      await t.close();
      rmSync(derivedDir, { recursive: true, force: true });
    }
  });

  it('opens secrets under a listed old key, re-seals them at the next sign-in, then needs it no more', async () => {
    let t = await start(oldKey);
    const now = Date.now();
    const { user, code } = await enrolNew(t, 'rotate', now - STEP_MS);
    const oldId = await keyIdOf(t, user.id);
    await t.close();

    t = await start(`${newKey},${oldKey}`);
    expect(await signInWithCode(t, user.email, code(now))).toBe(200);
    const newId = await keyIdOf(t, user.id);
    expect(newId).not.toBe(oldId);
    await t.close();

    t = await start(newKey);
    try {
      expect(await signInWithCode(t, user.email, code(now + STEP_MS))).toBe(200);
    } finally {
      await t.close();
    }
  });
});
