import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { Clock } from '../common/clock/clock';
import { processRole } from '../common/process-role';
import { mailConfig } from '../config/configuration';
import { Transaction, Transactions } from '../database/transactions';
import { MetricsService } from '../metrics/metrics.service';
import { MailTransport, OutgoingMail } from './mail-transport';
import { OutboxMail } from './outbox-mail.entity';
import { OutboxRepository } from './outbox.repository';

/** At most one mail of one kind to one address in this many milliseconds. */
export const PER_ADDRESS_INTERVAL_MS = 60_000;
/** How long a claim on a mail lasts: well beyond nodemailer's timeouts. */
const CLAIM_MS = 120_000;
const BATCH = 10;
const MAX_RETRY_DELAY_MS = 3_600_000;

/**
 * Builds the mail of one kind while it is being sent, inside the sender's transaction: it may
 * lock rows, write the link's token, and call `throttled()` once it knows the mail would go (a
 * throttled mail is dropped before its link exists, so the previous link stays good). Returns the
 * mail, or the reason it is not to be sent (no such account, the account changed).
 */
export type MailBuilder = (
  mail: OutboxMail,
  tx: Transaction,
  throttled: () => Promise<boolean>,
) => Promise<OutgoingMail | { drop: string }>;

/**
 * Empties the outbox: claims due mails, builds and sends each, and retries a failed send with a
 * doubling delay up to MAIL_MAX_ATTEMPTS. Woken after every request that wrote a mail, and every
 * MAIL_POLL_INTERVAL for the mails other instances wrote, retries and what a restart left behind.
 */
