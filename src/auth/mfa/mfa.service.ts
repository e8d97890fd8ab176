import { randomInt } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { toString as qrCode } from 'qrcode';
import { AuditLog } from '../../audit/audit-log.service';
import { Clock } from '../../common/clock/clock';
import { DataEncryption } from '../../common/crypto/data-encryption';
import { AppException } from '../../common/errors/app.exception';
import { authConfig } from '../../config/configuration';
import { Transaction, Transactions } from '../../database/transactions';
import { User } from '../../users/user.entity';
import { assertEnabled } from '../../users/users.service';
import { UsersRepository } from '../../users/users.repository';
import type { AuthenticatedUser } from '../authenticated-user';
import type { ClientInfo } from '../decorators/client-info.decorator';
import { Credentials } from '../passwords/credentials';
import { FailedSigninLimiter } from '../rate-limit/failed-signin-limiter';
import { SessionsService, SessionWithToken } from '../sessions/sessions.service';
import { MfaChallenge, MfaFactor } from './mfa.entities';
import { MfaRepository } from './mfa.repository';
import { newTotpSecret, otpauthUri, stepOf } from './totp';

/** How long an enrolment may wait for its first code. */
const PENDING_TTL_MS = 10 * 60_000;
/** How long the second step of a sign-in may take. */
export const CHALLENGE_TTL_MS = 5 * 60_000;
export const RECOVERY_CODE_COUNT = 10;
/** Crockford's base32: 10 characters are 50 bits, and none is mistaken for another. */
const CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const CODE_LENGTH = 10;

export type MfaState = 'off' | 'pending' | 'active';

/** What a recovery code is compared as: upper case, without separators, look-alikes mapped. */
export function normaliseRecoveryCode(code: string): string {
  return code.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
}

function newRecoveryCode(): string {
  const chars = Array.from({ length: CODE_LENGTH }, () => CODE_ALPHABET[randomInt(32)]);
  return `${chars.slice(0, 5).join('')}-${chars.slice(5).join('')}`;
}

const totpContext = (userId: string) => `totp:${userId}`;
const recoveryContext = (userId: string) => `recovery:${userId}`;

/** How a sign-in's second step was answered. */
export type SecondStep = { code: string } | { recoveryCode: string };

/**
 * The TOTP second factor and its recovery codes: enrolment, the second step of sign-in, and the
 * step-up rule for the routes that change credentials.
 */
@Injectable()
export class MfaService {
  private readonly logger = new Logger('Mfa');

  constructor(
    private readonly factors: MfaRepository,
    private readonly users: UsersRepository,
    private readonly credentials: Credentials,
    private readonly sessions: SessionsService,
    private readonly encryption: DataEncryption,
    private readonly failedSignins: FailedSigninLimiter,
    private readonly transactions: Transactions,
    private readonly clock: Clock,
    private readonly audit: AuditLog,
    @Inject(authConfig.KEY) private readonly config: ConfigType<typeof authConfig>,
  ) {}

  async status(userId: string): Promise<{ totp: MfaState; recoveryCodesLeft: number }> {
    const factor = await this.factors.findFactor(userId);
    const totp = this.stateOf(factor);
    return {
      totp,
      recoveryCodesLeft:
        totp === 'active' ? await this.factors.countUnusedRecoveryCodes(userId) : 0,
    };
  }

  async hasActiveFactor(userId: string, tx?: Transaction): Promise<boolean> {
    return this.stateOf(await this.factors.findFactor(userId, tx)) === 'active';
  }

  /**
   * The rule of the routes that change credentials: with an active factor, only a session that
   * used it (`aal2`) may; 403 `mfa_step_up_required` otherwise. Checked before the work, and again
   * inside the change's transaction with the account locked: a factor activated meanwhile counts.
   */
  async requireStepUp(caller: AuthenticatedUser, tx?: Transaction): Promise<void> {
    if (caller.aal !== 'aal2' && (await this.hasActiveFactor(caller.userId, tx))) {
      throw new AppException(
        'mfa_step_up_required',
        'This needs a session signed in with the second factor: sign in again with a code',
      );
    }
  }

  /** POST /mfa/totp/enroll: a new pending factor, replacing any pending one. */
  async enroll(
    caller: AuthenticatedUser,
    password: string,
    client: ClientInfo = {},
  ): Promise<{ secret: string; otpauthUri: string; qrSvg: string }> {
    const ip = client.ip;
    if (await this.hasActiveFactor(caller.userId)) {
      throw new AppException('mfa_already_enabled', 'A second factor is already enabled');
    }
    const verifiedHash = await this.credentials.checkCurrent(caller.userId, password, ip);
    const secret = newTotpSecret();
    const now = this.clock.now();
    await this.transactions.run(async (tx) => {
      await this.credentials.lockUnchanged(caller.userId, verifiedHash, password, tx);
      if (await this.hasActiveFactor(caller.userId, tx)) {
        throw new AppException('mfa_already_enabled', 'A second factor is already enabled');
      }
      await this.factors.saveFactor(
        Object.assign(new MfaFactor(), {
          userId: caller.userId,
          status: 'pending',
          sealedSecret: this.encryption.seal(secret, totpContext(caller.userId)),
          createdAt: now,
          expiresAt: new Date(now.getTime() + PENDING_TTL_MS),
          activatedAt: null,
          lastStep: null,
        }),
        tx,
      );
      await this.audit.record('mfa.enrolled', { userId: caller.userId, client }, tx);
    });
    const uri = otpauthUri(secret, this.config.mfaIssuer, caller.email);
    return { secret, otpauthUri: uri, qrSvg: await qrCode(uri, { type: 'svg', margin: 2 }) };
  }

