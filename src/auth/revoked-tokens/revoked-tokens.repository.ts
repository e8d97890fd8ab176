import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { LessThan, MoreThan, Repository } from 'typeorm';
import { Transaction, Transactions } from '../../database/transactions';
import { RevokedToken } from './revoked-token.entity';

/** Rows of `jti`s are read back in batches this size when the in-memory filter is rebuilt. */
const LOAD_BATCH = 50_000;

/** Every query on `revoked_tokens`. */
@Injectable()
export class RevokedTokensRepository {
  constructor(
    @InjectRepository(RevokedToken) private readonly revoked: Repository<RevokedToken>,
    private readonly transactions: Transactions,
  ) {}

  exists(jti: string): Promise<boolean> {
    return this.revoked.existsBy({ jti });
  }

  findByJti(jti: string, tx?: Transaction): Promise<RevokedToken | null> {
    return (tx?.getRepository(RevokedToken) ?? this.revoked).findOneBy({ jti });
  }

  /** Records a revocation; one already recorded for the `jti` stays as it was. */
  async insert(row: RevokedToken, tx?: Transaction): Promise<void> {
    await this.transactions.write(tx, (manager) =>
      manager.createQueryBuilder().insert().into(RevokedToken).values(row).orIgnore().execute(),
    );
  }

  async deleteExpiredBefore(cutoff: Date): Promise<number> {
    const result = await this.transactions.write(undefined, (manager) =>
      manager.delete(RevokedToken, { expiresAt: LessThan(cutoff) }),
    );
    return result.affected ?? 0;
  }

  /** Hands every `jti` whose token expires after `since` to `add`, in batches ordered by key. */
  async eachJtiExpiringAfter(since: Date, add: (jti: string) => void): Promise<void> {
    let after = '';
    for (;;) {
      const rows = await this.revoked
        .createQueryBuilder('revoked')
        .select('revoked.jti', 'jti')
        .where('revoked.jti > :after', { after })
        .andWhere({ expiresAt: MoreThan(since) })
        .orderBy('revoked.jti')
        .limit(LOAD_BATCH)
        .getRawMany<{ jti: string }>();
      rows.forEach((row) => add(row.jti));
      if (rows.length < LOAD_BATCH) {
        return;
      }
      after = rows[rows.length - 1].jti;
    }
  }
}
