import { Injectable } from '@nestjs/common';
import { Clock } from '../../common/clock/clock';
import type { Transaction } from '../../database/transactions';
import { MetricsService } from '../../metrics/metrics.service';
import { RevocationCheck } from '../revocation/revocation-check';
import { RevokedToken } from './revoked-token.entity';
import { RevokedTokensRepository } from './revoked-tokens.repository';

export type RevocationReason = 'logout' | 'exchanged';

/** A revoked access token, by `jti`: kept until the token would have expired anyway. */
export interface TokenToRevoke {
  jti: string;
  sessionId: string;
  expiresAt: Date;
}

/** Revocation of single access tokens; announced to the RevocationCheck before it is written. */
@Injectable()
export class RevokedTokensService {
  constructor(
    private readonly revoked: RevokedTokensRepository,
    private readonly revocations: RevocationCheck,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
  ) {}

  findByJti(jti: string, tx?: Transaction): Promise<RevokedToken | null> {
    return this.revoked.findByJti(jti, tx);
  }

  async revoke(token: TokenToRevoke, reason: RevocationReason, tx?: Transaction): Promise<void> {
    this.revocations.willRevokeToken(token.jti);
    await this.revoked.insert(
      Object.assign(new RevokedToken(), { ...token, reason, revokedAt: this.clock.now() }),
      tx,
    );
    this.metrics.revoked('token', reason);
  }

  /** Deletes rows of tokens that expired before `cutoff`. */
  purgeExpired(cutoff: Date): Promise<number> {
    return this.revoked.deleteExpiredBefore(cutoff);
  }
}
