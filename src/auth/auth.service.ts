import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { AppException } from '../common/errors/app.exception';
import { authConfig } from '../config/configuration';
import { MetricsService } from '../metrics/metrics.service';
import { toUserResponse, UserResponseDto } from '../users/dto/user-response.dto';
import { UsersService } from '../users/users.service';
import type { SignInDto, SignUpDto } from './dto/credentials.dto';
import type { TokenPairResponseDto } from './dto/token-pair-response.dto';
import { PasswordHasher } from './passwords/password-hasher.service';
import { FailedSigninLimiter } from './rate-limit/failed-signin-limiter';
import { RevokedTokensService } from './revoked-tokens/revoked-tokens.service';
import { Session } from './sessions/session.entity';
import { ClientInfo, SessionsService } from './sessions/sessions.service';
import { AccessTokenService } from './tokens/access-token.service';
import { looksLikeJwt } from './tokens/refresh-tokens';

@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly passwords: PasswordHasher,
    private readonly sessions: SessionsService,
    private readonly revokedTokens: RevokedTokensService,
    private readonly accessTokens: AccessTokenService,
    private readonly failedSignins: FailedSigninLimiter,
    private readonly metrics: MetricsService,
    @Inject(authConfig.KEY) private readonly config: ConfigType<typeof authConfig>,
  ) {}

  async signUp(dto: SignUpDto): Promise<UserResponseDto> {
    const passwordHash = await this.passwords.hash(dto.password);
    return toUserResponse(await this.users.create(dto.email, passwordHash));
  }

  /**
   * Checks the password (an unknown email costs the same hashing as a wrong password and gets the
   * same answer), then opens a session.
   */
  async signIn(dto: SignInDto, client: ClientInfo): Promise<TokenPairResponseDto> {
    return this.counted(
      (outcome) => this.metrics.signin(outcome),
      () => this.signInOnce(dto, client),
    );
  }

  private async signInOnce(dto: SignInDto, client: ClientInfo): Promise<TokenPairResponseDto> {
    const user = await this.failedSignins.guard(dto.email, client.ip, async () => {
      const found = await this.users.findByEmailWithPassword(dto.email);
      const valid = await this.passwords.verify(found?.passwordHash, dto.password);
      return found && valid ? found : undefined;
    });
    if (!user) {
      throw new AppException('invalid_credentials', 'The email or password is incorrect');
    }
    if (this.passwords.needsRehash(user.passwordHash)) {
      await this.users.updatePasswordHash(user.id, await this.passwords.hash(dto.password));
    }
    const { session, refreshToken } = await this.sessions.create(user.id, client);
    return this.tokenPair(user, session, refreshToken);
  }

  /**
   * Exchanges a refresh token (rotating it) or, for the seed's workflow, a valid access token
   * (spending it) for a new pair in the same session.
   */
  async refresh(credential: string): Promise<TokenPairResponseDto> {
    return this.counted(
      (outcome) => this.metrics.refresh(outcome),
      () => this.refreshOnce(credential),
    );
  }

  private async refreshOnce(credential: string): Promise<TokenPairResponseDto> {
    if (looksLikeJwt(credential)) {
      return this.exchangeAccessToken(credential);
    }
    const { session, refreshToken } = await this.sessions.rotate(credential);
    const user = await this.users.findById(session.userId);
    if (!user) {
      throw AppException.rejectedToken('session_revoked', 'The session no longer exists');
    }
    return this.tokenPair(user, session, refreshToken);
  }

  private async exchangeAccessToken(token: string): Promise<TokenPairResponseDto> {
    if (!this.config.refreshAcceptsAccessToken) {
      throw AppException.rejectedToken(
        'invalid_refresh_token',
        'Send the refresh token from /signin; access tokens are not accepted here',
      );
    }
    const claims = this.accessTokens.verify(token);
    await this.sessions.findActive(claims.sid);
    const spent = await this.revokedTokens.revoke(
      { jti: claims.jti, sessionId: claims.sid, expiresAt: new Date(claims.exp * 1000) },
      'exchanged',
    );
    if (!spent) {
      const previous = await this.revokedTokens.findByJti(claims.jti);
      if (previous?.reason === 'exchanged') {
        await this.sessions.revoke(claims.sid, 'reuse_detected');
        throw AppException.rejectedToken(
          'refresh_token_reused',
          'This access token was already exchanged; the session has been revoked',
        );
      }
      throw AppException.rejectedToken('token_revoked', 'The access token has been revoked');
    }
    const { session, refreshToken } = await this.sessions.restartChain(claims.sid);
    return this.tokenPair({ id: claims.sub, email: claims.email }, session, refreshToken);
  }

  /** Runs `attempt` and counts its outcome: `success`, or the error code it failed with. */
  private async counted<T>(
    count: (outcome: string) => void,
    attempt: () => Promise<T>,
  ): Promise<T> {
    try {
      const result = await attempt();
      count('success');
      return result;
    } catch (error) {
      count(MetricsService.outcomeOf(error));
      throw error;
    }
  }

  private tokenPair(
    user: { id: string; email: string },
    session: Session,
    refreshToken: string,
  ): TokenPairResponseDto {
    const access = this.accessTokens.issue(
      user,
      session.id,
      this.sessions.accessTokenLifetime(session),
    );
    return {
      access_token: access.token,
      token_type: 'Bearer',
      expires_in: access.expiresIn,
      refresh_token: refreshToken,
    };
  }
}
