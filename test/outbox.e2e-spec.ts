import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { OutboxRepository } from '../src/mail/outbox.repository';
import { startBuiltApp, stopBuiltApp } from './helpers/built-app';
import { TestSmtpServer, tokenOf } from './helpers/smtp';
import { createTestApp, DEFAULT_PASSWORD, signUp, TestApp, uniqueEmail } from './helpers/test-app';
import { waitFor } from './helpers/wait-for';

const RESET = 'Reset your password';

/** Mails accepted into the outbox are delivered whatever happens to the SMTP server or the app. */
describe('the outbox', () => {
  let smtp: TestSmtpServer;
  let dir: string;
  const apps: TestApp[] = [];

  beforeEach(async () => {
    smtp = await TestSmtpServer.start();
    dir = mkdtempSync(join(tmpdir(), 'auth-outbox-'));
  });

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
    await smtp.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(env: Record<string, string> = {}): Promise<TestApp> {
    const app = await createTestApp({
      SMTP_URL: smtp.url,
      EMAIL_VERIFICATION: 'off',
      MAIL_POLL_INTERVAL: '1s',
      MAIL_RETRY_DELAY: '1s',
      DB_PATH: join(dir, 'auth.sqlite'),
      ...env,
    });
    apps.push(app);
    return app;
  }

  async function attemptsOf(t: TestApp, recipient: string): Promise<number> {
    const [row] = await t.app.get(OutboxRepository).findByRecipient(recipient);
    return row?.attempts ?? 0;
  }

  it('delivers a mail after an SMTP outage, once, and counts the retries', async () => {
    const t = await start();
    const user = await signUp(t.http, uniqueEmail('outage'));
    await smtp.stop();
    await t.http.post('/password/forgot').send({ email: user.email }).expect(202);
    await waitFor('two failed attempts', async () => (await attemptsOf(t, user.email)) >= 2);
    const metrics = await t.http.get('/metrics').expect(200);
    expect(metrics.text).toMatch(
      /^mail_messages_total\{kind="password_reset",outcome="retried"\} [1-9]/m,
    );

    await smtp.start();
    const [mail] = await smtp.waitFor(user.email, 1, RESET);
    // The server has the mail; the sender marks it sent once the server's answer is back.
    await waitFor(
      'the mail marked sent',
      async () =>
        (await t.app.get(OutboxRepository).findByRecipient(user.email))[0]?.status === 'sent',
    );
    // The link built at the attempt that went through is the one that works.
    await t.http
      .post('/password/reset')
      .send({ token: tokenOf(mail.link), newPassword: 'a-brand-new-passphrase' })
      .expect(200);
    await new Promise((done) => setTimeout(done, 1500));
    expect(smtp.to(user.email).filter((m) => m.subject === RESET)).toHaveLength(1);
  });

  it('delivers after a restart what the previous process could not send', async () => {
    const first = await start();
    const user = await signUp(first.http, uniqueEmail('restart'));
    await smtp.stop();
    await first.http.post('/password/forgot').send({ email: user.email }).expect(202);
    await waitFor('a failed attempt', async () => (await attemptsOf(first, user.email)) >= 1);
    await first.close();
    apps.splice(apps.indexOf(first), 1);

    await smtp.start();
    await start();
    const [mail] = await smtp.waitFor(user.email, 1, RESET);
    expect(tokenOf(mail.link)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('gives up after MAIL_MAX_ATTEMPTS and says so without the link', async () => {
    const t = await start({ MAIL_MAX_ATTEMPTS: '2' });
    const user = await signUp(t.http, uniqueEmail('gives-up'));
    await smtp.stop();
    await t.http.post('/password/forgot').send({ email: user.email }).expect(202);
    const repository = t.app.get(OutboxRepository);
    await waitFor(
      'the mail to fail for good',
      async () => (await repository.findByRecipient(user.email))[0]?.status === 'failed',
    );
    const [row] = await repository.findByRecipient(user.email);
    expect(row.attempts).toBe(2);
    expect(row.outcome).toMatch(/^E(CONNECTION|SOCKET)$/);
    const metrics = await t.http.get('/metrics').expect(200);
    expect(metrics.text).toMatch(
      /^mail_messages_total\{kind="password_reset",outcome="failed"\} 1$/m,
    );
  });
});

/**
 * The built service with a real SMTP server, logging at debug: no line it writes carries a token
 * of a link, the line of a mail that failed for good included.
 */
describe('tokens in logs', () => {
  it('never writes a link token to the log when mail goes through SMTP', async () => {
    const smtp = await TestSmtpServer.start();
    const dir = mkdtempSync(join(tmpdir(), 'auth-mail-logs-'));
    const app = await startBuiltApp(
      'mail-logs',
      {
        DB_PATH: join(dir, 'auth.sqlite'),
        NODE_ENV: 'production',
        JWT_SECRET: randomBytes(48).toString('base64url'),
        LOG_LEVEL: 'debug',
        DATABASE_URL: '',
        REDIS_URL: '',
        SMTP_URL: smtp.url,
        PUBLIC_URL: 'https://auth.example.test',
        MAIL_POLL_INTERVAL: '1s',
        MAIL_RETRY_DELAY: '1s',
        MAIL_MAX_ATTEMPTS: '1',
      },
      { captureStdout: true },
    );
    try {
      const post = (path: string, body: object) =>
        fetch(`${app.base}${path}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        });
      const email = uniqueEmail('logs');
      expect((await post('/signup', { email, password: DEFAULT_PASSWORD })).status).toBe(201);
      const [verification] = await smtp.waitFor(email, 1, 'Confirm your email address');
      expect((await post('/password/forgot', { email })).status).toBe(202);
      const [reset] = await smtp.waitFor(email, 1, RESET);
      const tokens = [tokenOf(verification.link), tokenOf(reset.link)];
      expect((await fetch(reset.link!.replace(/^https?:\/\/[^/]+/, app.base))).status).toBe(200);
      const wrongPath = await post('/email/verify', { token: tokens[1] });
      expect(wrongPath.status).toBe(400);
      expect(
        (await post('/password/reset', { token: tokens[1], newPassword: 'a-brand-new-passphrase' }))
          .status,
      ).toBe(200);
      expect((await post('/email/verify', { token: tokens[0] })).status).toBe(200);

      // A mail that fails for good is logged, without its link.
      await smtp.stop();
      expect((await post('/password/forgot', { email: uniqueEmail('nobody') })).status).toBe(202);
      const other = uniqueEmail('other');
      expect((await post('/signup', { email: other, password: DEFAULT_PASSWORD })).status).toBe(
        201,
      );
      await waitFor('the failure line', () => app.stdout.includes('failed for good'));

      expect(app.stdout).toContain('"path":"/password/reset"');
      for (const token of tokens) {
        expect(app.stdout).not.toContain(token);
      }
      expect(app.stdout).not.toMatch(/token=/);
    } finally {
      await stopBuiltApp(app);
      await smtp.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
