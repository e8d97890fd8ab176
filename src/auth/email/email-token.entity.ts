import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { User } from '../../users/user.entity';

/** What a link from a mail may do; a token of one purpose never serves another. */
export type EmailTokenPurpose = 'verify' | 'reset' | 'change';

/**
 * A link sent by mail: only the SHA-256 of its token is stored. Spent once (`used_at`), by the
 * POST of the page the link opens; a newer link of the same purpose for the same user deletes
 * this one.
 */
@Entity({ name: 'email_tokens' })
@Index('idx_email_tokens_user_purpose', ['userId', 'purpose'])
export class EmailToken {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId!: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id' })
  user?: User;

  @Column({ type: 'varchar', length: 16 })
  purpose!: EmailTokenPurpose;

  @Index('idx_email_tokens_token_hash', { unique: true })
  @Column({ name: 'token_hash', type: 'varchar', length: 64 })
  tokenHash!: string;

  /**
   * The address the link was sent to: for verification, the account's address then (the link is
   * dead once it changes); for an address change, the new address.
   */
  @Column({ type: 'varchar', length: 254 })
  email!: string;

  /** For an address change: the session that asked, which stays open when the change is confirmed. */
  @Column({ name: 'session_id', type: 'varchar', length: 36, nullable: true })
  sessionId!: string | null;

  @Column({ name: 'created_at' })
  createdAt!: Date;

  @Column({ name: 'expires_at' })
  expiresAt!: Date;

  @Column({ name: 'used_at', nullable: true, type: Date })
  usedAt!: Date | null;
}
