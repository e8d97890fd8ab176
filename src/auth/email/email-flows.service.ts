import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { Clock } from '../../common/clock/clock';
import { AppException } from '../../common/errors/app.exception';
import { mailConfig } from '../../config/configuration';
import { Transaction, Transactions } from '../../database/transactions';
import { OutgoingMail } from '../../mail/mail-transport';
import type { OutboxMail } from '../../mail/outbox-mail.entity';
import { MailRequest, OutboxRepository } from '../../mail/outbox.repository';
import { OutboxSender } from '../../mail/outbox.sender';
import { User } from '../../users/user.entity';
import { UsersRepository } from '../../users/users.repository';
import type { ClientInfo } from '../decorators/client-info.decorator';
import { PasswordHasher } from '../passwords/password-hasher.service';
import { FailedSigninLimiter } from '../rate-limit/failed-signin-limiter';
import { SessionsService } from '../sessions/sessions.service';
import { EmailToken, EmailTokenPurpose } from './email-token.entity';
import { AuditLog } from '../../audit/audit-log.service';
import { MfaRepository } from '../mfa/mfa.repository';
import { EmailTokensRepository } from './email-tokens.repository';
import { mailContent, maskEmail } from './mail-content';

/** The kinds of mail of these flows, as written to the outbox. */
export const MAIL_KINDS = {
  verify: 'email_verification',
  reset: 'password_reset',
  change: 'email_change',
  passwordChanged: 'password_changed',
  changeNotice: 'email_change_notice',
} as const;

/** The path a link of each purpose opens (GET: the page; POST: the spend). */
export const LINK_PATHS: Record<EmailTokenPurpose, string> = {
  verify: '/email/verify',
  reset: '/password/reset',
  change: '/email/change/confirm',
};

const LINK_INVALID =
  'This link is unknown, has expired or has already been used; ask for a new one';

const linkInvalid = () => new AppException('link_invalid', LINK_INVALID);
const throwLinkInvalid = (): never => {
  throw linkInvalid();
};

/**
 * Password reset, address verification and address change. Requests only write to the outbox,
 * in their own transaction; each mail is built when the sender sends it (see `register`), which
 * is where its link is made and where an address without an account is found out, so that no
 * request does different work for a known and an unknown address.
 */
@Injectable()
export class EmailFlowsService implements OnModuleInit {
  constructor(
    private readonly outbox: OutboxRepository,
    private readonly sender: OutboxSender,
    private readonly tokens: EmailTokensRepository,
    private readonly users: UsersRepository,
    private readonly sessions: SessionsService,
    private readonly passwords: PasswordHasher,
    private readonly failedSignins: FailedSigninLimiter,
    private readonly transactions: Transactions,
    private readonly clock: Clock,
    private readonly mfaChallenges: MfaRepository,
    private readonly audit: AuditLog,
    @Inject(mailConfig.KEY) private readonly config: ConfigType<typeof mailConfig>,
  ) {}

  onModuleInit(): void {
    const { verify, reset, change, passwordChanged, changeNotice } = MAIL_KINDS;
    this.sender.register(verify, (mail, tx, throttled) =>
      this.buildVerification(mail, tx, throttled),
    );
    this.sender.register(reset, (mail, tx, throttled) => this.buildReset(mail, tx, throttled));
    this.sender.register(change, (mail, tx, throttled) => this.buildChange(mail, tx, throttled));
    this.sender.register(passwordChanged, (mail, tx, throttled) =>
      this.buildNotice(mail, mail.recipient, tx, throttled, () => mailContent.passwordChanged()),
    );
    // Still sent once the change went through: that is when the old address most needs to know.
    this.sender.register(changeNotice, (mail, tx, throttled) =>
      this.buildNotice(mail, dataOf(mail).currentEmail, tx, throttled, (data) =>
        mailContent.changeNotice(data.maskedEmail),
      ),
    );
  }

  get verificationRequired(): boolean {
    return this.config.verification === 'required';
  }

  /** Refuses the flows' routes when EMAIL_FLOWS=off. */
  ensureEnabled(): void {
    if (!this.config.flowsEnabled) {
      throw new AppException('not_found', 'Email flows are switched off on this service');
    }
  }

  /** Writes mails in `tx`; call `sent()` once `tx` has committed. */
  async enqueue(requests: MailRequest[], tx: Transaction): Promise<void> {
    await this.outbox.enqueue(requests, this.clock.now(), tx);
  }

  /** Wakes the sender for what was just committed. */
  sent(): void {
    this.sender.wake();
  }

  /** The verification mail of a new or unverified account, unless EMAIL_VERIFICATION=off. */
  verificationMail(user: Pick<User, 'id' | 'email'>): MailRequest[] {
    return this.config.verification === 'off'
      ? []
      : [{ kind: MAIL_KINDS.verify, recipient: user.email, userId: user.id }];
  }