  /**
   * POST /mfa/totp/verify: the first code activates the factor and yields the recovery codes;
   * every other session ends (they were opened without it). Wrong codes count towards the lock
   * of the account's password checks.
   */
  async verify(
    caller: AuthenticatedUser,
    code: string,
    client: ClientInfo = {},
  ): Promise<{ recoveryCodes: string[] }> {
    const ip = client.ip;
    const pending = await this.pendingFactor(caller.userId);
    const secret = this.secretOf(pending);
    const step = await this.failedSignins.guard(`user:${caller.userId}`, ip, () =>
      Promise.resolve(stepOf(secret, code, this.clock.nowMs())),
    );
    if (step === undefined) {
      await this.audit.record('mfa.failed', {
        userId: caller.userId,
        client,
        outcome: 'failure',
        details: { during: 'enrolment' },
      });
      throw invalidCode();
    }
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    await this.transactions.run(async (tx) => {
      await this.users.lockAccount(caller.userId, tx);
      const now = this.clock.now();
      if (!(await this.factors.activate(pending, step, now, tx))) {
        throw notPending();
      }
      await this.storeRecoveryCodes(caller.userId, codes, tx);
      await this.sessions.revokeAll(caller.userId, 'mfa_enabled', tx, caller.sessionId);
      await this.audit.record('mfa.verified', { userId: caller.userId, client }, tx);
    });
    return { recoveryCodes: codes };
  }

  /** POST /mfa/recovery-codes: a new set; the old one is dead. */
  async regenerateRecoveryCodes(
    caller: AuthenticatedUser,
    client: ClientInfo = {},
  ): Promise<{ recoveryCodes: string[] }> {
    await this.requireStepUp(caller);
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    await this.transactions.run(async (tx) => {
      await this.users.lockAccount(caller.userId, tx);
      if (!(await this.hasActiveFactor(caller.userId, tx))) {
        throw new AppException('mfa_not_enabled', 'No second factor is enabled');
      }
      await this.storeRecoveryCodes(caller.userId, codes, tx);
      await this.audit.record('mfa.recovery_codes_replaced', { userId: caller.userId, client }, tx);
    });
    return { recoveryCodes: codes };
  }

  /** DELETE /mfa/totp: the factor (active or pending) and its recovery codes go. */
  async disable(
    caller: AuthenticatedUser,
    password: string,
    client: ClientInfo = {},
  ): Promise<void> {
    const ip = client.ip;
    await this.requireStepUp(caller);
    const verifiedHash = await this.credentials.checkCurrent(caller.userId, password, ip);
    await this.transactions.run(async (tx) => {
      await this.credentials.lockUnchanged(caller.userId, verifiedHash, password, tx);
      await this.requireStepUp(caller, tx);
      await this.factors.deleteFactor(caller.userId, tx);
      await this.audit.record('mfa.disabled', { userId: caller.userId, client }, tx);
    });
  }

  /** At sign-in, inside its transaction: the `mfa_token` to answer with, when a factor is on. */
  async challengeFor(userId: string, tx: Transaction): Promise<string | undefined> {
    if (!(await this.hasActiveFactor(userId, tx))) {
      return undefined;
    }
    return this.factors.createChallenge(userId, this.clock.now(), CHALLENGE_TTL_MS, tx);
  }

  /** A credential change ends the second steps in progress, in `tx`. */
  endChallenges(userId: string, tx: Transaction): Promise<void> {
    return this.factors.endChallenges(userId, this.clock.now(), tx);
  }

  /**
   * POST /signin/mfa: checks the code (or spends a recovery code), spends the challenge and opens
   * an `aal2` session, in one transaction. A wrong code counts against the challenge (5 kill it)
   * and against the account's failed-sign-in lock from this client, as a wrong password does.
   */
  async completeSignIn(
    mfaToken: string,
    answer: SecondStep,
    client: ClientInfo,
  ): Promise<{ user: User } & SessionWithToken> {
    const challenge = await this.factors.findOpenChallenge(mfaToken, this.clock.now());
    const user = challenge && (await this.users.findById(challenge.userId));
    if (!challenge || !user) {
      throw tokenInvalid();
    }
    const opened = await this.failedSignins
      .guard(user.email, client.ip, async () => {
        if (!(await this.factors.reserveAttempt(challenge, this.clock.now()))) {
          throw tokenInvalid();
        }
        return this.secondStep(challenge, user, answer, client);
      })
      .catch(async (error: unknown) => {
        if (error instanceof AppException && error.code === 'account_disabled') {
          await this.audit.record('signin.failure', {
            userId: user.id,
            client,
            outcome: 'failure',
            details: { reason: 'account_disabled' },
          });
        }
        throw error;
      });
    if (!opened) {
      await this.audit.record('mfa.failed', {
        userId: user.id,
        client,
        outcome: 'failure',
        details: { during: 'signin', with: 'code' in answer ? 'code' : 'recovery_code' },
      });
      throw invalidCode();
    }
    // The password step stays counted on the account-wide ceiling until this one succeeds.
    await this.failedSignins.settleAccount(user.email);
    return opened;
  }

