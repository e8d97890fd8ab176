import { Injectable } from '@nestjs/common';
import type { Transaction } from '../../database/transactions';
import { UsersService } from '../../users/users.service';
import { PasswordHasher } from './password-hasher.service';

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
    private readonly passwords: PasswordHasher,
  ) {}

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
