import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectRepository } from '@nestjs/typeorm';
import { LessThan, MoreThan, Repository } from 'typeorm';
import { isUniqueViolation } from '../../common/database/unique-violation';
import { databaseConfig } from '../../config/configuration';
import { isShared } from '../../database/data-source-options';
import { MetricsService } from '../../metrics/metrics.service';
import { IdFilter } from '../revocation/id-filter';
import { CLOCK_TOLERANCE } from '../tokens/access-token.service';
import { RevokedToken } from './revoked-token.entity';

export type RevocationReason = 'logout' | 'exchanged';

const LOAD_BATCH = 50_000;

/**
 * The `revoked_tokens` table, fronted by an in-memory filter of every revoked `jti` that could
 * still pass verification. The filter is loaded at start-up and updated before each write, so a
 * `jti` it does not know is certainly not revoked and costs no query; the rare `jti` it might know
 * is confirmed in the table. This holds while this process is the only writer: the embedded
 * SQLite set-up, one instance per database file. On PostgreSQL other instances write too, so there
 * is no filter and every check reads the table.
 */
@Injectable()
export class RevokedTokensService implements OnModuleInit {
  private readonly filter?: IdFilter;

  constructor(
    @InjectRepository(RevokedToken) private readonly revoked: Repository<RevokedToken>,
    @Inject(databaseConfig.KEY) database: ConfigType<typeof databaseConfig>,
    private readonly metrics: MetricsService,
  ) {
    this.filter = isShared(database) ? undefined : new IdFilter();
  }

  async onModuleInit(): Promise<void> {
    await this.reloadFilter();
  }

  async isRevoked(jti: string): Promise<boolean> {
    if (this.filter && !this.filter.mightContain(jti)) {
      return false;
    }
    return this.revoked.existsBy({ jti });
  }

  findByJti(jti: string): Promise<RevokedToken | null> {
    return this.revoked.findOneBy({ jti });
  }

  /**
   * Records a revocation. Returns false when the token was already revoked (the primary key on
   * `jti` decides, so two racing requests cannot both spend one token).
   */
  async revoke(
    token: { jti: string; sessionId: string; expiresAt: Date },
    reason: RevocationReason,
    now = new Date(),
  ): Promise<boolean> {
    this.filter?.add(token.jti);
    try {
      await this.revoked.insert({
        jti: token.jti,
        sessionId: token.sessionId,
        reason,
        revokedAt: now,
        expiresAt: token.expiresAt,
      });
      this.metrics.revoked('token', reason);
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) {
        return false;
      }
      throw error;
    }
  }

  /** Deletes rows of tokens that have expired before `cutoff`, then rebuilds the filter. */
  async purgeExpired(cutoff: Date): Promise<number> {
    const result = await this.revoked.delete({ expiresAt: LessThan(cutoff) });
    await this.reloadFilter(cutoff);
    return result.affected ?? 0;
  }

  /** Loads every `jti` whose token could still be presented, in batches ordered by key. */
  private async reloadFilter(since = new Date(Date.now() - CLOCK_TOLERANCE * 1000)): Promise<void> {
    await this.filter?.rebuild(async (add) => {
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
    });
  }
}
