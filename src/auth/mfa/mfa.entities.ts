import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { User } from '../../users/user.entity';

export type FactorStatus = 'pending' | 'active';

/**
 * A user's TOTP factor (one at most): `pending` from enrolment until a first code proves the
 * authenticator has it (or `expires_at` passes), then `active`. The secret is sealed
 * (DataEncryption): the row alone gives no codes.
 */
@Entity({ name: 'mfa_factors' })
export class MfaFactor {
  @PrimaryColumn({ name: 'user_id', type: 'varchar', length: 36 })
  userId!: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id' })
  user?: User;

  @Column({ type: 'varchar', length: 16 })
  status!: FactorStatus;

  @Column({ name: 'sealed_secret', type: 'varchar', length: 255 })
  sealedSecret!: string;

  @Column({ name: 'created_at' })
  createdAt!: Date;

  /** Until when a pending factor may be verified. */
  @Column({ name: 'expires_at', nullable: true, type: Date })
  expiresAt!: Date | null;

  @Column({ name: 'activated_at', nullable: true, type: Date })
  activatedAt!: Date | null;

  /** The time step of the last code accepted: a code of this step or an earlier one is refused. */
  @Column({ name: 'last_step', type: 'integer', nullable: true })
  lastStep!: number | null;
}

/** One recovery code, as a keyed hash (`<key id>:<HMAC>`); spent once. */
@Entity({ name: 'mfa_recovery_codes' })
export class RecoveryCode {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Index('idx_mfa_recovery_codes_user_id')
  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId!: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id' })
  user?: User;

  @Column({ name: 'code_hash', type: 'varchar', length: 80 })
  codeHash!: string;

  @Column({ name: 'created_at' })
  createdAt!: Date;

  @Column({ name: 'used_at', nullable: true, type: Date })
  usedAt!: Date | null;
}

/**
 * The second step of a sign-in whose password was right: the opaque `mfa_token` (its SHA-256
 * stored), single use, 5 minutes, dead after 5 wrong codes.
 */
@Entity({ name: 'mfa_challenges' })
export class MfaChallenge {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Index('idx_mfa_challenges_token_hash', { unique: true })
  @Column({ name: 'token_hash', type: 'varchar', length: 64 })
  tokenHash!: string;

  @Index('idx_mfa_challenges_user_id')
  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId!: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id' })
  user?: User;

  @Column({ type: 'integer', default: 0 })
  failures!: number;

  @Column({ name: 'created_at' })
  createdAt!: Date;

  @Column({ name: 'expires_at' })
  expiresAt!: Date;

  @Column({ name: 'used_at', nullable: true, type: Date })
  usedAt!: Date | null;
}
