import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { LessThan, Repository } from 'typeorm';
import { isUniqueViolation } from '../common/database/unique-violation';
import { AppException } from '../common/errors/app.exception';
import { User } from './user.entity';

@Injectable()
export class UsersService {
  constructor(@InjectRepository(User) private readonly users: Repository<User>) {}

  /** Stores a new user; the unique index on email decides races and maps to `email_taken`. */
  async create(email: string, passwordHash: string): Promise<User> {
    const user = this.users.create({
      id: randomUUID(),
      email,
      passwordHash,
      createdAt: new Date(),
    });
    try {
      await this.users.insert(user);
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new AppException('email_taken', 'An account with this email already exists');
      }
      throw error;
    }
    return user;
  }

  /** The user with its password hash, for checking a password. */
  findByEmailWithPassword(email: string): Promise<User | null> {
    return this.users
      .createQueryBuilder('user')
      .addSelect('user.passwordHash')
      .where('user.email = :email', { email })
      .getOne();
  }

  findById(id: string): Promise<User | null> {
    return this.users.findOneBy({ id });
  }

  /** The user with its password hash, by id. */
  findByIdWithPassword(id: string): Promise<User | null> {
    return this.users
      .createQueryBuilder('user')
      .addSelect('user.passwordHash')
      .where('user.id = :id', { id })
      .getOne();
  }

  async updatePasswordHash(id: string, passwordHash: string): Promise<void> {
    await this.users.update({ id }, { passwordHash });
  }

  /**
   * Deletes an account: the email (free to register again) and the hash are erased at once; the
   * row itself stays, invisible, until `purgeDeleted` removes it with its sessions.
   */
  async markDeleted(id: string, now = new Date()): Promise<void> {
    await this.users.update(
      { id },
      // Not an email address, so nobody can sign up with it and block the deletion.
      { email: `deleted:${id}`, passwordHash: '!', deletedAt: now },
    );
  }

  async purgeDeleted(before: Date): Promise<number> {
    const result = await this.users.delete({ deletedAt: LessThan(before) });
    return result.affected ?? 0;
  }
}
