import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { User } from '../../users/user.entity';

/** Longest user agent and client address kept with a session; longer ones are cut. */
export const SESSION_USER_AGENT_LENGTH = 512;
export const SESSION_IP_LENGTH = 64;
/** SHA-256 in hex. */
const TOKEN_HASH_LENGTH = 64;
/** 32 random bytes in base64url. */
const CHAIN_SEED_LENGTH = 43;

/**
 * One signed-in device or client. The raw refresh token is never stored: only the SHA-256 of the
 * current one, and a generation counter that lets a spent ancestor be recognised (see
 * RefreshTokens).
 */
@Entity({ name: 'sessions' })
export class Session {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Index('idx_sessions_user_id')
  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId!: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id' })
  user?: User;

  /** SHA-256 (hex) of the current refresh token. */
  @Column({ name: 'refresh_token_hash', type: 'varchar', length: TOKEN_HASH_LENGTH })
  refreshTokenHash!: string;

  /**
   * SHA-256 of the last token of the previous chain, when an access-token exchange started a new
   * one: that token and its recent ancestors still count as spent.
   */
  @Column({
    name: 'retired_refresh_token_hash',
    type: 'varchar',
    length: TOKEN_HASH_LENGTH,
    nullable: true,
  })
  retiredRefreshTokenHash!: string | null;

  /** How many rotations this refresh-token chain has been through. */
  @Column({ type: 'integer', default: 0 })
  generation!: number;

  /** Which chain of the session is current: each access-token exchange starts the next one. */
  @Column({ name: 'chain_epoch', type: 'integer', default: 0 })
  chainEpoch!: number;

  /**
   * Random seed of the chains' roots (see RefreshTokens), so that a token of any earlier chain
   * is recognised as spent. Null for sessions opened before chains had epochs, until their first
   * exchange.
   */
  @Column({ name: 'chain_seed', type: 'varchar', length: CHAIN_SEED_LENGTH, nullable: true })
  chainSeed!: string | null;

  /**
   * When the newest access token issued for this session expires: a revocation of the session
   * matters until then, whatever JWT_ACCESS_TTL is set to later. Null for rows written before it
   * was recorded.
   */
  @Column({ name: 'access_expires_at', nullable: true, type: Date })
  accessExpiresAt!: Date | null;

  /** When the current refresh token replaced its predecessor (start of the reuse grace window). */
  @Column({ name: 'rotated_at', nullable: true, type: Date })
  rotatedAt!: Date | null;

  @Column({ name: 'created_at' })
  createdAt!: Date;

  @Column({ name: 'last_used_at' })
  lastUsedAt!: Date;

  /** Absolute expiry: no refresh extends the session past it. */
  @Column({ name: 'expires_at' })
  expiresAt!: Date;

  @Column({
    name: 'user_agent',
    type: 'varchar',
    length: SESSION_USER_AGENT_LENGTH,
    nullable: true,
  })
  userAgent!: string | null;

  @Column({ type: 'varchar', length: SESSION_IP_LENGTH, nullable: true })
  ip!: string | null;

  @Column({ name: 'revoked_at', nullable: true, type: Date })
  revokedAt!: Date | null;

  /** Why it ended: `logout`, `reuse_detected`. */
  @Column({ name: 'revoked_reason', type: 'varchar', length: 32, nullable: true })
  revokedReason!: string | null;

  /** How the session was established (NIST SP 800-63B): `aal1` password, `aal2` a second factor. */
  @Column({ type: 'varchar', length: 8, default: 'aal1' })
  aal!: AssuranceLevel;

  /** The methods used, RFC 8176 values joined by commas: `pwd`, `pwd,otp`, `pwd,mfa`. */
  @Column({ type: 'varchar', length: 32, default: 'pwd' })
  amr!: string;
}

export type AssuranceLevel = 'aal1' | 'aal2';
