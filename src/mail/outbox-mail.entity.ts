import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** `pending` until the sender is done with it, then one of the others, for good. */
export type OutboxStatus = 'pending' | 'sent' | 'dropped' | 'failed';

/**
 * A mail to send, written in the transaction of the request that asks for it. It holds no link
 * and no token: the sender builds the mail when it sends it (see MailBuilder), so a link exists
 * only in the mail itself. Rows that are done stay a day (for the per-address throttle), then go.
 */
@Entity({ name: 'mail_outbox' })
@Index('idx_mail_outbox_due', ['status', 'nextAttemptAt'])
@Index('idx_mail_outbox_recipient', ['recipient', 'kind', 'preparedAt'])
export class OutboxMail {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 32 })
  kind!: string;

  @Column({ type: 'varchar', length: 254 })
  recipient!: string;

  /** The account the mail is about, when the request knew it. */
  @Column({ name: 'user_id', type: 'varchar', length: 36, nullable: true })
  userId!: string | null;

  /** A few facts the mail needs (never a secret), as JSON. */
  @Column({ type: 'varchar', length: 1024, nullable: true })
  data!: string | null;

  @Column({ type: 'varchar', length: 16, default: 'pending' })
  status!: OutboxStatus;

  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  @Column({ name: 'next_attempt_at' })
  nextAttemptAt!: Date;

  /** Claimed by a sender until then; another may take the mail over after it. */
  @Column({ name: 'locked_until', nullable: true, type: Date })
  lockedUntil!: Date | null;

  /** When the mail last passed the per-address throttle: what the throttle counts. */
  @Column({ name: 'prepared_at', nullable: true, type: Date })
  preparedAt!: Date | null;

  @Column({ name: 'created_at' })
  createdAt!: Date;

  @Column({ name: 'finished_at', nullable: true, type: Date })
  finishedAt!: Date | null;

  /** Why a mail was dropped or failed: a code, never the SMTP server's text. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  outcome!: string | null;
}
