import { Injectable } from '@nestjs/common';
import { AuditEntry, AuditLog } from '../audit/audit-log.service';
import type { AuditEvent } from '../audit/audit-event.entity';
import type { ClientInfo } from '../auth/decorators/client-info.decorator';
import { toSessionResponse } from '../auth/dto/account.dto';
import { MfaRepository } from '../auth/mfa/mfa.repository';
import { MfaService } from '../auth/mfa/mfa.service';
import { FailedSigninLimiter } from '../auth/rate-limit/failed-signin-limiter';
import { SessionsService } from '../auth/sessions/sessions.service';
import { Clock } from '../common/clock/clock';
import { AppException } from '../common/errors/app.exception';
import { Transaction, Transactions } from '../database/transactions';
import { isDisabled, rolesOf, User } from '../users/user.entity';
import { ADMIN_ROLE } from './admin-access.guard';
import { UsersRepository } from '../users/users.repository';
import type {
  AdminUserDto,
  AuditEventDto,
  AuditPageDto,
  AuditQueryDto,
  ListUsersQueryDto,
  UserPageDto,
  UserSummaryDto,
} from './dto/admin.dto';

type AuditDetails = Record<string, string | number | boolean>;

/**
 * Who performs an admin action: the admin's user id and request, or the CLI (no actor; the event
 * says `via: cli`).
 */
export type Actor = { userId: string; client: ClientInfo } | { cli: true };

/**
 * What operators do to accounts, for the admin API and the CLI alike. Every change is one
 * transaction with the account locked, and is audited (`admin.*`) in it, with the actor.
 */
@Injectable()
export class AdminService {
  constructor(
    private readonly users: UsersRepository,
    private readonly sessions: SessionsService,
    private readonly mfa: MfaService,
    private readonly factors: MfaRepository,
    private readonly failedSignins: FailedSigninLimiter,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
    private readonly clock: Clock,
  ) {}

