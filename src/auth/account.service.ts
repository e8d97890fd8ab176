import { Injectable } from '@nestjs/common';
import { AppException } from '../common/errors/app.exception';
import { Transaction, Transactions } from '../database/transactions';
import { toUserResponse, UserResponseDto } from '../users/dto/user-response.dto';
import { UsersRepository } from '../users/users.repository';
import { UsersService } from '../users/users.service';
import type { AuthenticatedUser } from './authenticated-user';
import type { ClientInfo } from './decorators/client-info.decorator';
import { toSessionResponse, type RevokeScope, type SessionResponseDto } from './dto/account.dto';
import type { PasswordChangedResponseDto } from './dto/token-pair-response.dto';
import { EmailFlowsService } from './email/email-flows.service';
import { AuditLog } from '../audit/audit-log.service';
import { MfaService } from './mfa/mfa.service';
import { Credentials } from './passwords/credentials';
import { PasswordHasher } from './passwords/password-hasher.service';
import { RevokedTokensService } from './revoked-tokens/revoked-tokens.service';
import { SessionsService } from './sessions/sessions.service';
import { subjectOf } from './tokens/access-token.service';
import { TokenPairs } from './tokens/token-pairs';

/**
 * A session's times as listed, cut to the minute: whoever holds a copy of a refresh token must not
 * learn from the list the moment the owner refreshed, to refresh right after inside the grace
 * window every time.
 */
/**
 * The signed-in user's own account: profile, sessions, password, deletion. Every operation that
 * writes several rows is one unit of work.
 */
@Injectable()
export class AccountService {
  constructor(
    private readonly users: UsersService,
    private readonly userRows: UsersRepository,
    private readonly passwords: PasswordHasher,
    private readonly credentials: Credentials,
    private readonly sessions: SessionsService,
    private readonly revokedTokens: RevokedTokensService,
    private readonly tokenPairs: TokenPairs,
    private readonly transactions: Transactions,
    private readonly emailFlows: EmailFlowsService,
    private readonly mfa: MfaService,
    private readonly audit: AuditLog,
  ) {}

  async me(caller: AuthenticatedUser): Promise<UserResponseDto> {
    const user = await this.users.findById(caller.userId);
    if (!user) {
      throw AppException.rejectedToken('session_revoked', 'The account no longer exists');
    }
    return toUserResponse(user);
  }

  async listSessions(caller: AuthenticatedUser): Promise<SessionResponseDto[]> {
    const sessions = await this.sessions.listActive(caller.userId);
    return sessions.map((session) =>
      toSessionResponse(session, this.sessions.effectiveExpiry(session), caller.sessionId),
    );
  }

  async endSession(
    caller: AuthenticatedUser,
    sessionId: string,
    client: ClientInfo = {},
  ): Promise<void> {
    await this.sessions.endOwned(caller.userId, sessionId);
    await this.audit.record('session.ended', {
      userId: caller.userId,
      client,
      details: { sessionId },
    });
  }

  /** POST /revoke: the calling session (the seed's meaning), the others, or all of them. */
  async revoke(
    caller: AuthenticatedUser,
    scope: RevokeScope = 'current',
    client: ClientInfo = {},
  ): Promise<void> {
    await this.transactions.run(async (tx) => {
      await this.audit.record(
        'revoke',
        { userId: caller.userId, client, details: { scope, sessionId: caller.sessionId } },
        tx,
      );
      if (scope !== 'current') {
        // Credentials first, as in every unit that ends all of a user's sessions: one lock order.
        await this.users.lockCredentials(caller.userId, tx);
      }
      if (scope === 'others') {
        await this.sessions.revokeAll(caller.userId, 'logout', tx, caller.sessionId);
        return;
      }
      await this.revokedTokens.revoke(this.callerToken(caller), 'logout', tx);
      if (scope === 'all') {
        await this.sessions.revokeAll(caller.userId, 'logout', tx);
      } else {
        await this.sessions.revoke(caller.sessionId, 'logout', tx);
      }
    });
  }