  /** POST /password/forgot: the same single write whatever the address. */
  async requestPasswordReset(email: string, client: ClientInfo = {}): Promise<void> {
    this.ensureEnabled();
    await this.transactions.run(async (tx) => {
      await this.enqueue([{ kind: MAIL_KINDS.reset, recipient: email }], tx);
      // Without the account: the request does not look the address up.
      await this.audit.record('password.reset_requested', { client }, tx);
    });
    this.sent();
  }

  /** POST /email/verify/resend. */
  async resendVerification(userId: string): Promise<void> {
    this.ensureEnabled();
    const user = await this.users.findById(userId);
    if (!user) {
      throw AppException.rejectedToken('session_revoked', 'The account no longer exists');
    }
    if (user.emailVerifiedAt !== null) {
      return;
    }
    const mails = this.verificationMail(user);
    if (mails.length > 0) {
      await this.transactions.run((tx) => this.enqueue(mails, tx));
      this.sent();
    }
  }

  /**
   * POST /password/reset: spends the link, stores the new password and ends every session, in one
   * transaction; then lifts the account's sign-in locks.
   */
  async resetPassword(raw: string, newPassword: string, client: ClientInfo): Promise<void> {
    this.ensureEnabled();
    // A link that cannot work costs no Argon2 hash.
    if (!(await this.tokens.findUsable(raw, 'reset', this.clock.now()))) {
      throw linkInvalid();
    }
    const passwordHash = await this.passwords.hash(newPassword);
    const { email, userId } = await this.transactions.run(async (tx) => {
      const { user } = (await this.spend(raw, 'reset', tx)) ?? throwLinkInvalid();
      await this.users.updatePasswordHash(user.id, passwordHash, tx);
      if (user.emailVerifiedAt === null) {
        // The link reached this address: that is what verifying it proves.
        await this.users.markEmailVerified(user.id, this.clock.now(), tx);
      }
      await this.sessions.revokeAll(user.id, 'password_reset', tx);
      // An address change asked for before the reset (by whoever knew the old password) dies too.
      await this.tokens.revokeUnspent(user.id, ['reset', 'change'], tx);
      // The factor stays (a reset proves the mailbox, not the device); second steps in progress,
      // begun with the old password, end.
      await this.mfaChallenges.endChallenges(user.id, this.clock.now(), tx);
      await this.audit.record('password.reset', { userId: user.id, client }, tx);
      await this.enqueue(
        [{ kind: MAIL_KINDS.passwordChanged, recipient: user.email, userId: user.id }],
        tx,
      );
      return { email: user.email, userId: user.id };
    });
    this.sent();
    if (await this.mfaChallenges.findFactor(userId).then((factor) => factor?.status === 'active')) {
      // With a second factor the lock also counts wrong codes, and the mailbox is not the phone:
      // a reset must not give whoever holds the mailbox a fresh budget of guesses.
      return;
    }
    // Sign-in counts failures by address, the password checks of /password and /me by user id.
    // The reset is done: a lock that cannot be lifted now (Redis away) ends on its own.
    await this.failedSignins
      .clearLocks(email, client.ip)
      .then(() => this.failedSignins.clearLocks(`user:${userId}`, client.ip))
      .catch(() => undefined);
  }

  /**
   * Spends a link in `tx`, the account's row locked first (the order every unit that touches an
   * account's links keeps: the sender's builders lock the account, then write links). Null when the
   * link cannot be spent, or its account is gone or no longer has the address the link was for.
   */
  private async spend(
    raw: string,
    purpose: EmailTokenPurpose,
    tx: Transaction,
  ): Promise<{ token: EmailToken; user: User } | null> {
    const now = this.clock.now();
    const found = await this.tokens.findUsable(raw, purpose, now);
    const user = found && (await this.accountOf(found.userId, tx));
    const token = user ? await this.tokens.consume(raw, purpose, now, tx) : null;
    if (!user || !token || token.userId !== user.id) {
      return null;
    }
    // A change link names the new address; the others, the address the account must still have.
    return purpose === 'change' || user.email === token.email ? { token, user } : null;
  }

  /** POST /email/verify. */
  async verifyEmail(
    raw: string,
    client: ClientInfo = {},
  ): Promise<{ email: string; emailVerified: true }> {
    this.ensureEnabled();
    return this.transactions.run(async (tx) => {
      // A link sent to an address the account no longer has proves nothing about the new one.
      const { user } = (await this.spend(raw, 'verify', tx)) ?? throwLinkInvalid();
      if (user.emailVerifiedAt === null) {
        await this.users.markEmailVerified(user.id, this.clock.now(), tx);
      }
      await this.audit.record('email.verified', { userId: user.id, client }, tx);
      return { email: user.email, emailVerified: true as const };
    });
  }

  /**
   * POST /email/change/confirm: switches the address (verified: the link proves it) and ends every
   * session but the one that asked for the change.
   */
  async confirmEmailChange(raw: string, client: ClientInfo = {}): Promise<{ email: string }> {
    this.ensureEnabled();
    return this.transactions.run(async (tx) => {
      const { token, user } = (await this.spend(raw, 'change', tx)) ?? throwLinkInvalid();
      // Only while the session that asked is still open: ending it (a logout, a reset, a
      // password change) takes the request back.
      if (token.sessionId === null || !(await this.sessions.isActive(token.sessionId))) {
        throw linkInvalid();
      }
      if (!(await this.users.changeEmail(user.id, token.email, this.clock.now(), tx))) {
        throw new AppException('email_taken', 'An account with this email already exists');
      }
      await this.sessions.revokeAll(user.id, 'email_changed', tx, token.sessionId ?? undefined);
      await this.audit.record('email.changed', { userId: user.id, client }, tx);
      return { email: token.email };
    });
  }

