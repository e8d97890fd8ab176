import { Column, DeleteDateColumn, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'users' })
export class User {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  /** Trimmed and lower-cased before it is stored or compared. */
  @Column({ type: 'varchar', length: 254, unique: true })
  email!: string;

  /** Argon2id PHC string. Never selected unless a password is being checked. */
  @Column({ name: 'password_hash', type: 'varchar', length: 255, select: false })
  passwordHash!: string;

  @Column({ name: 'created_at' })
  createdAt!: Date;

  /**
   * The user's roles, comma-separated, none by default; access tokens carry them as `roles`.
   * Read through `rolesOf`.
   */
  @Column({ type: 'varchar', length: 255, default: '' })
  roles!: string;

  /** When the owner proved they receive mail at `email`; null until then, and after a change. */
  @Column({ name: 'email_verified_at', nullable: true, type: Date })
  emailVerifiedAt!: Date | null;

  /**
   * Set while an admin has disabled the account: sign-in is refused (403 `account_disabled`) until
   * `disabledUntil` passes, or until the account is enabled again when that is null.
   */
  @Column({ name: 'disabled_at', nullable: true, type: Date })
  disabledAt!: Date | null;

  @Column({ name: 'disabled_until', nullable: true, type: Date })
  disabledUntil!: Date | null;

  /** The admin's note on why, for operators only: never shown to the user. */
  @Column({ name: 'disabled_reason', type: 'varchar', length: 255, nullable: true })
  disabledReason!: string | null;

  /**
   * Set when the account is deleted: the email and hash are erased at once, the row stays (and
   * with it the revoked sessions) until no token of the account can still be live, then is purged.
   */
  @DeleteDateColumn({ name: 'deleted_at', nullable: true })
  deletedAt!: Date | null;
}

/** The roles of a `users` row, as a list. */
export const rolesOf = (user: Pick<User, 'roles'>): string[] =>
  user.roles ? user.roles.split(',').filter(Boolean) : [];

/** Whether an admin's disabling of the account is in force at `now`. */
export const isDisabled = (user: Pick<User, 'disabledAt' | 'disabledUntil'>, now: Date): boolean =>
  user.disabledAt !== null && (user.disabledUntil === null || user.disabledUntil > now);