@Injectable()
export class OutboxSender implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Mail');
  private readonly builders = new Map<string, MailBuilder>();
  private timer?: NodeJS.Timeout;
  private draining?: Promise<void>;
  private scheduled = false;
  private again = false;
  private stopped = false;

  constructor(
    private readonly outbox: OutboxRepository,
    private readonly transport: MailTransport,
    private readonly transactions: Transactions,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
    @Inject(mailConfig.KEY) private readonly config: ConfigType<typeof mailConfig>,
  ) {}

  /** Registers how mails of `kind` are built; each kind has one builder. */
  register(kind: string, builder: MailBuilder): void {
    this.builders.set(kind, builder);
  }

  onApplicationBootstrap(): void {
    if (!this.config.flowsEnabled || processRole.cli) {
      // Nothing writes mail (or this is a CLI command): what waits is the service's to send.
      this.stopped = true;
      return;
    }
    this.timer = setInterval(() => this.wake(), this.config.pollInterval * 1000);
    this.timer.unref();
    this.wake();
  }

  /** Before the database closes: the mail being sent finishes, and its row says so. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.draining;
    this.transport.close();
  }

  /**
   * Sends what is due, soon: after the current answers are out (a request that wrote a mail is
   * answered before any of the mail's work starts). A call while sending makes the sender look
   * once more after.
   */
  wake(): void {
    if (this.stopped || this.scheduled) {
      return;
    }
    if (this.draining) {
      this.again = true;
      return;
    }
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.start();
    });
  }

  private start(): void {
    if (this.stopped) {
      return;
    }
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  /** Resolves once nothing due is left (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.draining || this.scheduled) {
      await (this.draining ?? new Promise((done) => setImmediate(done)));
    }
  }

  private async drain(): Promise<void> {
    try {
      for (;;) {
        if (this.stopped) {
          return;
        }
        const now = this.clock.nowMs();
        const claimed = await this.outbox.claimDue(new Date(now), new Date(now + CLAIM_MS), BATCH);
        for (const [i, mail] of claimed.entries()) {
          if (this.stopped) {
            // Shutting down: the rest go back at once, for the next process or another instance.
            await Promise.all(claimed.slice(i).map((left) => this.giveBack(left)));
            return;
          }
          await this.deliver(mail);
        }
        if (claimed.length < BATCH) {
          return;
        }
      }
    } catch (error) {
      // The database is away: the next wake or poll tries again.
      this.logger.warn(`Outbox not read: ${(error as Error).name}`);
    }
  }

  private async deliver(mail: OutboxMail): Promise<void> {
    let outgoing: OutgoingMail | undefined;
    try {
      outgoing = await this.build(mail);
      if (outgoing) {
        await this.transport.send(outgoing);
      }
    } catch (error) {
      await this.failed(mail, error as Error);
      return;
    }
    if (
      outgoing &&
      (await this.outbox.finish(mail, 'sent', null, this.clock.now()).catch(() => false))
    ) {
      this.metrics.mail('sent', mail.kind);
    }
  }

  private giveBack(mail: OutboxMail): Promise<void> {
    return this.outbox.retryAt(mail, this.clock.now(), 'shutdown').catch(() => undefined);
  }

  /**
   * The mail as it goes out, or undefined once it has been dropped, or when this sender's claim
   * lapsed meanwhile (then the mail is another sender's).
   */
  private async build(mail: OutboxMail): Promise<OutgoingMail | undefined> {
    const now = this.clock.now();
    const since = new Date(now.getTime() - PER_ADDRESS_INTERVAL_MS);
    // The claim as it is once this transaction commits; until then, the one from the claim.
    const renewed = Object.assign(new OutboxMail(), mail, {
      lockedUntil: new Date(now.getTime() + CLAIM_MS),
    });
    const built = await this.transactions.run(async (tx) => {
      if (!(await this.outbox.renewClaim(mail, renewed.lockedUntil, tx))) {
        return undefined;
      }
      const drop = async (reason: string) => {
        await this.outbox.finish(renewed, 'dropped', reason, now, tx);
        this.metrics.mail('dropped', mail.kind);
        return null;
      };
      // Checked before anything about the account is looked up, and every mail that passes counts
      // (whether it then goes out or finds no account): a mail costs the same whether or not the
      // address has an account. The builder checks again under the account's lock, which decides
      // races between instances.
      const throttled = () => this.outbox.builtSince(mail, since, tx);
      if (await throttled()) {
        return drop('throttled');
      }
      await this.outbox.markBuilt(mail.id, now, tx);
      const builder = this.builders.get(mail.kind);
      const outgoing = builder ? await builder(mail, tx, throttled) : { drop: 'unknown_kind' };
      return 'drop' in outgoing ? drop(outgoing.drop) : outgoing;
    });
    if (built !== undefined) {
      mail.lockedUntil = renewed.lockedUntil;
    }
    return built ?? undefined;
  }

  /** A failed attempt: retried later with a doubled delay, or, after the last one, failed. */
  private async failed(mail: OutboxMail, error: Error): Promise<void> {
    const outcome = errorCode(error);
    try {
      if (mail.attempts >= this.config.maxAttempts) {
        await this.outbox.finish(mail, 'failed', outcome, this.clock.now());
        this.metrics.mail('failed', mail.kind);
        // Without the link: it is in the mail only, and the mail is not logged.
        this.logger.error(
          `Mail ${mail.id} (${mail.kind}) failed for good after ${mail.attempts} attempts: ${outcome}`,
        );
        return;
      }
      const delay = Math.min(
        this.config.retryDelay * 1000 * 2 ** (mail.attempts - 1),
        MAX_RETRY_DELAY_MS,
      );
      await this.outbox.retryAt(mail, new Date(this.clock.nowMs() + delay), outcome);
      this.metrics.mail('retried', mail.kind);
      this.logger.warn(
        `Mail ${mail.id} (${mail.kind}) not sent (${outcome}); attempt ${mail.attempts + 1} in ${Math.round(delay / 1000)} s`,
      );
    } catch {
      // The database is away too: the claim lapses and the mail is taken again.
    }
  }
}

/** A short code for why a send failed: nodemailer's error code, never the server's text. */
function errorCode(error: Error): string {
  const code = (error as { code?: unknown }).code;
  return (typeof code === 'string' && /^[A-Z_]{1,32}$/.test(code) ? code : error.name).slice(0, 64);
}
