import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * An access token that must no longer be accepted, by its `jti`. Kept until the token would
 * have expired anyway, then purged.
 */
@Entity({ name: 'revoked_tokens' })
export class RevokedToken {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  jti!: string;

  @Column({ name: 'session_id', type: 'varchar', length: 36 })
  sessionId!: string;

  /** `logout` (POST /revoke) or `exchanged` (spent at POST /refresh). */
  @Column({ type: 'varchar', length: 16 })
  reason!: string;

  @Column({ name: 'revoked_at' })
  revokedAt!: Date;

  @Index('idx_revoked_tokens_expires_at')
  @Column({ name: 'expires_at' })
  expiresAt!: Date;
}
