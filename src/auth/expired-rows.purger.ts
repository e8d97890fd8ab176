import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { authConfig } from '../config/configuration';
import { Clock } from '../common/clock/clock';
import { processRole } from '../common/process-role';
import { AuditLog } from '../audit/audit-log.service';
import { OutboxRepository } from '../mail/outbox.repository';
import { UsersRepository } from '../users/users.repository';
import { EmailTokensRepository } from './email/email-tokens.repository';
import { MfaRepository } from './mfa/mfa.repository';
import { RevocationCheck } from './revocation/revocation-check';
import { RevokedTokensService } from './revoked-tokens/revoked-tokens.service';
import { SessionsService } from './sessions/sessions.service';
import { CLOCK_TOLERANCE } from './tokens/access-token.service';

/** Seconds a deleted account is kept after its last token could still be live. */
const DELETED_ACCOUNT_RETENTION = 24 * 3600;
/** Milliseconds spent or expired links, and mails done with, are kept (the throttle needs a minute). */
const MAIL_RETENTION_MS = 24 * 3600 * 1000;
/** Seconds a revoked token's row is kept past its expiry, beyond the clock tolerance. */
const REVOKED_TOKEN_MARGIN = 60;

/** Periodically deletes revocation rows of expired tokens, long-ended sessions and deleted accounts. */
@Injectable()
export class ExpiredRowsPurger implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ExpiredRowsPurger.name);
  private timer?: NodeJS.Timeout;
  private running = false;

  constructor(
    private readonly revokedTokens: RevokedTokensService,
    private readonly sessions: SessionsService,
    private readonly users: UsersRepository,
    private readonly emailTokens: EmailTokensRepository,
    private readonly outbox: OutboxRepository,
    private readonly mfa: MfaRepository,
    private readonly audit: AuditLog,
    private readonly revocations: RevocationCheck,
    private readonly clock: Clock,
    @Inject(authConfig.KEY) private readonly config: ConfigType<typeof authConfig>,
  ) {}

  onApplicationBootstrap(): void {
    if (processRole.cli) {
      return;
    }
    this.timer = setInterval(() => {
      if (!this.running) {
        this.running = true;
        void this.purge().finally(() => (this.running = false));
      }
    }, this.config.purgeInterval * 1000);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /**
   * A revoked row is kept until its token could no longer pass, clock tolerance included. Deleted
   * accounts go (with their sessions) a day after no token of theirs can be live; expired links
   * and mails done with, a day later.
   */
  async purge(): Promise<{
    revokedTokens: number;
    sessions: number;
    deletedUsers: number;
    links: number;
    mails: number;
  }> {
    const now = this.clock.nowMs();
    try {
      const revokedTokens = await this.revokedTokens.purgeExpired(
        new Date(now - (CLOCK_TOLERANCE + REVOKED_TOKEN_MARGIN) * 1000),
      );
      const deletedUsers = await this.users.purgeDeleted(
        new Date(
          now - (this.config.accessTtl + CLOCK_TOLERANCE + DELETED_ACCOUNT_RETENTION) * 1000,
        ),
      );
      const sessions = await this.sessions.purgeExpired();
      const links = await this.emailTokens.purgeExpired(new Date(now - MAIL_RETENTION_MS));
      const mails = await this.outbox.purgeFinished(new Date(now - MAIL_RETENTION_MS));
      await this.mfa.purgeChallenges(new Date(now - MAIL_RETENTION_MS));
      await this.audit.purgeBefore(new Date(now - this.config.auditRetention * 1000));
      await this.revocations.reload();
      return { revokedTokens, sessions, deletedUsers, links, mails };
    } catch (error) {
      this.logger.error(`Purge failed: ${(error as Error).name}`);
      return { revokedTokens: 0, sessions: 0, deletedUsers: 0, links: 0, mails: 0 };
    }
  }
}
