import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { AppException } from '../common/errors/app.exception';
import { authConfig } from '../config/configuration';
import { Transactions } from '../database/transactions';
import { toUserResponse, UserResponseDto } from '../users/dto/user-response.dto';
import { UsersRepository } from '../users/users.repository';
import { UsersService } from '../users/users.service';
import type { ClientInfo } from './decorators/client-info.decorator';
import type { SignInDto, SignUpDto } from './dto/credentials.dto';
import type { TokenPairResponseDto } from './dto/token-pair-response.dto';
import { Credentials } from './passwords/credentials';
import { PasswordHasher } from './passwords/password-hasher.service';
import { FailedSigninLimiter } from './rate-limit/failed-signin-limiter';
import { RevokedTokensService } from './revoked-tokens/revoked-tokens.service';
import { SessionsService, SessionWithToken } from './sessions/sessions.service';
import type { User } from '../users/user.entity';
import { AuditLog } from '../audit/audit-log.service';
import { EmailFlowsService } from './email/email-flows.service';
import { MfaService, SecondStep } from './mfa/mfa.service';
import { AccessTokenService, subjectOf } from './tokens/access-token.service';
import { looksLikeJwt, parseRefreshToken } from './tokens/refresh-tokens';
import { TokenPairs } from './tokens/token-pairs';

const INVALID_CREDENTIALS = 'The email or password is incorrect';

@Injectable()
export class AuthService {
  private readonly logger = new Logger(AuthService.name);

  constructor(
    private readonly users: UsersService,
    private readonly userRows: UsersRepository,
    private readonly passwords: PasswordHasher,
    private readonly credentials: Credentials,
    private readonly sessions: SessionsService,
    private readonly revokedTokens: RevokedTokensService,
    private readonly accessTokens: AccessTokenService,
    private readonly tokenPairs: TokenPairs,
    private readonly failedSignins: FailedSigninLimiter,
    private readonly transactions: Transactions,
    private readonly emailFlows: EmailFlowsService,
    private readonly mfa: MfaService,
    private readonly audit: AuditLog,
    @Inject(authConfig.KEY) private readonly config: ConfigType<typeof authConfig>,
  ) {}

  /** Stores the account and, in the same transaction, its verification mail. */
  async signUp(dto: SignUpDto, client: ClientInfo = {}): Promise<UserResponseDto> {
    const passwordHash = await this.passwords.hash(dto.password);
    const user = await this.transactions.run(async (tx) => {
      const created = await this.users.create(dto.email, passwordHash, tx);
      await this.emailFlows.enqueue(this.emailFlows.verificationMail(created), tx);
      await this.audit.record('signup', { userId: created.id, client }, tx);
      return created;
    });
    this.emailFlows.sent();
    return toUserResponse(user);
  }

  /**
   * Checks the password (an unknown email costs the same hashing as a wrong password and gets the
   * same answer), then opens a session, provided the password is still the account's when the
   * session is written.
   */
  async signIn(dto: SignInDto, client: ClientInfo): Promise<TokenPairResponseDto> {
    let knownId: string | undefined;
    const user = await this.failedSignins
      .guard(
        dto.email,
        client.ip,
        async () => {
          const found = await this.userRows.findByEmailWithPassword(dto.email);
          knownId = found?.id;
          const valid = await this.passwords.verify(found?.passwordHash, dto.password);
          return found && valid ? found : undefined;
        },
        async (found) => !(await this.mfa.hasActiveFactor(found.id)),
      )
      .catch(async (error: unknown) => {
        if (error instanceof AppException && error.code === 'rate_limited') {
          const locked = await this.userRows.findIdByEmail(dto.email);
          await this.audit.record('signin.locked', {
            userId: locked?.id,
            client,
            outcome: 'failure',
          });
        }
        throw error;
      });
    if (!user) {
      // One row whether or not the address has an account: the same work either way.
      await this.audit.record('signin.failure', {
        userId: knownId,
        client,
        outcome: 'failure',
        details: { reason: 'invalid_credentials' },
      });
      throw new AppException('invalid_credentials', INVALID_CREDENTIALS);
    }
    await this.auditingDisabled(user.id, client, () => this.users.assertEnabled(user));
    if (user.emailVerifiedAt === null && this.emailFlows.verificationRequired) {
      // Only whoever knows the password learns this; they get a fresh link (one a minute at most).
      await this.transactions.run((tx) =>
        this.emailFlows.enqueue(this.emailFlows.verificationMail(user), tx),
      );
      this.emailFlows.sent();
      await this.audit.record('signin.failure', {
        userId: user.id,
        client,
        outcome: 'failure',
        details: { reason: 'email_not_verified' },
      });
      throw new AppException(
        'email_not_verified',
        'Confirm your email address first: open the link in the mail we sent you (a new one is on its way)',
      );
    }
    const rehashed = this.passwords.needsRehash(user.passwordHash)
      ? await this.passwords.hash(dto.password)
      : undefined;
    const outcome = await this.auditingDisabled(user.id, client, () =>
      this.openSessionOrChallenge(user, dto.password, client),
    );
    if (rehashed) {
      // Only over the hash just verified: never over one that a password change wrote since. Best
      // effort: the session is open, and the next sign-in tries again.
      await this.userRows
        .replacePasswordHash(user.id, user.passwordHash, rehashed)
        .catch((error: Error) => this.logger.warn(`Re-hash skipped (${error.name})`));
    }
    if (outcome.next === 'mfa') {
      throw new AppException(
        'mfa_required',
        'The password is right; now send a code from the authenticator app (or a recovery code) with this mfa_token to POST /signin/mfa',
        { extensions: { mfa_token: outcome.mfaToken }, headers: { 'Cache-Control': 'no-store' } },
      );
    }
    return this.tokenPairs.issue(subjectOf(user), outcome.opened);
  }

