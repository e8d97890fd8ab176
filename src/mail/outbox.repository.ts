import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, LessThan, MoreThan, Not, Repository } from 'typeorm';
import { Transaction, Transactions } from '../database/transactions';
import { OutboxMail, OutboxStatus } from './outbox-mail.entity';

/** A mail a request asks for: its kind, recipient and the few facts its builder needs. */
export interface MailRequest {
  kind: string;
  recipient: string;
  userId?: string;
  data?: Record<string, string>;
}

/** Every query on `mail_outbox`. */
@Injectable()
export class OutboxRepository {
  constructor(
    @InjectRepository(OutboxMail) private readonly mails: Repository<OutboxMail>,
    private readonly transactions: Transactions,
  ) {}

  /** Writes the mails inside `tx`: they exist once the request's own writes commit, or not at all. */
  async enqueue(requests: MailRequest[], now: Date, tx: Transaction): Promise<void> {
    if (requests.length === 0) {
      return;
    }
    const rows = requests.map((request) =>
      Object.assign(new OutboxMail(), {
        id: randomUUID(),
        kind: request.kind,
        recipient: request.recipient,
        userId: request.userId ?? null,
        data: request.data ? JSON.stringify(request.data) : null,
        status: 'pending' as const,
        attempts: 0,
        nextAttemptAt: now,
        lockedUntil: null,
        preparedAt: null,
        createdAt: now,
        finishedAt: null,
        outcome: null,
      }),
    );
    await this.transactions.write(tx, (manager) => manager.insert(OutboxMail, rows));
  }

  /**
   * Claims up to `limit` due mails until `lockedUntil`, counting an attempt for each. On
   * PostgreSQL rows another instance is claiming are skipped, not waited for: each mail goes to
   * one sender. A claim that outlives its sender (a crash) lapses, and the mail is taken again.
   */
  claimDue(now: Date, lockedUntil: Date, limit: number): Promise<OutboxMail[]> {
    return this.transactions.run(async (tx) => {
      const query = tx
        .createQueryBuilder(OutboxMail, 'mail')
        .where('mail.status = :pending', { pending: 'pending' })
        .andWhere('mail.nextAttemptAt <= :now', { now })
        .andWhere('(mail.lockedUntil IS NULL OR mail.lockedUntil <= :now)', { now })
        .orderBy('mail.nextAttemptAt', 'ASC')
        .limit(limit);
      if (tx.connection.options.type === 'postgres') {
        query.setLock('pessimistic_write').setOnLocked('skip_locked');
      }
      const due = await query.getMany();
      if (due.length === 0) {
        return [];
      }
      await tx
        .createQueryBuilder()
        .update(OutboxMail)
        .set({ lockedUntil, attempts: () => 'attempts + 1' })
        .where({ id: In(due.map((mail) => mail.id)) })
        .execute();
      return due.map((mail) => Object.assign(mail, { lockedUntil, attempts: mail.attempts + 1 }));
    });
  }

  /**
   * Whether another mail of this kind to this address passed the throttle since `since` (sent,
   * being sent, or found to have no account): a few index entries at most, however many requests
   * were throttled.
   */
  async builtSince(mail: OutboxMail, since: Date, tx: Transaction): Promise<boolean> {
    const count = await tx.count(OutboxMail, {
      where: {
        recipient: mail.recipient,
        kind: mail.kind,
        preparedAt: MoreThan(since),
        id: Not(mail.id),
      },
    });
    return count > 0;
  }

  /**
   * Renews this sender's claim while it still holds; false when it lapsed (a slow server) and
   * another sender may have the mail now.
   */
  async renewClaim(mail: OutboxMail, lockedUntil: Date, tx: Transaction): Promise<boolean> {
    const result = await this.transactions.write(tx, (manager) =>
      manager.update(
        OutboxMail,
        { id: mail.id, status: 'pending', lockedUntil: mail.lockedUntil! },
        { lockedUntil },
      ),
    );
    return result.affected === 1;
  }

  /** Records that the mail passed the per-address throttle: what the throttle counts. */
  async markBuilt(id: string, now: Date, tx: Transaction): Promise<void> {
    await this.transactions.write(tx, (manager) =>
      manager.update(OutboxMail, { id }, { preparedAt: now }),
    );
  }

  /** Ends a mail for good, while this sender's claim holds (false when it no longer did). */
  async finish(
    mail: OutboxMail,
    status: Exclude<OutboxStatus, 'pending'>,
    outcome: string | null,
    now: Date,
    tx?: Transaction,
  ): Promise<boolean> {
    const result = await this.transactions.write(tx, (manager) =>
      manager.update(
        OutboxMail,
        { id: mail.id, status: 'pending', lockedUntil: mail.lockedUntil! },
        { status, outcome, finishedAt: now, lockedUntil: null },
      ),
    );
    return result.affected === 1;
  }

  /** Gives the claim back, for another attempt at `at`. */
  async retryAt(mail: OutboxMail, at: Date, outcome: string): Promise<void> {
    await this.transactions.write(undefined, (manager) =>
      manager.update(
        OutboxMail,
        { id: mail.id, status: 'pending', lockedUntil: mail.lockedUntil! },
        { nextAttemptAt: at, lockedUntil: null, outcome },
      ),
    );
  }

  /** Mails done with before `before`; pending ones stay, however old. */
  async purgeFinished(before: Date): Promise<number> {
    const result = await this.transactions.write(undefined, (manager) =>
      manager.delete(OutboxMail, { status: Not('pending'), finishedAt: LessThan(before) }),
    );
    return result.affected ?? 0;
  }

  /** For tests: the mails of an address, oldest first. */
  findByRecipient(recipient: string): Promise<OutboxMail[]> {
    return this.mails.find({ where: { recipient }, order: { createdAt: 'ASC' } });
  }
}