  /** Kills the account's unspent reset links, in `tx`: the password they would replace is gone. */
  async passwordChanged(userId: string, tx: Transaction): Promise<void> {
    await this.tokens.revokeUnspent(userId, ['reset'], tx);
  }

  /** The two mails of an address change, for AccountService to write with its checks. */
  changeMails(
    user: { id: string; email: string },
    newEmail: string,
    sessionId: string,
  ): MailRequest[] {
    return [
      {
        kind: MAIL_KINDS.change,
        recipient: newEmail,
        userId: user.id,
        data: { sessionId, currentEmail: user.email },
      },
      {
        kind: MAIL_KINDS.changeNotice,
        recipient: user.email,
        userId: user.id,
        data: { maskedEmail: maskEmail(newEmail), currentEmail: user.email },
      },
    ];
  }

  // The builders: each runs in the sender's transaction, locks the account, and drops the mail
  // when the account no longer is what the request saw.

  private async buildVerification(
    mail: OutboxMail,
    tx: Transaction,
    throttled: () => Promise<boolean>,
  ): Promise<OutgoingMail | { drop: string }> {
    if (this.config.verification === 'off') {
      return { drop: 'verification_off' };
    }
    const user = await this.accountOf(mail.userId, tx);
    if (!user || user.email !== mail.recipient) {
      return { drop: 'account_changed' };
    }
    if (user.emailVerifiedAt !== null) {
      return { drop: 'already_verified' };
    }
    return this.withLink(mail, user, 'verify', this.config.verificationTtl, tx, throttled);
  }

  private async buildReset(
    mail: OutboxMail,
    tx: Transaction,
    throttled: () => Promise<boolean>,
  ): Promise<OutgoingMail | { drop: string }> {
    const found = await this.users.findIdByEmail(mail.recipient, tx);
    const user = found && (await this.accountOf(found.id, tx));
    if (!user || user.email !== mail.recipient) {
      return { drop: 'no_account' };
    }
    return this.withLink(mail, user, 'reset', this.config.resetTtl, tx, throttled);
  }

  private async buildChange(
    mail: OutboxMail,
    tx: Transaction,
    throttled: () => Promise<boolean>,
  ): Promise<OutgoingMail | { drop: string }> {
    const data = dataOf(mail);
    const user = await this.accountOf(mail.userId, tx);
    if (
      !user ||
      user.email !== data.currentEmail ||
      !(await this.sessions.isActive(data.sessionId))
    ) {
      return { drop: 'account_changed' };
    }
    return this.withLink(
      mail,
      user,
      'change',
      this.config.changeTtl,
      tx,
      throttled,
      data.sessionId,
    );
  }

  /** A notice without a link, to `recipient` while the account still exists. */
  private async buildNotice(
    mail: OutboxMail,
    expected: string | undefined,
    tx: Transaction,
    throttled: () => Promise<boolean>,
    content: (data: Record<string, string>) => ReturnType<typeof mailContent.passwordChanged>,
  ): Promise<OutgoingMail | { drop: string }> {
    const user = await this.accountOf(mail.userId, tx);
    if (!user || mail.recipient !== expected) {
      return { drop: 'account_changed' };
    }
    if (await throttled()) {
      return { drop: 'throttled' };
    }
    return { kind: mail.kind, to: mail.recipient, ...content(dataOf(mail)) };
  }

  /** Makes the link (once the mail is sure to go) and the mail around it. */
  private async withLink(
    mail: OutboxMail,
    user: User,
    purpose: EmailTokenPurpose,
    ttl: number,
    tx: Transaction,
    throttled: () => Promise<boolean>,
    sessionId?: string,
  ): Promise<OutgoingMail | { drop: string }> {
    if (await throttled()) {
      return { drop: 'throttled' };
    }
    const now = this.clock.now();
    const token = await this.tokens.issue(
      {
        userId: user.id,
        purpose,
        email: mail.recipient,
        sessionId,
        createdAt: now,
        expiresAt: new Date(now.getTime() + ttl * 1000),
      },
      tx,
    );
    const link = `${this.config.publicUrl}${LINK_PATHS[purpose]}?token=${token}`;
    return { kind: mail.kind, to: mail.recipient, link, ...mailContent[purpose](link, ttl) };
  }

  private async accountOf(userId: string | null, tx: Transaction): Promise<User | undefined> {
    const user = userId === null ? null : await this.users.lockAccount(userId, tx);
    return user && user.deletedAt === null ? user : undefined;
  }
}

function dataOf(mail: OutboxMail): Record<string, string> {
  return mail.data ? (JSON.parse(mail.data) as Record<string, string>) : {};
}
