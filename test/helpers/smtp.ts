import { AddressInfo } from 'node:net';
import { ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { waitFor } from './wait-for';

/** A mail as the test SMTP server received it. */
export interface ReceivedMail {
  to: string[];
  from: string;
  subject: string;
  text: string;
  html: string;
  /** The first link in the plain-text part that starts with the given base, if any. */
  link?: string;
}

/**
 * A real SMTP server on a free loopback port: nodemailer delivers to it over TCP, and each mail is
 * parsed with mailparser. `stop()` and `start()` take it down and up on the same port, for the
 * outage tests.
 */
export class TestSmtpServer {
  readonly mails: ReceivedMail[] = [];
  private server?: SMTPServer;
  private port = 0;

  static async start(): Promise<TestSmtpServer> {
    const smtp = new TestSmtpServer();
    await smtp.start();
    return smtp;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData: (stream, _session, callback) => {
        simpleParser(stream)
          .then((parsed) => {
            this.mails.push(toReceived(parsed));
            callback();
          })
          .catch((error: Error) => callback(error));
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    server.on('error', () => undefined);
    this.port = (server.server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  /** The mails to `address`, in the order they arrived. */
  to(address: string): ReceivedMail[] {
    return this.mails.filter((mail) => mail.to.includes(address));
  }

  /** Waits until `address` has received `count` mails (of `subject`, when given). */
  async waitFor(address: string, count = 1, subject?: string): Promise<ReceivedMail[]> {
    const matching = () =>
      this.to(address).filter((mail) => subject === undefined || mail.subject === subject);
    await waitFor(
      `${count} mail(s) to ${address}${subject ? ` (${subject})` : ''}`,
      () => matching().length >= count,
    );
    return matching();
  }
}

function toReceived(parsed: ParsedMail): ReceivedMail {
  const to = (Array.isArray(parsed.to) ? parsed.to : parsed.to ? [parsed.to] : []).flatMap(
    (address) => address.value.map((entry) => entry.address ?? ''),
  );
  const text = parsed.text ?? '';
  return {
    to,
    from: parsed.from?.value[0]?.address ?? '',
    subject: parsed.subject ?? '',
    text,
    html: typeof parsed.html === 'string' ? parsed.html : '',
    // The link sits on a line of its own.
    link: text
      .split('\n')
      .find((line) => /^https?:\/\/\S+$/.test(line.trim()))
      ?.trim(),
  };
}

/** The `token` parameter of a link. */
export const tokenOf = (link: string | undefined): string =>
  new URL(link ?? 'http://invalid/').searchParams.get('token') ?? '';
