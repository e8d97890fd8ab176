import { decode } from 'jsonwebtoken';
import fc from 'fast-check';
import type { FakeClock } from '../src/common/clock/fake-clock';
import { OutboxRepository } from '../src/mail/outbox.repository';
import { OutboxSender } from '../src/mail/outbox.sender';
import { fakeClockOf } from './helpers/fake-clock';
import { TestSmtpServer, tokenOf } from './helpers/smtp';
import {
  bearer,
  createTestApp,
  DEFAULT_PASSWORD,
  signIn,
  signUp,
  TestApp,
  uniqueEmail,
} from './helpers/test-app';

const PUBLIC_URL = 'https://auth.example.test/base';
const SUBJECTS = {
  verify: 'Confirm your email address',
  reset: 'Reset your password',
  change: 'Confirm your new email address',
  passwordChanged: 'Your password was changed',
  changeNotice: 'A change of your email address was requested',
};
const NEW_PASSWORD = 'a-brand-new-passphrase';

/** The path and token of a link from a mail, for requests against the test app. */
function linkOf(link: string | undefined): { path: string; token: string } {
  expect(link).toBeDefined();
  const url = new URL(link!);
  expect(url.origin + url.pathname.slice(0, '/base'.length)).toBe(PUBLIC_URL);
  return { path: url.pathname.slice('/base'.length), token: tokenOf(link) };
}

