import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppException } from '../common/errors/app.exception';
import { Clock } from '../common/clock/clock';
import type { Transaction } from '../database/transactions';
import { isDisabled, User } from './user.entity';
import { UsersRepository } from './users.repository';

/**
 * 403 `account_disabled` while an admin's disabling of the account is in force. Asked only once
 * the password (or code) is known to be right, so nobody else learns that the account is disabled.
 */
export function assertEnabled(user: Pick<User, 'disabledAt' | 'disabledUntil'>, now: Date): void {
  if (isDisabled(user, now)) {
    const until = user.disabledUntil === null ? '' : ` until ${user.disabledUntil.toISOString()}`;
    throw new AppException(
      'account_disabled',
      `This account has been disabled${until}; contact the service's operators`,
    );
  }
}

/** Accounts: the rules around the `users` rows (storage is UsersRepository's). */
@Injectable()
export class UsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly clock: Clock,
  ) {}

  /** Stores a new user; an email already registered, even by a racing request, is `email_taken`. */
  async create(email: string, passwordHash: string, tx?: Transaction): Promise<User> {
    const user = Object.assign(new User(), {
      id: randomUUID(),
      email,
      passwordHash,
      createdAt: this.clock.now(),
      emailVerifiedAt: null,
      roles: '',
      disabledAt: null,
      disabledUntil: null,
      disabledReason: null,
      deletedAt: null,
    });
    if (!(await this.users.insert(user, tx))) {
      throw new AppException('email_taken', 'An account with this email already exists');
    }
    return user;
  }

  findById(id: string): Promise<User | null> {
    return this.users.findById(id);
  }

  /** See `assertEnabled`. */
  assertEnabled(user: Pick<User, 'disabledAt' | 'disabledUntil'>): void {
    assertEnabled(user, this.clock.now());
  }

  /**
   * Locks the account's credentials until `tx` ends (see UsersRepository.lockCredentials) and
   * returns its current hash, or undefined when the account is gone.
   */
  async lockCredentials(userId: string, tx: Transaction): Promise<string | undefined> {
    const current = await this.users.lockCredentials(userId, tx);
    return current && current.deletedAt === null ? current.passwordHash : undefined;
  }

  /** Deletes the account inside `tx`; see UsersRepository.markDeleted. */
  markDeleted(userId: string, tx: Transaction): Promise<void> {
    return this.users.markDeleted(userId, this.clock.now(), tx);
  }
}
