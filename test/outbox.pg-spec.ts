import { randomUUID } from 'node:crypto';
import { OutboxRepository } from '../src/mail/outbox.repository';
import { TestSmtpServer } from './helpers/smtp';
import { createTestApp, signUp, TestApp, uniqueEmail } from './helpers/test-app';

/**
 * Two instances on one PostgreSQL database share one outbox: each mail is claimed by one sender
 * (FOR UPDATE SKIP LOCKED) and delivered exactly once, whichever instance took the request.
 */
describe('one outbox, two instances', () => {
  let smtp: TestSmtpServer;
  let apps: TestApp[];

  beforeAll(async () => {
    smtp = await TestSmtpServer.start();
    const shared = { DB_PATH: `shared-outbox-${randomUUID()}`, SMTP_URL: smtp.url };
    // Both poll often, so that both senders are at the outbox at the same time.
    apps = [
      await createTestApp({ ...shared, MAIL_POLL_INTERVAL: '1s', EMAIL_VERIFICATION: 'off' }),
      await createTestApp({ ...shared, MAIL_POLL_INTERVAL: '1s', EMAIL_VERIFICATION: 'off' }),
    ];
  });

  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await smtp.stop();
  });

  it('delivers each of 20 reset mails exactly once', async () => {
    const users = await Promise.all(
      Array.from({ length: 20 }, (_, i) => signUp(apps[i % 2].http, uniqueEmail(`shared${i}`))),
    );
    await Promise.all(
      users.map(async (user, i) => {
        await new Promise((done) => setTimeout(done, Math.random() * 50));
        await apps[(i + 1) % 2].http
          .post('/password/forgot')
          .send({ email: user.email })
          .expect(202);
      }),
    );
    for (const user of users) {
      await smtp.waitFor(user.email, 1, 'Reset your password');
    }
    // Long enough for a second delivery by the other instance's poll to show up.
    await new Promise((done) => setTimeout(done, 2500));
    for (const user of users) {
      expect(smtp.to(user.email)).toHaveLength(1);
      const rows = await apps[0].app.get(OutboxRepository).findByRecipient(user.email);
      expect(rows.map((row) => [row.status, row.attempts])).toEqual([['sent', 1]]);
    }
  });
});
