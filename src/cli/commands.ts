import { setTimeout as sleep } from 'node:timers/promises';
import { Inject } from '@nestjs/common';
import { Command, CommandRunner, Option } from 'nest-commander';
import { ADMIN_ROLE } from '../admin/admin-access.guard';
import { AdminService, parseTime, toAuditEventDto } from '../admin/admin.service';
import type { AuditEventDto } from '../admin/dto/admin.dto';
import { AuditLog } from '../audit/audit-log.service';
import { AppException } from '../common/errors/app.exception';
import { normaliseEmail } from '../common/validation/normalise-email';

const CLI = { cli: true } as const;

/** What a command prints: its own output on stdout (logs go to stderr, see processRole). */
const print = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

/**
 * A command that acts on one account named by its email. An unknown email, or any refusal, is
 * printed as `error: ...` on stderr with exit code 1 (see cli.ts).
 */
abstract class AccountCommand extends CommandRunner {
  // A property, not a constructor parameter: the commands extending this class declare none.
  @Inject(AdminService) protected readonly admin!: AdminService;

  async run([email]: string[], options: Record<string, string> = {}): Promise<void> {
    const address = normaliseEmail(email);
    const id = await this.admin.idOf(address).catch((error: unknown) => {
      throw error instanceof AppException && error.code === 'user_not_found'
        ? new CliError(`no account has the email ${address}`)
        : error;
    });
    print(await this.act(id, address, options));
  }

  /** Does the work; returns the line to print. */
  protected abstract act(
    id: string,
    email: string,
    options: Record<string, string>,
  ): Promise<string>;
}

/** A refusal worded for the command line. */
export class CliError extends Error {
  override name = 'CliError';
}

@Command({
  name: 'admin:grant',
  arguments: '<email>',
  description: 'Give an account the admin role (the way to create the first admin)',
})
export class AdminGrantCommand extends AccountCommand {
  protected async act(id: string, email: string): Promise<string> {
    await this.admin.toggleRole(id, ADMIN_ROLE, true, CLI);
    return `${email} is an admin (tokens carry the role from its next sign-in or refresh)`;
  }
}

@Command({ name: 'admin:revoke', arguments: '<email>', description: 'Take the admin role away' })
export class AdminRevokeCommand extends AccountCommand {
  protected async act(id: string, email: string): Promise<string> {
    await this.admin.toggleRole(id, ADMIN_ROLE, false, CLI);
    return `${email} is no longer an admin`;
  }
}

@Command({
  name: 'users:disable',
  arguments: '<email>',
  description: 'Refuse sign-in to an account and end its sessions at once',
})
export class UsersDisableCommand extends AccountCommand {
  protected async act(id: string, email: string, options: Record<string, string>): Promise<string> {
    const until = options.until === undefined ? undefined : parseTime('until', options.until);
    await this.admin.disable(id, options.reason ?? 'disabled from the CLI', until, CLI);
    return `${email} is disabled ${until ? `until ${until.toISOString()}` : 'until enabled'}`;
  }

  @Option({ flags: '--until <time>', description: 'ISO 8601 time the disabling ends by itself' })
  parseUntil(value: string): string {
    return value;
  }

  @Option({ flags: '--reason <text>', description: 'why, for the audit log' })
  parseReason(value: string): string {
    if (value.trim() === '' || value.length > 255) {
      throw new CliError('--reason must be 1 to 255 characters');
    }
    return value;
  }
}

@Command({ name: 'users:enable', arguments: '<email>', description: 'Enable a disabled account' })
export class UsersEnableCommand extends AccountCommand {
  protected async act(id: string, email: string): Promise<string> {
    await this.admin.enable(id, CLI);
    return `${email} is enabled`;
  }
}

@Command({
  name: 'sessions:end',
  arguments: '<email>',
  description: 'End every session of an account',
})
export class SessionsEndCommand extends AccountCommand {
  protected async act(id: string, email: string): Promise<string> {
    const ended = await this.admin.endSessions(id, CLI);
    return `${ended} session${ended === 1 ? '' : 's'} of ${email} ended`;
  }
}

@Command({
  name: 'users:unlock',
  arguments: '<email>',
  description: 'Lift the failed-sign-in locks on an account',
})
export class UsersUnlockCommand extends AccountCommand {
  protected async act(id: string, email: string): Promise<string> {
    await this.admin.unlock(id, CLI);
    return `${email} is unlocked`;
  }
}

