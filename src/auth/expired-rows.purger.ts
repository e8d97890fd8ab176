import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { authConfig } from '../config/configuration';
import { RevokedTokensService } from './revoked-tokens/revoked-tokens.service';
import { UsersService } from '../users/users.service';
import { SessionsService } from './sessions/sessions.service';
import { CLOCK_TOLERANCE } from './tokens/access-token.service';

/** Periodically deletes revocation rows of expired tokens, long-ended sessions and deleted accounts. */
@Injectable()
export class ExpiredRowsPurger implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ExpiredRowsPurger.name);
  private timer?: NodeJS.Timeout;
  private running = false;

  constructor(
    private readonly revokedTokens: RevokedTokensService,
    private readonly sessions: SessionsService,
    private readonly users: UsersService,
    @Inject(authConfig.KEY) private readonly config: ConfigType<typeof authConfig>,
  ) {}

  onApplicationBootstrap(): void {
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

  /** A revoked row is kept until its token could no longer pass, clock tolerance included. */
  /** Deleted accounts go (with their sessions) a day after no token of theirs can be live. */
  async purge(
    now = new Date(),
  ): Promise<{ revokedTokens: number; sessions: number; deletedUsers: number }> {
    try {
      const cutoff = new Date(now.getTime() - (CLOCK_TOLERANCE + 60) * 1000);
      const revokedTokens = await this.revokedTokens.purgeExpired(cutoff);
      const deletedUsers = await this.users.purgeDeleted(
        new Date(now.getTime() - (this.config.accessTtl + CLOCK_TOLERANCE + 86400) * 1000),
      );
      const sessions = await this.sessions.purgeExpired(now);
      return { revokedTokens, sessions, deletedUsers };
    } catch (error) {
      this.logger.error(`Purge failed: ${(error as Error).name}`);
      return { revokedTokens: 0, sessions: 0, deletedUsers: 0 };
    }
  }
}
