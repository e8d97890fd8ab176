import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, LessThan, Repository } from 'typeorm';
import { isUniqueViolation } from '../common/database/unique-violation';
import { Transaction, Transactions } from '../database/transactions';
import { User } from './user.entity';

/** What a credential change compares and locks: the hash, and whether the account still exists. */
export interface Credentials {
  passwordHash: string;
  deletedAt: Date | null;
}

/** Every query on `users`. */
@Injectable()
export class UsersRepository {
  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    private readonly transactions: Transactions,
  ) {}

  /** Inserts the user; false when the email is taken (the unique index decides races). */
  insert(user: User, tx?: Transaction): Promise<boolean> {
    return this.transactions.write(tx, async (manager) => {
      try {
        await manager.insert(User, user);
        return true;
      } catch (error) {
        if (isUniqueViolation(error)) {
          return false;
        }
        throw error;
      }
    });
  }

  findById(id: string): Promise<User | null> {
    return this.users.findOneBy({ id });
  }

  /** The user with its password hash, for checking a password. */
  findByEmailWithPassword(email: string): Promise<User | null> {
    return this.withPassword('user.email = :email', { email });
  }

  /** The user with its password hash, by id. */
  findByIdWithPassword(id: string): Promise<User | null> {
    return this.withPassword('user.id = :id', { id });
  }

  private withPassword(where: string, parameters: Record<string, string>): Promise<User | null> {
    return this.users
      .createQueryBuilder('user')
      .addSelect('user.passwordHash')
      .where(where, parameters)
      .getOne();
  }

  /**
   * The account's credentials, locked until `tx` ends: every unit of work that creates a session
   * or changes a credential takes this lock first, so they run one after the other per account,
   * on every instance. On SQLite, where writers already take turns, the read alone suffices.
   */
  async lockCredentials(id: string, tx: Transaction): Promise<Credentials | null> {
    const user = await this.lockAccount(id, tx);
    return user && { passwordHash: user.passwordHash, deletedAt: user.deletedAt };
  }

  /** The whole row, hash included, under the same lock as `lockCredentials`. */
  lockAccount(id: string, tx: Transaction): Promise<User | null> {
    const query = tx
      .createQueryBuilder(User, 'user')
      .addSelect('user.passwordHash')
      .withDeleted()
      .where('user.id = :id', { id });
    if (tx.connection.options.type === 'postgres') {
      // Not FOR UPDATE: inserting a session takes a key-share lock on its user, which must not wait.
      query.setLock('for_no_key_update');
    }
    return query.getOne();
  }

  /**
   * Up to `limit` accounts whose email starts with `prefix`, in email order, after the email
   * `after` (keyset pagination: rows inserted meanwhile never shift a page).
   */
  search(prefix: string, after: string | undefined, limit: number): Promise<User[]> {
    const query = this.users
      .createQueryBuilder('user')
      .where(`user.email LIKE :pattern ESCAPE '\\'`, {
        pattern: `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`,
      })
      .orderBy('user.email', 'ASC')
      .take(limit);
    if (after !== undefined) {
      query.andWhere('user.email > :after', { after });
    }
    return query.getMany();
  }

  /** Sets or (with null) lifts an admin's disabling of the account. */
  async setDisabled(
    id: string,
    disabled: { at: Date; until: Date | null; reason: string } | null,
    tx: Transaction,
  ): Promise<void> {
    await this.transactions.write(tx, (manager) =>
      manager.update(
        User,
        { id },
        {
          disabledAt: disabled?.at ?? null,
          disabledUntil: disabled?.until ?? null,
          disabledReason: disabled?.reason ?? null,
        },
      ),
    );
  }

  async setRoles(id: string, roles: readonly string[], tx: Transaction): Promise<void> {
    await this.transactions.write(tx, (manager) =>
      manager.update(User, { id }, { roles: roles.join(',') }),
    );
  }

  findIdByEmail(email: string, tx?: Transaction): Promise<User | null> {
    return (tx?.getRepository(User) ?? this.users).findOne({
      where: { email },
      select: { id: true },
    });
  }

  async markEmailVerified(id: string, now: Date, tx: Transaction): Promise<void> {
    await this.transactions.write(tx, (manager) =>
      manager.update(User, { id }, { emailVerifiedAt: now }),
    );
  }

  /**
   * Moves the account to a new, verified address; false when another account has it (the unique
   * index decides races). On PostgreSQL the violation ends `tx`: the caller must give up on it.
   */
  async changeEmail(id: string, email: string, now: Date, tx: Transaction): Promise<boolean> {
    try {
      await this.transactions.write(tx, (manager) =>
        manager.update(User, { id }, { email, emailVerifiedAt: now }),
      );
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) {
        return false;
      }
      throw error;
    }
  }

  async updatePasswordHash(id: string, passwordHash: string, tx?: Transaction): Promise<void> {
    await this.transactions.write(tx, (manager) => manager.update(User, { id }, { passwordHash }));
  }

  /**
   * Replaces the hash only while it is still `expected`: a re-hash computed from a password that a
   * change has since replaced is dropped.
   */
  async replacePasswordHash(id: string, expected: string, passwordHash: string): Promise<boolean> {
    const result = await this.transactions.write(undefined, (manager) =>
      manager.update(User, { id, passwordHash: expected, deletedAt: IsNull() }, { passwordHash }),
    );
    return result.affected === 1;
  }

  /**
   * Deletes an account: the email (free to register again) and the hash are erased at once; the
   * row itself stays, invisible, until `purgeDeleted` removes it with its sessions.
   */
  async markDeleted(id: string, now: Date, tx: Transaction): Promise<void> {
    await this.transactions.write(tx, (manager) =>
      // Not an email address, so nobody can sign up with it and block the deletion.
      manager.update(User, { id }, { email: `deleted:${id}`, passwordHash: '!', deletedAt: now }),
    );
  }

  async purgeDeleted(before: Date): Promise<number> {
    const result = await this.transactions.write(undefined, (manager) =>
      manager.delete(User, { deletedAt: LessThan(before) }),
    );
    return result.affected ?? 0;
  }
}
