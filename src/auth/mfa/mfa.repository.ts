import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, IsNull, LessThan, MoreThan, Repository } from 'typeorm';
import { Transaction, Transactions } from '../../database/transactions';
import { MfaChallenge, MfaFactor, RecoveryCode } from './mfa.entities';

/** Attempts one `mfa_token` allows: five wrong codes kill it. */
export const MAX_CHALLENGE_FAILURES = 5;
const CHALLENGE_TOKEN = /^[A-Za-z0-9_-]{43}$/;

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

/** Every query on the second-factor tables. */
@Injectable()
export class MfaRepository {
  constructor(
    @InjectRepository(MfaFactor) private readonly factors: Repository<MfaFactor>,
    @InjectRepository(RecoveryCode) private readonly codes: Repository<RecoveryCode>,
    @InjectRepository(MfaChallenge) private readonly challenges: Repository<MfaChallenge>,
    private readonly transactions: Transactions,
  ) {}

  findFactor(userId: string, tx?: Transaction): Promise<MfaFactor | null> {
    return (tx?.getRepository(MfaFactor) ?? this.factors).findOneBy({ userId });
  }

  /** Replaces the user's factor with `factor` (a pending one, at enrolment). */
  async saveFactor(factor: MfaFactor, tx: Transaction): Promise<void> {
    await this.transactions.write(tx, async (manager) => {
      await manager.delete(MfaFactor, { userId: factor.userId });
      await manager.insert(MfaFactor, factor);
    });
  }

  /**
   * Activates the pending factor whose code was checked, with its first step; false when it is no
   * longer pending, or an enrolment since replaced it with another secret.
   */
  async activate(checked: MfaFactor, step: number, now: Date, tx: Transaction): Promise<boolean> {
    const result = await this.transactions.write(tx, (manager) =>
      manager.update(
        MfaFactor,
        {
          userId: checked.userId,
          sealedSecret: checked.sealedSecret,
          status: 'pending',
          expiresAt: MoreThan(now),
        },
        { status: 'active', activatedAt: now, expiresAt: null, lastStep: step },
      ),
    );
    return result.affected === 1;
  }

  /**
   * Records `step` as the last one accepted, only if it is later than the one before: of two
   * requests with the same code, one moves it and the other is refused (the update is one atomic
   * statement on a row both would change).
   */
  async acceptStep(userId: string, step: number, tx: Transaction): Promise<boolean> {
    const result = await this.transactions.write(tx, (manager) =>
      manager
        .createQueryBuilder()
        .update(MfaFactor)
        .set({ lastStep: step })
        .where('user_id = :userId AND status = :active', { userId, active: 'active' })
        .andWhere('(last_step IS NULL OR last_step < :step)', { step })
        .execute(),
    );
    return result.affected === 1;
  }

  async reseal(userId: string, sealedSecret: string, tx: Transaction): Promise<void> {
    await this.transactions.write(tx, (manager) =>
      manager.update(MfaFactor, { userId }, { sealedSecret }),
    );
  }

  async deleteFactor(userId: string, tx: Transaction): Promise<void> {
    await this.transactions.write(tx, async (manager) => {
      await manager.delete(MfaFactor, { userId });
      await manager.delete(RecoveryCode, { userId });
    });
  }

  /** Replaces the user's recovery codes with these hashes. */
  async replaceRecoveryCodes(
    userId: string,
    hashes: string[],
    now: Date,
    tx: Transaction,
  ): Promise<void> {
    await this.transactions.write(tx, async (manager) => {
      await manager.delete(RecoveryCode, { userId });
      await manager.insert(
        RecoveryCode,
        hashes.map((codeHash) => ({
          id: randomUUID(),
          userId,
          codeHash,
          createdAt: now,
          usedAt: null,
        })),
      );
    });
  }

  /** Spends the unused code whose hash is one of `hashes` (one per key); false when none is. */
  async spendRecoveryCode(
    userId: string,
    hashes: string[],
    now: Date,
    tx: Transaction,
  ): Promise<boolean> {
    const result = await this.transactions.write(tx, (manager) =>
      manager.update(
        RecoveryCode,
        { userId, codeHash: In(hashes), usedAt: IsNull() },
        { usedAt: now },
      ),
    );
    return (result.affected ?? 0) >= 1;
  }

  countUnusedRecoveryCodes(userId: string): Promise<number> {
    return this.codes.countBy({ userId, usedAt: IsNull() });
  }

  /** A new challenge for the user; returns its token (only the hash is stored). */
  async createChallenge(
    userId: string,
    now: Date,
    ttlMs: number,
    tx: Transaction,
  ): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await this.transactions.write(tx, (manager) =>
      manager.insert(MfaChallenge, {
        id: randomUUID(),
        tokenHash: hashOf(token),
        userId,
        failures: 0,
        createdAt: now,
        expiresAt: new Date(now.getTime() + ttlMs),
        usedAt: null,
      }),
    );
    return token;
  }

  /** The challenge if it can still be answered: unspent, unexpired, not worn out by failures. */
  async findOpenChallenge(token: string, now: Date): Promise<MfaChallenge | null> {
    if (!CHALLENGE_TOKEN.test(token)) {
      return null;
    }
    const challenge = await this.challenges.findOneBy({ tokenHash: hashOf(token) });
    return challenge &&
      challenge.usedAt === null &&
      challenge.expiresAt > now &&
      challenge.failures < MAX_CHALLENGE_FAILURES
      ? challenge
      : null;
  }

  /**
   * Counts an attempt at the challenge before its code is checked, atomically: of any number of
   * attempts, concurrent or not, at most MAX_CHALLENGE_FAILURES get through, so at most that many
   * wrong codes are ever tried with one token. False when the challenge is spent, expired or
   * worn out.
   */
  async reserveAttempt(challenge: MfaChallenge, now: Date): Promise<boolean> {
    const result = await this.transactions.write(undefined, (manager) =>
      manager
        .createQueryBuilder()
        .update(MfaChallenge)
        .set({ failures: () => 'failures + 1' })
        .where('id = :id AND used_at IS NULL AND expires_at > :now', { id: challenge.id, now })
        .andWhere('failures < :max', { max: MAX_CHALLENGE_FAILURES })
        .execute(),
    );
    return result.affected === 1;
  }

  /** Spends the challenge in `tx`, if it is still unspent; of two concurrent spends one wins. */
  async spendChallenge(challenge: MfaChallenge, now: Date, tx: Transaction): Promise<boolean> {
    const result = await this.transactions.write(tx, (manager) =>
      manager.update(
        MfaChallenge,
        { id: challenge.id, usedAt: IsNull(), expiresAt: MoreThan(now) },
        { usedAt: now },
      ),
    );
    return result.affected === 1;
  }

  /** Ends every open challenge of the user: a credential change takes them back. */
  async endChallenges(userId: string, now: Date, tx: Transaction): Promise<void> {
    await this.transactions.write(tx, (manager) =>
      manager.update(MfaChallenge, { userId, usedAt: IsNull() }, { usedAt: now }),
    );
  }

  async purgeChallenges(before: Date): Promise<number> {
    const result = await this.transactions.write(undefined, (manager) =>
      manager.delete(MfaChallenge, { expiresAt: LessThan(before) }),
    );
    return result.affected ?? 0;
  }
}