  async listUsers(query: ListUsersQueryDto): Promise<UserPageDto> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, isEmailKey);
    const rows = await this.users.search(
      (query.query ?? '').trim().toLowerCase(),
      after,
      query.limit + 1,
    );
    const page = rows.slice(0, query.limit);
    return {
      users: page.map((user) => this.summaryOf(user)),
      nextCursor: rows.length > query.limit ? encodeCursor(page[page.length - 1].email) : null,
    };
  }

  /** The account's id for an email (the CLI's way in); 404 `user_not_found` when none. */
  async idOf(email: string): Promise<string> {
    const user = await this.users.findIdByEmail(email);
    if (!user) {
      throw notFound();
    }
    return user.id;
  }

  async detail(id: string): Promise<AdminUserDto> {
    const user = await this.users.findById(id);
    if (!user) {
      throw notFound();
    }
    const [mfa, lock, sessions] = await Promise.all([
      this.mfa.status(id),
      this.failedSignins.locksOf(lockAccounts(user)),
      this.sessions.listActive(id),
    ]);
    const disabled = isDisabled(user, this.clock.now());
    return {
      ...this.summaryOf(user),
      disabledState: disabled
        ? {
            at: user.disabledAt!.toISOString(),
            until: user.disabledUntil?.toISOString() ?? null,
            reason: user.disabledReason ?? '',
          }
        : null,
      mfa,
      lock: {
        lockedUntil: lock.lockedUntil?.toISOString() ?? null,
        lockedAddresses: lock.lockedAddresses,
      },
      sessions: sessions.map((session) =>
        toSessionResponse(session, this.sessions.effectiveExpiry(session)),
      ),
    };
  }

  /**
   * Refuses sign-in (403 `account_disabled`) until `until`, or until enabled, and ends every
   * session in the same transaction: the account's access tokens are refused on the next request,
   * on every instance, and its second steps in progress end too.
   */
  async disable(id: string, reason: string, until: Date | undefined, actor: Actor): Promise<void> {
    const now = this.clock.now();
    if (until !== undefined && until <= now) {
      throw invalid('until', 'until must be in the future');
    }
    if ('userId' in actor && actor.userId === id) {
      throw new AppException('bad_request', 'Admins cannot disable their own account');
    }
    await this.change(
      id,
      async (user, tx) => {
        await this.users.setDisabled(id, { at: now, until: until ?? null, reason }, tx);
        const ended = await this.sessions.revokeAll(id, 'account_disabled', tx);
        await this.mfa.endChallenges(id, tx);
        return {
          type: 'admin.user_disabled',
          details: { reason, until: until?.toISOString() ?? 'indefinite', sessionsEnded: ended },
        };
      },
      actor,
    );
  }

  async enable(id: string, actor: Actor): Promise<void> {
    await this.change(
      id,
      async (user, tx) => {
        await this.users.setDisabled(id, null, tx);
        return { type: 'admin.user_enabled', details: { wasDisabled: user.disabledAt !== null } };
      },
      actor,
    );
  }

  /** Ends every session of the account now; returns how many ended. */
  async endSessions(id: string, actor: Actor): Promise<number> {
    let ended = 0;
    await this.change(
      id,
      async (_user, tx) => {
        ended = await this.sessions.revokeAll(id, 'admin', tx);
        return { type: 'admin.sessions_ended', details: { sessionsEnded: ended } };
      },
      actor,
    );
    return ended;
  }

  /** Lifts every failed-sign-in lock on the account, of every address, on every instance. */
  async unlock(id: string, actor: Actor): Promise<void> {
    const user = await this.users.findById(id);
    if (!user) {
      throw notFound();
    }
    await this.failedSignins.unlock(lockAccounts(user));
    await this.audit.record('admin.user_unlocked', this.entry(id, actor));
  }

  /** Removes the second factor (active or pending) and its recovery codes. */
  async resetMfa(id: string, actor: Actor): Promise<void> {
    await this.change(
      id,
      async (_user, tx) => {
        if ((await this.factors.findFactor(id, tx)) === null) {
          throw new AppException('mfa_not_enabled', 'This account has no second factor');
        }
        await this.factors.deleteFactor(id, tx);
        await this.mfa.endChallenges(id, tx);
        return { type: 'admin.mfa_reset', details: {} };
      },
      actor,
    );
  }

  /**
   * Replaces the account's roles. Access tokens carry roles as of their issue, so the change shows
   * at the user's next refresh (or at once after `endSessions`); the admin routes themselves read
   * the stored roles, so an admin who loses the role loses them at once.
   */
  async setRoles(id: string, roles: string[], actor: Actor): Promise<void> {
    await this.editRoles(id, () => roles, actor);
  }

  /** Adds or removes one role, keeping the others (the CLI's `admin:grant` and `admin:revoke`). */
  async toggleRole(id: string, role: string, held: boolean, actor: Actor): Promise<void> {
    await this.editRoles(
      id,
      (current) => (held ? [...current, role] : current.filter((name) => name !== role)),
      actor,
    );
  }

  /** The new roles are computed from the current ones with the account locked. */
  private async editRoles(
    id: string,
    edit: (current: string[]) => string[],
    actor: Actor,
  ): Promise<void> {
    await this.change(
      id,
      async (user, tx) => {
        const sorted = [...new Set(edit(rolesOf(user)))].sort();
        if ('userId' in actor && actor.userId === id && !sorted.includes(ADMIN_ROLE)) {
          throw new AppException(
            'bad_request',
            'Admins cannot take the admin role from themselves; another admin or the CLI can',
          );
        }
        await this.users.setRoles(id, sorted, tx);
        return {
          type: 'admin.roles_changed',
          details: { roles: sorted.join(','), previous: rolesOf(user).join(',') },
        };
      },
      actor,
    );
  }

  async searchAudit(query: AuditQueryDto): Promise<AuditPageDto> {
    const rows = await this.audit.search(
      {
        userId: query.user,
        type: query.type,
        since: query.since === undefined ? undefined : parseTime('since', query.since),
        until: query.until === undefined ? undefined : parseTime('until', query.until),
        before:
          query.cursor === undefined
            ? undefined
            : decodeCursor(query.cursor, (key) => UUID.test(key)),
      },
      query.limit + 1,
    );
    const page = rows.slice(0, query.limit);
    return {
      events: page.map(toAuditEventDto),
      nextCursor: rows.length > query.limit ? encodeCursor(page[page.length - 1].id) : null,
    };
  }

  /**
   * One admin change: in a transaction, with the account locked (every credential change and
   * sign-in takes the same lock), `apply` runs and its event is recorded; 404 for no account.
   */
  private async change(
    id: string,
    apply: (user: User, tx: Transaction) => Promise<{ type: string; details: AuditDetails }>,
    actor: Actor,
  ): Promise<void> {
    await this.transactions.run(async (tx) => {
      const user = await this.users.lockAccount(id, tx);
      if (user === null || user.deletedAt !== null) {
        throw notFound();
      }
      const event = await apply(user, tx);
      const entry = this.entry(id, actor);
      await this.audit.record(
        event.type,
        { ...entry, details: { ...event.details, ...entry.details } },
        tx,
      );
    });
  }

  private entry(userId: string, actor: Actor): AuditEntry & { details: AuditDetails } {
    return 'cli' in actor
      ? { userId, details: { via: 'cli' } }
      : { userId, actorId: actor.userId, client: actor.client, details: {} };
  }

  private summaryOf(user: User): UserSummaryDto {
    return {
      id: user.id,
      email: user.email,
      createdAt: user.createdAt.toISOString(),
      emailVerified: user.emailVerifiedAt !== null,
      roles: rolesOf(user),
      disabled: isDisabled(user, this.clock.now()),
    };
  }
}

