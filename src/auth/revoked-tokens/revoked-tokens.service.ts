import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { LessThan, Repository } from 'typeorm';
import { isUniqueViolation } from '../../common/database/unique-violation';
import { RevokedToken } from './revoked-token.entity';

export type RevocationReason = 'logout' | 'exchanged';

@Injectable()
export class RevokedTokensService {
  constructor(@InjectRepository(RevokedToken) private readonly revoked: Repository<RevokedToken>) {}

  async isRevoked(jti: string): Promise<boolean> {
    return (await this.revoked.existsBy({ jti })) === true;
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
    try {
      await this.revoked.insert({
        jti: token.jti,
        sessionId: token.sessionId,
        reason,
        revokedAt: now,
        expiresAt: token.expiresAt,
      });
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) {
        return false;
      }
      throw error;
    }
  }

  /** Deletes rows of tokens that have expired anyway; keeps the table bounded. */
  async purgeExpired(now = new Date()): Promise<number> {
    const result = await this.revoked.delete({ expiresAt: LessThan(now) });
    return result.affected ?? 0;
  }
}