describe('email flows over real SMTP', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  let clock: FakeClock;

  beforeAll(async () => {
    smtp = await TestSmtpServer.start();
  });

  afterAll(async () => {
    await smtp.stop();
  });

  async function start(env: Record<string, string> = {}): Promise<TestApp> {
    t = await createTestApp({
      SMTP_URL: smtp.url,
      PUBLIC_URL,
      MAIL_FROM: 'auth@example.test',
      MAIL_POLL_INTERVAL: '1s',
      ...env,
    });
    clock = fakeClockOf(t);
    return t;
  }

  /** Lets the per-address throttle (one mail of a kind a minute) pass. */
  const afterThrottle = () => clock.advance(61);

  /** Waits until the sender has dealt with every mail due now. */
  async function outboxSettled(): Promise<void> {
    const sender = t.app.get(OutboxSender);
    sender.wake();
    await sender.idle();
  }

  afterEach(async () => {
    await t?.close();
  });

  describe('verification', () => {
    beforeEach(() => start());

    it('mails a link at sign-up whose page changes nothing and whose POST verifies once', async () => {
      const user = await signUp(t.http, uniqueEmail('verify'));
      const [mail] = await smtp.waitFor(user.email, 1, SUBJECTS.verify);
      expect(mail.from).toBe('auth@example.test');
      expect(mail.html).toContain(mail.link);
      const { path, token } = linkOf(mail.link);
      expect(path).toBe('/email/verify');
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);

      for (const method of ['get', 'head', 'get'] as const) {
        const page = await t.http[method](`${path}?token=${token}`).expect(200);
        expect(page.headers['content-type']).toMatch(/^text\/html/);
        expect(page.headers['cache-control']).toBe('no-store');
        expect(page.headers['content-security-policy']).toContain("script-src 'sha256-");
        if (method === 'get') {
          expect(page.text).not.toContain(token);
        }
      }
      const tokens = await signIn(t.http, user.email);
      expect((decode(tokens.access_token) as { email_verified: boolean }).email_verified).toBe(
        false,
      );
      const before = await t.http.get('/me').set(bearer(tokens.access_token)).expect(200);
      expect(before.body.emailVerified).toBe(false);

      const verified = await t.http.post(path).send({ token }).expect(200);
      expect(verified.body).toEqual({ email: user.email, emailVerified: true });
      const again = await t.http.post(path).send({ token }).expect(400);
      expect(again.body.code).toBe('link_invalid');

      const after = await t.http.get('/me').set(bearer(tokens.access_token)).expect(200);
      expect(after.body.emailVerified).toBe(true);
      const refreshed = await t.http
        .post('/refresh')
        .send({ refresh_token: tokens.refresh_token })
        .expect(200);
      expect(
        (decode(refreshed.body.access_token) as { email_verified: boolean }).email_verified,
      ).toBe(true);
    });

    it('resends a new link that replaces the old one, and nothing once verified', async () => {
      const user = await signUp(t.http, uniqueEmail('resend'));
      const [first] = await smtp.waitFor(user.email, 1, SUBJECTS.verify);
      const tokens = await signIn(t.http, user.email);

      // Within the minute: answered, not sent.
      await t.http.post('/email/verify/resend').set(bearer(tokens.access_token)).expect(202);
      await outboxSettled();
      expect(smtp.to(user.email)).toHaveLength(1);

      afterThrottle();
      await t.http.post('/email/verify/resend').set(bearer(tokens.access_token)).expect(202);
      const [, second] = await smtp.waitFor(user.email, 2, SUBJECTS.verify);
      expect(tokenOf(second.link)).not.toBe(tokenOf(first.link));
      const old = await t.http.post('/email/verify').send({ token: tokenOf(first.link) });
      expect(old.status).toBe(400);
      expect(old.body.code).toBe('link_invalid');
      await t.http
        .post('/email/verify')
        .send({ token: tokenOf(second.link) })
        .expect(200);

      afterThrottle();
      await t.http.post('/email/verify/resend').set(bearer(tokens.access_token)).expect(202);
      await outboxSettled();
      expect(smtp.to(user.email)).toHaveLength(2);
      await t.http.post('/email/verify/resend').expect(401);
    });

    it('refuses an expired link', async () => {
      await t.close();
      await start({ EMAIL_VERIFICATION_TTL: '30s' });
      const user = await signUp(t.http, uniqueEmail('expiry'));
      const [mail] = await smtp.waitFor(user.email, 1, SUBJECTS.verify);
      clock.advance(31);
      const response = await t.http.post('/email/verify').send({ token: tokenOf(mail.link) });
      expect(response.status).toBe(400);
      expect(response.body.code).toBe('link_invalid');
    });

    it('gives exactly one 200 to concurrent spends of one link', async () => {
      for (let run = 0; run < 10; run++) {
        const user = await signUp(t.http, uniqueEmail(`race${run}`));
        const [mail] = await smtp.waitFor(user.email, 1, SUBJECTS.verify);
        const spend = async () => {
          await new Promise((done) => setTimeout(done, Math.random() * 5));
          return (await t.http.post('/email/verify').send({ token: tokenOf(mail.link) })).status;
        };
        const statuses = await Promise.all([spend(), spend(), spend()]);
        expect(statuses.sort()).toEqual([200, 400, 400]);
      }
    });
  });

  describe('password reset', () => {
    beforeEach(() => start({ RATE_LIMIT_SIGNIN_FAILURES: '3' }));

    it('answers the same for known and unknown addresses, and mails only the known one', async () => {
      const user = await signUp(t.http, uniqueEmail('known'));
      const unknown = uniqueEmail('unknown');
      const known = await t.http.post('/password/forgot').send({ email: user.email }).expect(202);
      const other = await t.http.post('/password/forgot').send({ email: unknown }).expect(202);
      expect(other.body).toEqual(known.body);
      const headerNames = (response: typeof known) =>
        Object.keys(response.headers)
          .filter((name) => !['date', 'x-request-id'].includes(name))
          .sort();
      expect(headerNames(other)).toEqual(headerNames(known));
      expect(other.headers['content-length']).toBe(known.headers['content-length']);

      await smtp.waitFor(user.email, 1, SUBJECTS.reset);
      await outboxSettled();
      expect(smtp.to(unknown)).toEqual([]);
      const rows = await t.app.get(OutboxRepository).findByRecipient(unknown);
      expect(rows.map((row) => [row.status, row.outcome])).toEqual([['dropped', 'no_account']]);
    });

    it('resets from the mailed link: page, then POST; sessions end, the lock lifts, a notice follows', async () => {
      const user = await signUp(t.http, uniqueEmail('reset'));
      const session = await signIn(t.http, user.email);
      for (let i = 0; i < 3; i++) {
        await t.http.post('/signin').send({ email: user.email, password: 'wrong-password-1' });
      }
      await t.http
        .post('/signin')
        .send({ email: user.email, password: DEFAULT_PASSWORD })
        .expect(429);

      await t.http.post('/password/forgot').send({ email: user.email }).expect(202);
      const [mail] = await smtp.waitFor(user.email, 1, SUBJECTS.reset);
      expect(mail.text.split('\n')).toContain(mail.link);
      const { path, token } = linkOf(mail.link);
      expect(path).toBe('/password/reset');
      await t.http.get(`${path}?token=${token}`).expect(200);
      await t.http.head(`${path}?token=${token}`).expect(200);

      const weak = await t.http.post(path).send({ token, newPassword: 'password1' }).expect(400);
      expect(weak.body.code).toBe('weak_password');
      const done = await t.http.post(path).send({ token, newPassword: NEW_PASSWORD }).expect(200);
      expect(JSON.stringify(done.body)).not.toContain(token);

      const reused = await t.http.post(path).send({ token, newPassword: NEW_PASSWORD }).expect(400);
      expect(reused.body.code).toBe('link_invalid');
      await t.http.get('/protected').set(bearer(session.access_token)).expect(401);
      await t.http.post('/refresh').send({ refresh_token: session.refresh_token }).expect(401);
      const old = await t.http
        .post('/signin')
        .send({ email: user.email, password: DEFAULT_PASSWORD });
      expect(old.status).toBe(401);
      await signIn(t.http, user.email, NEW_PASSWORD);
      await smtp.waitFor(user.email, 1, SUBJECTS.passwordChanged);
    });

    it('binds each link to its purpose', async () => {
      const user = await signUp(t.http, uniqueEmail('purpose'));
      const [verification] = await smtp.waitFor(user.email, 1, SUBJECTS.verify);
      await t.http.post('/password/forgot').send({ email: user.email }).expect(202);
      const [reset] = await smtp.waitFor(user.email, 1, SUBJECTS.reset);

      const asReset = await t.http
        .post('/password/reset')
        .send({ token: tokenOf(verification.link), newPassword: NEW_PASSWORD });
      expect(asReset.body.code).toBe('link_invalid');
      const asVerify = await t.http.post('/email/verify').send({ token: tokenOf(reset.link) });
      expect(asVerify.body.code).toBe('link_invalid');
      const asChange = await t.http
        .post('/email/change/confirm')
        .send({ token: tokenOf(reset.link) });
      expect(asChange.body.code).toBe('link_invalid');
      // Neither attempt spent anything.
      await t.http
        .post('/password/reset')
        .send({ token: tokenOf(reset.link), newPassword: NEW_PASSWORD })
        .expect(200);
    });

    it('sends one mail a minute to one address, and a newer link kills the older', async () => {
      const user = await signUp(t.http, uniqueEmail('throttle'));
      await t.http.post('/password/forgot').send({ email: user.email }).expect(202);
      const [first] = await smtp.waitFor(user.email, 1, SUBJECTS.reset);
      await t.http.post('/password/forgot').send({ email: user.email }).expect(202);
      await outboxSettled();
      expect(smtp.to(user.email).filter((mail) => mail.subject === SUBJECTS.reset)).toHaveLength(1);
      const rows = await t.app.get(OutboxRepository).findByRecipient(user.email);
      expect(rows.filter((row) => row.outcome === 'throttled')).toHaveLength(1);

      afterThrottle();
      await t.http.post('/password/forgot').send({ email: user.email }).expect(202);
      const [, second] = await smtp.waitFor(user.email, 2, SUBJECTS.reset);
      const stale = await t.http
        .post('/password/reset')
        .send({ token: tokenOf(first.link), newPassword: NEW_PASSWORD });
      expect(stale.body.code).toBe('link_invalid');
      await t.http
        .post('/password/reset')
        .send({ token: tokenOf(second.link), newPassword: NEW_PASSWORD })
        .expect(200);
    });

    it('refuses an expired link', async () => {
      await t.close();
      await start({ PASSWORD_RESET_TTL: '30s' });
      const user = await signUp(t.http, uniqueEmail('reset-expiry'));
      await t.http.post('/password/forgot').send({ email: user.email }).expect(202);
      const [mail] = await smtp.waitFor(user.email, 1, SUBJECTS.reset);
      clock.advance(31);
      const response = await t.http
        .post('/password/reset')
        .send({ token: tokenOf(mail.link), newPassword: NEW_PASSWORD });
      expect(response.body.code).toBe('link_invalid');
    });

    it('gives exactly one 200 to concurrent resets with one link', async () => {
      for (let run = 0; run < 4; run++) {
        const user = await signUp(t.http, uniqueEmail(`reset-race${run}`));
        afterThrottle();
        await t.http.post('/password/forgot').send({ email: user.email }).expect(202);
        const [mail] = await smtp.waitFor(user.email, 1, SUBJECTS.reset);
        const spend = async (password: string) => {
          await new Promise((done) => setTimeout(done, Math.random() * 20));
          return (
            await t.http
              .post('/password/reset')
              .send({ token: tokenOf(mail.link), newPassword: password })
          ).status;
        };
        const statuses = await Promise.all([
          spend(`${NEW_PASSWORD}-1`),
          spend(`${NEW_PASSWORD}-2`),
        ]);
        expect(statuses.sort()).toEqual([200, 400]);
      }
    });
  });

  describe('address change', () => {
    beforeEach(() => start());

    it('mails a link to the new address and a notice to the old; confirming switches and ends the other sessions', async () => {
      const user = await signUp(t.http, uniqueEmail('change-old'));
      const asking = await signIn(t.http, user.email);
      const other = await signIn(t.http, user.email);
      const newEmail = uniqueEmail('change-new');

      const wrong = await t.http
        .post('/email/change')
        .set(bearer(asking.access_token))
        .send({ newEmail, password: 'not-the-password' })
        .expect(403);
      expect(wrong.body.code).toBe('invalid_password');
      const same = await t.http
        .post('/email/change')
        .set(bearer(asking.access_token))
        .send({ newEmail: user.email.toUpperCase(), password: DEFAULT_PASSWORD })
        .expect(400);
      expect(same.body.code).toBe('email_unchanged');
      const taken = await signUp(t.http, uniqueEmail('taken'));
      const conflict = await t.http
        .post('/email/change')
        .set(bearer(asking.access_token))
        .send({ newEmail: taken.email, password: DEFAULT_PASSWORD })
        .expect(409);
      expect(conflict.body.code).toBe('email_taken');

      await t.http
        .post('/email/change')
        .set(bearer(asking.access_token))
        .send({ newEmail, password: DEFAULT_PASSWORD })
        .expect(202);
      const [link] = await smtp.waitFor(newEmail, 1, SUBJECTS.change);
      const [notice] = await smtp.waitFor(user.email, 1, SUBJECTS.changeNotice);
      expect(notice.text).not.toContain(newEmail);
      expect(notice.link).toBeUndefined();
      const { path, token } = linkOf(link.link);
      expect(path).toBe('/email/change/confirm');
      await t.http.get(`${path}?token=${token}`).expect(200);
      // Not changed by the request, nor by the page.
      expect((await t.http.get('/me').set(bearer(asking.access_token))).body.email).toBe(
        user.email,
      );

      const confirmed = await t.http.post(path).send({ token }).expect(200);
      expect(confirmed.body).toEqual({ email: newEmail });
      const again = await t.http.post(path).send({ token }).expect(400);
      expect(again.body.code).toBe('link_invalid');

      const me = await t.http.get('/me').set(bearer(asking.access_token)).expect(200);
      expect(me.body).toMatchObject({ email: newEmail, emailVerified: true });
      await t.http.get('/protected').set(bearer(other.access_token)).expect(401);
      await t.http.post('/refresh').send({ refresh_token: other.refresh_token }).expect(401);
      await signIn(t.http, newEmail);
      await t.http
        .post('/signin')
        .send({ email: user.email, password: DEFAULT_PASSWORD })
        .expect(401);
    });

    it('answers 409 at confirmation when the address was taken meanwhile', async () => {
      const user = await signUp(t.http, uniqueEmail('late'));
      const tokens = await signIn(t.http, user.email);
      const newEmail = uniqueEmail('contested');
      await t.http
        .post('/email/change')
        .set(bearer(tokens.access_token))
        .send({ newEmail, password: DEFAULT_PASSWORD })
        .expect(202);
      const [link] = await smtp.waitFor(newEmail, 1, SUBJECTS.change);
      await signUp(t.http, newEmail);
      const response = await t.http
        .post('/email/change/confirm')
        .send({ token: tokenOf(link.link) })
        .expect(409);
      expect(response.body.code).toBe('email_taken');
      expect((await t.http.get('/me').set(bearer(tokens.access_token))).body.email).toBe(
        user.email,
      );
    });
  });

  describe('links that later credential changes end', () => {
    beforeEach(() => start());

    async function askForChange(accessToken: string, newEmail: string): Promise<string> {
      await t.http
        .post('/email/change')
        .set(bearer(accessToken))
        .send({ newEmail, password: DEFAULT_PASSWORD })
        .expect(202);
      const [mail] = await smtp.waitFor(newEmail, 1, SUBJECTS.change);
      return tokenOf(mail.link);
    }

    it('kills a pending address change when the password is reset', async () => {
      const user = await signUp(t.http, uniqueEmail('hijack'));
      const attacker = await signIn(t.http, user.email);
      const change = await askForChange(attacker.access_token, uniqueEmail('attacker'));
      await t.http.post('/password/forgot').send({ email: user.email }).expect(202);
      const [reset] = await smtp.waitFor(user.email, 1, SUBJECTS.reset);
      await t.http
        .post('/password/reset')
        .send({ token: tokenOf(reset.link), newPassword: NEW_PASSWORD })
        .expect(200);
      const refused = await t.http.post('/email/change/confirm').send({ token: change });
      expect(refused.status).toBe(400);
      expect(refused.body.code).toBe('link_invalid');
      // The reset link reached the address: it counts as verified now.
      const tokens = await signIn(t.http, user.email, NEW_PASSWORD);
      expect((await t.http.get('/me').set(bearer(tokens.access_token))).body).toMatchObject({
        email: user.email,
        emailVerified: true,
      });
    });

    it('kills a pending address change when the session that asked ends', async () => {
      const user = await signUp(t.http, uniqueEmail('logout'));
      const asking = await signIn(t.http, user.email);
      const change = await askForChange(asking.access_token, uniqueEmail('later'));
      await t.http.post('/revoke').set(bearer(asking.access_token)).expect(200);
      const refused = await t.http.post('/email/change/confirm').send({ token: change });
      expect(refused.body.code).toBe('link_invalid');
    });

    it('kills a pending reset link when the password is changed', async () => {
      const user = await signUp(t.http, uniqueEmail('changed'));
      const tokens = await signIn(t.http, user.email);
      await t.http.post('/password/forgot').send({ email: user.email }).expect(202);
      const [reset] = await smtp.waitFor(user.email, 1, SUBJECTS.reset);
      await t.http
        .post('/password')
        .set(bearer(tokens.access_token))
        .send({ currentPassword: DEFAULT_PASSWORD, newPassword: NEW_PASSWORD })
        .expect(200);
      const refused = await t.http
        .post('/password/reset')
        .send({ token: tokenOf(reset.link), newPassword: `${NEW_PASSWORD}-2` });
      expect(refused.body.code).toBe('link_invalid');
    });
  });

  describe('EMAIL_VERIFICATION=required', () => {
    beforeEach(() => start({ EMAIL_VERIFICATION: 'required' }));

    it('refuses sign-in with the right password until verified, and 401 stays 401', async () => {
      const user = await signUp(t.http, uniqueEmail('required'));
      const [mail] = await smtp.waitFor(user.email, 1, SUBJECTS.verify);
      const wrong = await t.http
        .post('/signin')
        .send({ email: user.email, password: 'wrong-one-1' });
      expect(wrong.status).toBe(401);
      expect(wrong.body.code).toBe('invalid_credentials');
      const refused = await t.http
        .post('/signin')
        .send({ email: user.email, password: DEFAULT_PASSWORD })
        .expect(403);
      expect(refused.body.code).toBe('email_not_verified');
      expect(refused.body.access_token).toBeUndefined();
      await t.http
        .post('/email/verify')
        .send({ token: tokenOf(mail.link) })
        .expect(200);
      const tokens = await signIn(t.http, user.email);
      expect((decode(tokens.access_token) as { email_verified: boolean }).email_verified).toBe(
        true,
      );
    });
  });

  describe('EMAIL_VERIFICATION=off and EMAIL_FLOWS=off', () => {
    it('sends no verification mail when verification is off', async () => {
      await start({ EMAIL_VERIFICATION: 'off' });
      const user = await signUp(t.http, uniqueEmail('off'));
      await outboxSettled();
      expect(await t.app.get(OutboxRepository).findByRecipient(user.email)).toEqual([]);
      await signIn(t.http, user.email);
    });

    it('answers 404 on every flow when the flows are off', async () => {
      await start({ EMAIL_FLOWS: 'off' });
      const user = await signUp(t.http, uniqueEmail('flows-off'));
      const response = await t.http
        .post('/password/forgot')
        .send({ email: user.email })
        .expect(404);
      expect(response.body.code).toBe('not_found');
      await t.http
        .post('/email/verify')
        .send({ token: 'x'.repeat(43) })
        .expect(404);
      expect(await t.app.get(OutboxRepository).findByRecipient(user.email)).toEqual([]);
    });
  });

  describe('per-client limits', () => {
    beforeEach(() => start({ RATE_LIMIT_EMAIL: '2', RATE_LIMIT_LINK: '2' }));

    it('limits the routes that write a mail, and those that spend a link, per client', async () => {
      const user = await signUp(t.http, uniqueEmail('limits'));
      const tokens = await signIn(t.http, user.email);
      for (let i = 0; i < 2; i++) {
        await t.http
          .post('/password/forgot')
          .send({ email: uniqueEmail('any') })
          .expect(202);
        await t.http.post('/email/verify/resend').set(bearer(tokens.access_token)).expect(202);
        await t.http
          .post('/email/verify')
          .send({ token: 'x'.repeat(43) })
          .expect(400);
      }
      const limited = await t.http.post('/password/forgot').send({ email: user.email }).expect(429);
      expect(limited.body.code).toBe('rate_limited');
      expect(limited.headers['retry-after']).toMatch(/^\d+$/);
      await t.http.post('/email/verify/resend').set(bearer(tokens.access_token)).expect(429);
      await t.http
        .post('/email/verify')
        .send({ token: 'x'.repeat(43) })
        .expect(429);
      await t.http
        .post('/email/change')
        .send({ newEmail: uniqueEmail('x'), password: 'p' })
        .expect(401);
    });
  });

  describe('hostile bodies', () => {
    beforeEach(() => start());

    it('never answers 5xx on the new routes', async () => {
      const user = await signUp(t.http, uniqueEmail('fuzz'));
      const tokens = await signIn(t.http, user.email);
      const routes = [
        ['/password/forgot', false],
        ['/password/reset', false],
        ['/email/verify', false],
        ['/email/change/confirm', false],
        ['/email/change', true],
      ] as const;
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...routes),
          fc.oneof(
            fc.jsonValue(),
            fc.record(
              {
                email: fc.oneof(fc.string(), fc.emailAddress(), fc.jsonValue()),
                token: fc.oneof(fc.string(), fc.base64String(), fc.jsonValue()),
                newPassword: fc.oneof(fc.string(), fc.jsonValue()),
                newEmail: fc.oneof(fc.emailAddress(), fc.string()),
                password: fc.string(),
              },
              { requiredKeys: [] },
            ),
          ),
          async ([route, authenticated], body) => {
            const request = t.http.post(route);
            if (authenticated) {
              request.set(bearer(tokens.access_token));
            }
            const response = await request
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
});

describe('mail configuration', () => {
  it('refuses to start in production without SMTP_URL while the flows are on', async () => {
    await expect(
      createTestApp({ NODE_ENV: 'production', DATABASE_URL: '', REDIS_URL: '' }),
    ).rejects.toThrow(/SMTP_URL is required when NODE_ENV=production/);
  });

  it('refuses to start in production without PUBLIC_URL while the flows are on', async () => {
    await expect(
      createTestApp({
        NODE_ENV: 'production',
        SMTP_URL: 'smtp://127.0.0.1:25',
        DATABASE_URL: '',
        REDIS_URL: '',
      }),
    ).rejects.toThrow(/PUBLIC_URL is required when NODE_ENV=production/);
  });

  it('names the variable of a bad SMTP_URL without echoing it', async () => {
    await expect(
      createTestApp({ SMTP_URL: 'http://user:secret@host', DATABASE_URL: '', REDIS_URL: '' }),
    ).rejects.toThrow(/^(?!.*secret).*SMTP_URL must be an smtp/s);
  });
});