  /** The checks and writes of a second step, in one transaction; undefined for a wrong code. */
  private secondStep(
    challenge: MfaChallenge,
    user: { id: string },
    answer: SecondStep,
    client: ClientInfo,
  ): Promise<({ user: User } & SessionWithToken) | undefined> {
    return this.transactions.run(async (tx) => {
      const account = await this.users.lockAccount(user.id, tx);
      const factor = await this.factors.findFactor(user.id, tx);
      if (!account || account.deletedAt !== null || this.stateOf(factor) !== 'active') {
        throw tokenInvalid();
      }
      const now = this.clock.now();
      assertEnabled(account, now);
      let amr: string[];
      if ('code' in answer) {
        const step = stepOf(this.secretOf(factor!), answer.code, now.getTime());
        // A code of a step already used (or an earlier one) is a replay: refused as wrong.
        if (step === undefined || !(await this.factors.acceptStep(user.id, step, tx))) {
          return undefined;
        }
        amr = ['pwd', 'otp'];
        if (!this.encryption.isCurrent(factor!.sealedSecret)) {
          // Sealed under a key DATA_ENCRYPTION_KEY has since moved past: re-sealed under the
          // current one, so that the old key can be dropped once every user has signed in.
          const secret = this.secretOf(factor!);
          await this.factors.reseal(
            user.id,
            this.encryption.seal(secret, totpContext(user.id)),
            tx,
          );
        }
      } else {
        const hashes = this.encryption.macs(
          normaliseRecoveryCode(answer.recoveryCode),
          recoveryContext(user.id),
        );
        if (!(await this.factors.spendRecoveryCode(user.id, hashes, now, tx))) {
          return undefined;
        }
        await this.audit.record('mfa.recovery_code_used', { userId: user.id, client }, tx);
        amr = ['pwd', 'mfa'];
      }
      if (!(await this.factors.spendChallenge(challenge, now, tx))) {
        throw tokenInvalid();
      }
      const session = await this.sessions.open(user.id, client, tx, { aal: 'aal2', amr });
      await this.audit.record(
        'signin.success',
        { userId: user.id, client, details: { sessionId: session.session.id, amr: amr.join(',') } },
        tx,
      );
      return { ...session, user: account };
    });
  }

  private async pendingFactor(userId: string): Promise<MfaFactor> {
    const factor = await this.factors.findFactor(userId);
    if (this.stateOf(factor) !== 'pending') {
      throw notPending();
    }
    return factor!;
  }

  private stateOf(factor: MfaFactor | null): MfaState {
    if (!factor) {
      return 'off';
    }
    if (factor.status === 'active') {
      return 'active';
    }
    return factor.expiresAt !== null && factor.expiresAt > this.clock.now() ? 'pending' : 'off';
  }

  private secretOf(factor: MfaFactor): string {
    const secret = this.encryption.open(factor.sealedSecret, totpContext(factor.userId));
    if (secret === undefined) {
      // Sealed with a key no longer configured: DATA_ENCRYPTION_KEY lost the key it was sealed
      // with. Nothing the user can do fixes that; the operator must list the old key again.
      this.logger.error(
        'A second-factor secret cannot be opened with any configured key: list the key it was ' +
          'sealed with in DATA_ENCRYPTION_KEY again (see docs/mfa.md, "Rotating the key")',
      );
      throw new Error('Second-factor secret cannot be opened with the configured keys');
    }
    return secret;
  }

  private async storeRecoveryCodes(
    userId: string,
    codes: string[],
    tx: Transaction,
  ): Promise<void> {
    const hashes = codes.map(
      (code) => this.encryption.macs(normaliseRecoveryCode(code), recoveryContext(userId))[0],
    );
    await this.factors.replaceRecoveryCodes(userId, hashes, this.clock.now(), tx);
  }
}

function invalidCode(): AppException {
  return new AppException('invalid_code', 'The code is not valid; check the time on your device');
}

function notPending(): AppException {
  return new AppException(
    'mfa_not_pending',
    'No second factor is waiting to be verified: enrol first (enrolment lasts 10 minutes)',
  );
}

function tokenInvalid(): AppException {
  return new AppException(
    'mfa_token_invalid',
    'The mfa_token is unknown, expired, already used or worn out by wrong codes: sign in again',
  );
}
