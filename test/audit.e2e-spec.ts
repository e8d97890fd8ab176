import { DataSource } from 'typeorm';
import { TOTP, URI } from 'otpauth';
import { AuditLog } from '../src/audit/audit-log.service';
import { ExpiredRowsPurger } from '../src/auth/expired-rows.purger';
import { MailTransport, OutgoingMail } from '../src/mail/mail-transport';
import { OutboxSender } from '../src/mail/outbox.sender';
import { fakeClockOf } from './helpers/fake-clock';
import { sql } from './helpers/database';
import {
  bearer,
  createTestApp,
  DEFAULT_PASSWORD,
  signIn,
  signUp,
  TestApp,
  uniqueEmail,
} from './helpers/test-app';

const NEW_PASSWORD = 'a-brand-new-passphrase';

/** Security events land in `audit_events`, one row each, and no row holds a secret. */
describe('the audit log', () => {
  let t: TestApp;
  const links: OutgoingMail[] = [];

  beforeEach(async () => {
    t = await createTestApp({ RATE_LIMIT_SIGNIN_FAILURES: '3' });
    const transport = t.app.get(MailTransport);
    const send = transport.send.bind(transport);
    transport.send = (mail) => {
      links.push(mail);
      return send(mail);
    };
  });

  afterEach(() => t.close());

  async function mailsSent(): Promise<void> {
    const sender = t.app.get(OutboxSender);
    sender.wake();
    await sender.idle();
  }

  const typesOf = async (userId: string) =>
    (await t.app.get(AuditLog).findByUser(userId)).map((event) => event.type).reverse();

  it('records each event of an account, with client, request id and outcome, and never a secret', async () => {
    const secrets: string[] = [DEFAULT_PASSWORD, NEW_PASSWORD];
    const user = await signUp(t.http, uniqueEmail('audit'));
    const wrong = await t.http
      .post('/signin')
      .set('User-Agent', 'audit-test/1.0')
      .set('X-Request-Id', 'audit-request-1')
      .send({ email: user.email, password: 'wrong-password-1' })
      .expect(401);
    expect(wrong.body.code).toBe('invalid_credentials');
    const tokens = await signIn(t.http, user.email);
    secrets.push(tokens.access_token, tokens.refresh_token);
    const refreshed = await t.http
      .post('/refresh')
      .send({ refresh_token: tokens.refresh_token })
      .expect(200);
    secrets.push(refreshed.body.access_token, refreshed.body.refresh_token);
    // The spent token again, past the grace window, is reuse.
    const clock = fakeClockOf(t);
    clock.advance(60);
    await t.http.post('/refresh').send({ refresh_token: tokens.refresh_token }).expect(401);

    const session = await signIn(t.http, user.email);
    const access = bearer(session.access_token);
    const before = (await t.app.get(AuditLog).findAll()).length;
    await t.http.get('/protected').set(access).expect(200);
    expect((await t.app.get(AuditLog).findAll()).length).toBe(before);

    const enrolment = await t.http
      .post('/mfa/totp/enroll')
      .set(access)
      .send({ password: DEFAULT_PASSWORD })
      .expect(200);
    secrets.push(enrolment.body.secret);
    const totp = URI.parse(enrolment.body.otpauthUri as string) as TOTP;
    const verified = await t.http
      .post('/mfa/totp/verify')
      .set(access)
      .send({ code: totp.generate({ timestamp: clock.nowMs() }) })
      .expect(200);
    secrets.push(...(verified.body.recoveryCodes as string[]));
    const challenge = await t.http
      .post('/signin')
      .send({ email: user.email, password: DEFAULT_PASSWORD })
      .expect(403);
    secrets.push(challenge.body.mfa_token);
    await t.http
      .post('/signin/mfa')
      .send({ mfa_token: challenge.body.mfa_token, recovery_code: verified.body.recoveryCodes[0] })
      .expect(200);

    await t.http.post('/password/forgot').send({ email: user.email }).expect(202);
    await mailsSent();
    const reset = links.filter((mail) => mail.to === user.email && mail.kind === 'password_reset');
    const token = new URL(reset[0].link!).searchParams.get('token')!;
    secrets.push(token);
    await t.http.post('/password/reset').send({ token, newPassword: NEW_PASSWORD }).expect(200);
    const verification = links.find((mail) => mail.kind === 'email_verification')!;
    secrets.push(new URL(verification.link!).searchParams.get('token')!);

    expect(await typesOf(user.id)).toEqual([
      'signup',
      'signin.failure',
      'signin.success',
      'refresh',
      'refresh.reuse_detected',
      'signin.success',
      'mfa.enrolled',
      'mfa.verified',
      'mfa.recovery_code_used',
      'signin.success',
      'password.reset',
    ]);
    const [failure] = (await t.app.get(AuditLog).findByUser(user.id)).filter(
      (event) => event.type === 'signin.failure',
    );
    expect(failure).toMatchObject({
      outcome: 'failure',
      userAgent: 'audit-test/1.0',
      requestId: 'audit-request-1',
      details: JSON.stringify({ reason: 'invalid_credentials' }),
    });
    expect(failure.ip).toBeTruthy();
    const requested = (await t.app.get(AuditLog).findAll()).filter(
      (event) => event.type === 'password.reset_requested',
    );
    // Recorded without the account: the request never looks the address up.
    expect(requested.map((event) => event.userId)).toEqual([null]);

    // Not one column of one row holds a password, a token, a secret or a code.
    const rows = await sql<Record<string, unknown>[]>(
      t.app.get(DataSource),
      'SELECT * FROM audit_events',
    );
    const text = JSON.stringify(rows);
    for (const secret of secrets) {
      expect(text.includes(secret)).toBe(false);
      expect(text.includes(secret.replace('-', ''))).toBe(false);
    }
  });

  it('records a locked account and the account changes, and purges rows past AUDIT_RETENTION', async () => {
    const user = await signUp(t.http, uniqueEmail('lock'));
    for (let i = 0; i < 3; i++) {
      await t.http.post('/signin').send({ email: user.email, password: 'wrong-password-1' });
    }
    await t.http
      .post('/signin')
      .send({ email: user.email, password: DEFAULT_PASSWORD })
      .expect(429);
    const other = await signUp(t.http, uniqueEmail('changes'));
    const tokens = await signIn(t.http, other.email);
    const second = await signIn(t.http, other.email);
    const sid = decodeSid(second.access_token);
    await t.http.delete(`/sessions/${sid}`).set(bearer(tokens.access_token)).expect(204);
    await t.http
      .post('/email/change')
      .set(bearer(tokens.access_token))
      .send({ newEmail: uniqueEmail('moved'), password: DEFAULT_PASSWORD })
      .expect(202);
    const changed = await t.http
      .post('/password')
      .set(bearer(tokens.access_token))
      .send({ currentPassword: DEFAULT_PASSWORD, newPassword: NEW_PASSWORD })
      .expect(200);
    await t.http
      .post('/revoke')
      .set(bearer(changed.body.access_token))
      .send({ scope: 'all' })
      .expect(200);
    const last = await signIn(t.http, other.email, NEW_PASSWORD);
    await t.http
      .delete('/me')
      .set(bearer(last.access_token))
      .send({ password: NEW_PASSWORD })
      .expect(204);

    expect(await typesOf(user.id)).toEqual([
      'signup',
      'signin.failure',
      'signin.failure',
      'signin.failure',
      'signin.locked',
    ]);
    expect(await typesOf(other.id)).toEqual([
      'signup',
      'signin.success',
      'signin.success',
      'session.ended',
      'email.change_requested',
      'password.changed',
      'revoke',
      'signin.success',
      'account.deleted',
    ]);

    const clock = fakeClockOf(t, Date.now() + 91 * 86400 * 1000);
    void clock;
    await t.app.get(ExpiredRowsPurger).purge();
    expect(await t.app.get(AuditLog).findAll()).toEqual([]);
  });
});

function decodeSid(token: string): string {
  return (JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as { sid: string })
    .sid;
}
