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
import { SessionsService } from './sessions/sessions.service';
import { CLOCK_TOLERANCE } from './tokens/access-token.service';

/** Periodically deletes revocation rows of expired tokens and long-ended sessions. */
@Injectable()
export class ExpiredRowsPurger implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ExpiredRowsPurger.name);
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly revokedTokens: RevokedTokensService,
    private readonly sessions: SessionsService,
    @Inject(authConfig.KEY) private readonly config: ConfigType<typeof authConfig>,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.purge(), this.config.purgeInterval * 1000);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** A revoked row is kept until its token could no longer pass, clock tolerance included. */
  async purge(now = new Date()): Promise<{ revokedTokens: number; sessions: number }> {
    try {
      const cutoff = new Date(now.getTime() - (CLOCK_TOLERANCE + 60) * 1000);
      const revokedTokens = await this.revokedTokens.purgeExpired(cutoff);
      const sessions = await this.sessions.purgeExpired(now);
      return { revokedTokens, sessions };
    } catch (error) {
      this.logger.error(`Purge failed: ${(error as Error).name}`);
      return { revokedTokens: 0, sessions: 0 };
    }
  }
}
