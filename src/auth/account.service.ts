import { Injectable } from '@nestjs/common';
import { AppException } from '../common/errors/app.exception';
import { toUserResponse, UserResponseDto } from '../users/dto/user-response.dto';
import { UsersService } from '../users/users.service';
import type { AuthenticatedUser } from './authenticated-user';
import type { RevokeScope, SessionResponseDto } from './dto/account.dto';
import { PasswordHasher } from './passwords/password-hasher.service';
import { FailedSigninLimiter } from './rate-limit/failed-signin-limiter';
import { RevokedTokensService } from './revoked-tokens/revoked-tokens.service';
import { SessionsService } from './sessions/sessions.service';

/** The signed-in user's own account: profile, sessions, password, deletion. */
@Injectable()
export class AccountService {
  constructor(
    private readonly users: UsersService,
    private readonly passwords: PasswordHasher,
    private readonly sessions: SessionsService,
    private readonly revokedTokens: RevokedTokensService,
    private readonly failedChecks: FailedSigninLimiter,
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
    return sessions.map((session) => ({
      id: session.id,
      createdAt: session.createdAt.toISOString(),
      lastUsedAt: session.lastUsedAt.toISOString(),
      expiresAt: this.sessions.effectiveExpiry(session).toISOString(),
      userAgent: session.userAgent,
      ip: session.ip,
      current: session.id === caller.sessionId,
    }));
  }

  endSession(caller: AuthenticatedUser, sessionId: string): Promise<void> {
    return this.sessions.revokeOwned(caller.userId, sessionId);
  }

  /** POST /revoke: the calling session (the seed's meaning), the others, or all of them. */
  async revoke(caller: AuthenticatedUser, scope: RevokeScope = 'current'): Promise<void> {
    if (scope === 'others') {
      await this.sessions.revokeAll(caller.userId, 'logout', caller.sessionId);
      return;
    }
    await this.revokeCallerToken(caller);
    if (scope === 'all') {
      await this.sessions.revokeAll(caller.userId, 'logout');
    }
    await this.sessions.revoke(caller.sessionId, 'logout');
  }

  /** Checks the current password, stores the new one and ends every other session. */
  async changePassword(
    caller: AuthenticatedUser,
    currentPassword: string,
    newPassword: string,
    ip?: string,
  ): Promise<void> {
    await this.checkPassword(caller.userId, currentPassword, ip);
    await this.users.updatePasswordHash(caller.userId, await this.passwords.hash(newPassword));
    await this.sessions.revokeAll(caller.userId, 'password_changed', caller.sessionId);
  }

  /** Checks the password, ends every session and deletes the account; the email is free again. */
  async deleteAccount(caller: AuthenticatedUser, password: string, ip?: string): Promise<void> {
    await this.checkPassword(caller.userId, password, ip);
    await this.users.markDeleted(caller.userId);
    await this.revokeCallerToken(caller);
    await this.sessions.revokeAll(caller.userId, 'account_deleted');
  }

  /** One Argon2 verification, with the same per-account-and-address lock as sign-in. */
  private async checkPassword(userId: string, password: string, ip?: string): Promise<void> {
    const account = `user:${userId}`;
    const user = await this.failedChecks.guard(account, ip, async () => {
      const found = await this.users.findByIdWithPassword(userId);
      const valid = await this.passwords.verify(found?.passwordHash, password);
      return found && valid ? found : undefined;
    });
    if (!user) {
      throw new AppException('invalid_password', 'The password is incorrect');
    }
  }

  private async revokeCallerToken(caller: AuthenticatedUser): Promise<void> {
    await this.revokedTokens.revoke(
      { jti: caller.jti, sessionId: caller.sessionId, expiresAt: caller.expiresAt },
      'logout',
    );
  }
}
