import { createTransport } from 'nodemailer';
import type { Logger as Pino } from 'pino';

/** A mail ready to go. `link` is the one link it carries, if any, for the log transport only. */
export interface OutgoingMail {
  kind: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  link?: string;
}

/** Where mails go: an SMTP server, or, outside production without SMTP_URL, the log. */
export abstract class MailTransport {
  /** Resolves once the server accepted the mail; rejects when it did not (the sender retries). */
  abstract send(mail: OutgoingMail): Promise<void>;
  abstract close(): void;
}

/** Seconds nodemailer may wait on a server; a mail's claim on the outbox lasts much longer. */
const CONNECTION_TIMEOUT_MS = 10_000;
const SOCKET_TIMEOUT_MS = 30_000;

export class SmtpTransport extends MailTransport {
  private readonly transporter;

  constructor(url: string, from: string) {
    super();
    this.transporter = createTransport(
      {
        url,
        connectionTimeout: CONNECTION_TIMEOUT_MS,
        greetingTimeout: CONNECTION_TIMEOUT_MS,
        socketTimeout: SOCKET_TIMEOUT_MS,
        // nodemailer's own logger stays off: it would print whole messages, links included.
        logger: false,
      },
      { from },
    );
  }

  async send(mail: OutgoingMail): Promise<void> {
    await this.transporter.sendMail({
      to: mail.to,
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
    });
  }

  close(): void {
    this.transporter.close();
  }
}

/**
 * Development without a mail server: each mail becomes one log line with its recipient, subject
 * and link, so that the embedded default works end to end. Never used in production.
 */
export class LogTransport extends MailTransport {
  constructor(private readonly logger: Pino) {
    super();
  }

  send(mail: OutgoingMail): Promise<void> {
    this.logger.info(
      { mail: { kind: mail.kind, to: mail.to, subject: mail.subject, link: mail.link } },
      'Mail written to the log (no SMTP_URL is set)',
    );
    return Promise.resolve();
  }

  close(): void {}
}

/** No way to send: every attempt fails, and the mail waits in the outbox for a configured server. */
export class NoTransport extends MailTransport {
  send(): Promise<void> {
    return Promise.reject(Object.assign(new Error('No SMTP_URL is set'), { code: 'ENOTRANSPORT' }));
  }

  close(): void {}
}
