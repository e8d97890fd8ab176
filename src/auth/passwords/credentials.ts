import { Injectable } from '@nestjs/common';
import { AppException } from '../../common/errors/app.exception';
import type { Transaction } from '../../database/transactions';
import { UsersRepository } from '../../users/users.repository';
import { UsersService } from '../../users/users.service';
import { FailedSigninLimiter } from '../rate-limit/failed-signin-limiter';
import { PasswordHasher } from './password-hasher.service';

const INVALID_PASSWORD = 'The password is incorrect';

/**
 * The rule that closes the race between a password check and a credential change: every unit of
 * work that opens a session or changes a credential first locks the account's credentials and
 * makes sure the password it checked is still the account's. A sign-in racing a password change
 * or a deletion therefore either commits before it (and its session is ended with the others) or
 * finds the credentials changed.
 */
@Injectable()
export class Credentials {
  constructor(
    private readonly users: UsersService,
    private readonly userRows: UsersRepository,
    private readonly passwords: PasswordHasher,
    private readonly failedChecks: FailedSigninLimiter,
  ) {}

  /**
   * Checks a signed-in user's current password (403 `invalid_password`): one Argon2
   * verification, with the same per-account-and-address lock as sign-in. Returns the hash it
   * verified, which a change then expects to find unchanged (see `lockStillValid`).
   */
  async checkCurrent(userId: string, password: string, ip?: string): Promise<string> {
    const user = await this.failedChecks.guard(`user:${userId}`, ip, async () => {
      const found = await this.userRows.findByIdWithPassword(userId);
      const valid = await this.passwords.verify(found?.passwordHash, password);
      return found && valid ? found : undefined;
    });
    if (!user) {
      throw new AppException('invalid_password', INVALID_PASSWORD);
    }
    return user.passwordHash;
  }

  /** `lockStillValid`, or 403 `invalid_password` when a concurrent change won the race. */
  async lockUnchanged(
    userId: string,
    verifiedHash: string,
    password: string,
    tx: Transaction,
  ): Promise<void> {
    if (!(await this.lockStillValid(userId, verifiedHash, password, tx))) {
      throw new AppException('invalid_password', INVALID_PASSWORD);
    }
  }

  /**
   * `lockStillValid` for a sign-in, which an admin's disabling of the account also refuses (403
   * `account_disabled`): checked under the lock that a disabling takes too, so a sign-in racing
   * one either opens its session first (and the disabling ends it) or is refused.
   */
  async lockForSignIn(
    userId: string,
    verifiedHash: string,
    password: string,
    tx: Transaction,
  ): Promise<boolean> {
    const account = await this.userRows.lockAccount(userId, tx);
    if (account === null || account.deletedAt !== null) {
      return false;
    }
    const valid =
      account.passwordHash === verifiedHash ||
      (await this.passwords.verify(account.passwordHash, password));
    if (valid) {
      this.users.assertEnabled(account);
    }
    return valid;
  }

  /**
   * Locks the credentials for the rest of `tx`; true while `password`, verified against
   * `verifiedHash` a moment ago, is still the account's password.
   */
  async lockStillValid(
    userId: string,
    verifiedHash: string,
    password: string,
    tx: Transaction,
  ): Promise<boolean> {
    const current = await this.users.lockCredentials(userId, tx);
    if (current === undefined) {
      return false;
    }
    // A different hash may still be of the same password (a re-hash at another sign-in): only a
    // second check, rare by design, tells.
    return current === verifiedHash || this.passwords.verify(current, password);
  }
}