  /**
   * Checks the current password, stores the new one, ends every session of the account (the
   * caller's too: whoever shares it is cut off) and opens a new one for the caller, all in one
   * unit of work. A sign-in that checked the old password and has not written its session yet
   * fails; one that has is ended with the rest.
   */
  async changePassword(
    caller: AuthenticatedUser,
    currentPassword: string,
    newPassword: string,
    client: ClientInfo,
  ): Promise<PasswordChangedResponseDto> {
    if (newPassword === currentPassword) {
      // Refused before any hashing: the request costs no Argon2 work.
      throw new AppException(
        'password_unchanged',
        'The new password must differ from the current one',
      );
    }
    await this.mfa.requireStepUp(caller);
    const verifiedHash = await this.checkPassword(caller.userId, currentPassword, client.ip);
    const newHash = await this.passwords.hash(newPassword);
    const opened = await this.transactions.run(async (tx) => {
      await this.lockStillValid(caller.userId, verifiedHash, currentPassword, tx);
      await this.mfa.requireStepUp(caller, tx);
      // The caller's session must still be open: one ended meanwhile (a factor enabled, a logout)
      // cannot hand its successor a new one.
      await this.sessions.lockActive(caller.sessionId, tx);
      await this.userRows.updatePasswordHash(caller.userId, newHash, tx);
      await this.sessions.revokeAll(caller.userId, 'password_changed', tx);
      await this.emailFlows.passwordChanged(caller.userId, tx);
      await this.audit.record('password.changed', { userId: caller.userId, client }, tx);
      await this.mfa.endChallenges(caller.userId, tx);
      const user = await this.userRows.lockAccount(caller.userId, tx);
      // The new session continues the caller's, at the level the caller signed in with.
      const level = { aal: caller.aal, amr: caller.amr };
      return { session: await this.sessions.open(caller.userId, client, tx, level), user: user! };
    });
    return {
      message: 'Password has been changed; every session has been ended and this new one opened',
      ...this.tokenPairs.issue(subjectOf(opened.user), opened.session),
    };
  }

  /** Checks the password, ends every session and deletes the account; the email is free again. */
  async deleteAccount(
    caller: AuthenticatedUser,
    password: string,
    client: ClientInfo = {},
  ): Promise<void> {
    const ip = client.ip;
    await this.mfa.requireStepUp(caller);
    const verifiedHash = await this.checkPassword(caller.userId, password, ip);
    await this.transactions.run(async (tx) => {
      await this.lockStillValid(caller.userId, verifiedHash, password, tx);
      await this.mfa.requireStepUp(caller, tx);
      await this.users.markDeleted(caller.userId, tx);
      await this.audit.record('account.deleted', { userId: caller.userId, client }, tx);
      await this.revokedTokens.revoke(this.callerToken(caller), 'logout', tx);
      await this.sessions.revokeAll(caller.userId, 'account_deleted', tx);
    });
  }

  /**
   * POST /email/change: checks the password, then writes the confirmation link's mail to the new
   * address and a notice to the current one. Nothing changes until the link is spent.
   */
  async requestEmailChange(
    caller: AuthenticatedUser,
    newEmail: string,
    password: string,
    client: ClientInfo = {},
  ): Promise<void> {
    const ip = client.ip;
    this.emailFlows.ensureEnabled();
    const user = await this.me(caller);
    if (newEmail === user.email) {
      throw new AppException('email_unchanged', 'The new address is the current one');
    }
    await this.mfa.requireStepUp(caller);
    const verifiedHash = await this.checkPassword(caller.userId, password, ip);
    if (await this.userRows.findIdByEmail(newEmail)) {
      throw new AppException('email_taken', 'An account with this email already exists');
    }
    await this.transactions.run(async (tx) => {
      await this.lockStillValid(caller.userId, verifiedHash, password, tx);
      await this.mfa.requireStepUp(caller, tx);
      await this.emailFlows.enqueue(
        this.emailFlows.changeMails(user, newEmail, caller.sessionId),
        tx,
      );
      await this.audit.record('email.change_requested', { userId: caller.userId, client }, tx);
    });
    this.emailFlows.sent();
  }

  private checkPassword(userId: string, password: string, ip?: string): Promise<string> {
    return this.credentials.checkCurrent(userId, password, ip);
  }

  private lockStillValid(
    userId: string,
    verifiedHash: string,
    password: string,
    tx: Transaction,
  ): Promise<void> {
    return this.credentials.lockUnchanged(userId, verifiedHash, password, tx);
  }

  private callerToken(caller: AuthenticatedUser) {
    return { jti: caller.jti, sessionId: caller.sessionId, expiresAt: caller.expiresAt };
  }
}