  /**
   * Inside one transaction with the account locked: the password is still the account's and the
   * account not disabled, then a session opens, or with a second factor only its challenge.
   */
  private openSessionOrChallenge(
    user: User,
    password: string,
    client: ClientInfo,
  ): Promise<{ next: 'mfa'; mfaToken: string } | { next: 'session'; opened: SessionWithToken }> {
    return this.transactions.run(async (tx) => {
      if (!(await this.credentials.lockForSignIn(user.id, user.passwordHash, password, tx))) {
        // Changed (or deleted) while this password was being checked: it is no longer valid.
        throw new AppException('invalid_credentials', INVALID_CREDENTIALS);
      }
      // With a second factor the password opens no session yet, only the second step.
      const mfaToken = await this.mfa.challengeFor(user.id, tx);
      if (mfaToken) {
        return { next: 'mfa' as const, mfaToken };
      }
      const opened = await this.sessions.open(user.id, client, tx);
      await this.audit.record(
        'signin.success',
        { userId: user.id, client, details: { sessionId: opened.session.id, amr: 'pwd' } },
        tx,
      );
      return { next: 'session' as const, opened };
    });
  }

  /** Runs `step`; a refusal for a disabled account is recorded as a failed sign-in. */
  private async auditingDisabled<T>(
    userId: string,
    client: ClientInfo,
    step: () => T | Promise<T>,
  ): Promise<T> {
    try {
      return await step();
    } catch (error) {
      if (error instanceof AppException && error.code === 'account_disabled') {
        await this.audit.record('signin.failure', {
          userId,
          client,
          outcome: 'failure',
          details: { reason: 'account_disabled' },
        });
      }
      throw error;
    }
  }

  /** POST /signin/mfa: the second step; the pair of an `aal2` session. */
  async signInWithSecondFactor(
    mfaToken: string,
    answer: SecondStep,
    client: ClientInfo,
  ): Promise<TokenPairResponseDto> {
    const opened = await this.mfa.completeSignIn(mfaToken, answer, client);
    return this.tokenPairs.issue(subjectOf(opened.user), opened);
  }

  /**
   * Exchanges a refresh token (rotating it) or, for the seed's workflow, a valid access token
   * (spending it) for a new pair in the same session.
   */
  async refresh(credential: string, client: ClientInfo = {}): Promise<TokenPairResponseDto> {
    if (looksLikeJwt(credential)) {
      return this.exchangeAccessToken(credential);
    }
    const rotated = await this.sessions.rotate(credential).catch(async (error: unknown) => {
      if (error instanceof AppException && error.code === 'refresh_token_reused') {
        await this.recordReuse(parseRefreshToken(credential)?.sessionId, client);
      }
      throw error;
    });
    const user = await this.users.findById(rotated.session.userId);
    if (!user) {
      throw AppException.rejectedToken('session_revoked', 'The session no longer exists');
    }
    await this.audit.record('refresh', {
      userId: user.id,
      client,
      details: { sessionId: rotated.session.id },
    });
    return this.tokenPairs.issue(subjectOf(user), rotated);
  }

  /** A spent refresh token came back and its session was revoked: who, and which session. */
  private async recordReuse(sessionId: string | undefined, client: ClientInfo): Promise<void> {
    const userId = sessionId === undefined ? undefined : await this.sessions.ownerOf(sessionId);
    await this.audit.record('refresh.reuse_detected', {
      userId,
      client,
      outcome: 'failure',
      details: sessionId === undefined ? {} : { sessionId },
    });
  }

  /**
   * Spends the access token and restarts its session's refresh-token chain, in one unit of work
   * with the session locked: of two exchanges of one token, exactly one succeeds, and the other
   * counts as reuse.
   */
  private async exchangeAccessToken(token: string): Promise<TokenPairResponseDto> {
    if (!this.config.refreshAcceptsAccessToken) {
      throw AppException.rejectedToken(
        'invalid_refresh_token',
        'Send the refresh token from /signin; access tokens are not accepted here',
      );
    }
    const claims = this.accessTokens.verify(token);
    const exchanged = await this.transactions.run(async (tx) => {
      const session = await this.sessions.lockActive(claims.sid, tx);
      const previous = await this.revokedTokens.findByJti(claims.jti, tx);
      if (previous) {
        return { spentBefore: previous.reason };
      }
      await this.revokedTokens.revoke(
        { jti: claims.jti, sessionId: claims.sid, expiresAt: new Date(claims.exp * 1000) },
        'exchanged',
        tx,
      );
      return { restarted: await this.sessions.restartChain(session, tx) };
    });
    if (exchanged.restarted) {
      const user = await this.users.findById(claims.sub);
      if (!user) {
        throw AppException.rejectedToken('session_revoked', 'The session no longer exists');
      }
      return this.tokenPairs.issue(subjectOf(user), exchanged.restarted);
    }
    if (exchanged.spentBefore === 'exchanged') {
      await this.sessions.revoke(claims.sid, 'reuse_detected');
      throw AppException.rejectedToken(
        'refresh_token_reused',
        'This access token was already exchanged; the session has been revoked',
      );
    }
    throw AppException.rejectedToken('token_revoked', 'The access token has been revoked');
  }
}
