import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * One security event: who (the user, and the admin for admin actions), from where, when, what and
 * how it ended. `details` is a small JSON object of codes and ids, never a password, hash, code
 * or token.
 */
@Entity({ name: 'audit_events' })
@Index('idx_audit_events_at', ['at'])
@Index('idx_audit_events_user_at', ['userId', 'at'])
export class AuditEvent {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column()
  at!: Date;

  @Column({ type: 'varchar', length: 48 })
  type!: string;

  @Column({ name: 'user_id', type: 'varchar', length: 36, nullable: true })
  userId!: string | null;

  @Column({ name: 'actor_id', type: 'varchar', length: 36, nullable: true })
  actorId!: string | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ip!: string | null;

  @Column({ name: 'user_agent', type: 'varchar', length: 512, nullable: true })
  userAgent!: string | null;

  @Column({ name: 'request_id', type: 'varchar', length: 128, nullable: true })
  requestId!: string | null;

  @Column({ type: 'varchar', length: 16 })
  outcome!: 'success' | 'failure';

  @Column({ type: 'varchar', length: 1024, nullable: true })
  details!: string | null;
}