/** The keys the failed-sign-in locks of an account count under (see FailedSigninLimiter). */
const lockAccounts = (user: User): string[] => [user.email, `user:${user.id}`];

const notFound = () => new AppException('user_not_found', 'No account has this id');

function invalid(field: string, message: string): AppException {
  return new AppException('validation_failed', message, {
    errors: [{ field, rules: ['isValid'], messages: [message] }],
  });
}

/** Cursors are opaque to clients: the last item's key, base64url-encoded. */
const encodeCursor = (key: string): string => Buffer.from(key, 'utf8').toString('base64url');

/** The key a cursor holds, when it is one this service made (`valid` tells its keys). */
function decodeCursor(cursor: string, valid: (key: string) => boolean): string {
  const key = /^[A-Za-z0-9_-]+$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString() : '';
  if (key === '' || encodeCursor(key) !== cursor || !valid(key)) {
    throw invalid('cursor', 'cursor must be the nextCursor of a previous page');
  }
  return key;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Characters no stored email holds (and PostgreSQL refuses NUL in text). */
const CONTROL = /\p{Cc}/u;
const isEmailKey = (key: string): boolean => key.length <= 254 && !CONTROL.test(key);

/** A time from a query or body: one the databases can store, else 400 `validation_failed`. */
export function parseTime(field: string, value: string): Date {
  const time = new Date(value);
  const year = time.getUTCFullYear();
  if (Number.isNaN(time.getTime()) || year < 1970 || year > 9999) {
    throw invalid(field, `${field} must be a date-time between 1970 and 9999`);
  }
  return time;
}

export function toAuditEventDto(event: AuditEvent): AuditEventDto {
  return {
    id: event.id,
    at: event.at.toISOString(),
    type: event.type,
    userId: event.userId,
    actorId: event.actorId,
    ip: event.ip,
    userAgent: event.userAgent,
    requestId: event.requestId,
    outcome: event.outcome,
    details: event.details === null ? null : parseDetails(event.details),
  };
}

function parseDetails(details: string): Record<string, unknown> {
  try {
    return JSON.parse(details) as Record<string, unknown>;
  } catch {
    // Cut at 1 KiB when it was written: shown as it is stored.
    return { truncated: details };
  }
}