@Command({
  name: 'mfa:reset',
  arguments: '<email>',
  description: "Remove an account's second factor and recovery codes",
})
export class MfaResetCommand extends AccountCommand {
  protected async act(id: string, email: string): Promise<string> {
    await this.admin.resetMfa(id, CLI);
    return `the second factor of ${email} is removed`;
  }
}

@Command({ name: 'users:list', description: 'List accounts, in email order' })
export class UsersListCommand extends CommandRunner {
  constructor(private readonly admin: AdminService) {
    super();
  }

  async run(_args: string[], options: { query?: string; limit?: number }): Promise<void> {
    const limit = options.limit ?? 100;
    let cursor: string | undefined;
    let shown = 0;
    do {
      const page = await this.admin.listUsers({
        query: options.query,
        cursor,
        limit: Math.min(100, limit - shown),
      });
      for (const user of page.users) {
        const flags = [
          user.roles.length > 0 ? `roles=${user.roles.join(',')}` : '',
          user.disabled ? 'disabled' : '',
          user.emailVerified ? 'verified' : 'unverified',
        ].filter(Boolean);
        print(`${user.email}\t${user.id}\t${flags.join(' ')}`);
      }
      shown += page.users.length;
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined && shown < limit);
  }

  @Option({ flags: '--query <prefix>', description: 'only emails starting with this' })
  parseQuery(value: string): string {
    return value;
  }

  @Option({ flags: '--limit <n>', description: 'at most this many (default 100)' })
  parseLimit(value: string): number {
    const limit = Number(value);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) {
      throw new CliError('--limit must be a whole number from 1 to 100000');
    }
    return limit;
  }
}

@Command({
  name: 'audit:tail',
  description: 'Print the latest audit events, oldest first; with --follow, keep printing',
})
export class AuditTailCommand extends CommandRunner {
  constructor(
    private readonly admin: AdminService,
    private readonly audit: AuditLog,
  ) {
    super();
  }

  async run(
    _args: string[],
    options: { user?: string; type?: string; follow?: boolean; lines?: number },
  ): Promise<void> {
    const email = options.user === undefined ? undefined : normaliseEmail(options.user);
    const userId =
      email === undefined
        ? undefined
        : await this.admin.idOf(email).catch(() => {
            throw new CliError(`no account has the email ${email}`);
          });
    const latest = await this.admin.searchAudit({
      user: userId,
      type: options.type,
      limit: options.lines ?? 20,
    });
    const events = latest.events.reverse();
    events.forEach((event) => print(formatEvent(event)));
    let last = events[events.length - 1]?.id ?? '';
    while (options.follow) {
      await sleep(1000);
      const next = await this.audit.search({ userId, type: options.type, after: last }, 100);
      for (const event of next) {
        print(formatEvent(toAuditEventDto(event)));
        last = event.id;
      }
    }
  }

  @Option({ flags: '--user <email>', description: 'only events of this account' })
  parseUser(value: string): string {
    return value;
  }

  @Option({ flags: '--type <type>', description: 'only this type, or a family such as admin.*' })
  parseType(value: string): string {
    if (!/^[a-z_]+(\.[a-z_]+)*(\.\*)?$/.test(value)) {
      throw new CliError(
        '--type must be an event type such as signin.failure, or a family such as mfa.*',
      );
    }
    return value;
  }

  @Option({
    flags: '-n, --lines <n>',
    description: 'how many of the latest to print first (default 20)',
  })
  parseLines(value: string): number {
    const lines = Number(value);
    if (!Number.isInteger(lines) || lines < 1 || lines > 100) {
      throw new CliError('--lines must be a whole number from 1 to 100');
    }
    return lines;
  }

  @Option({ flags: '-f, --follow', description: 'keep printing new events until interrupted' })
  parseFollow(): boolean {
    return true;
  }
}

/** One event per line: time, type, outcome, who, from where, details. */
function formatEvent(event: AuditEventDto): string {
  return [
    event.at,
    event.type,
    event.outcome,
    `user=${event.userId ?? '-'}`,
    `actor=${event.actorId ?? '-'}`,
    `ip=${event.ip ?? '-'}`,
    event.details === null ? '' : JSON.stringify(event.details),
  ]
    .join('  ')
    .trimEnd();
}

export const COMMANDS = [
  AdminGrantCommand,
  AdminRevokeCommand,
  UsersListCommand,
  UsersDisableCommand,
  UsersEnableCommand,
  SessionsEndCommand,
  UsersUnlockCommand,
  MfaResetCommand,
  AuditTailCommand,
];
