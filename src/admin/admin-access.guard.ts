import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { AuthenticatedUser } from '../auth/authenticated-user';
import { MfaService } from '../auth/mfa/mfa.service';
import { AppException } from '../common/errors/app.exception';
import { authConfig } from '../config/configuration';
import { rolesOf } from '../users/user.entity';
import { UsersRepository } from '../users/users.repository';

export const ADMIN_ROLE = 'admin';

/**
 * The admin routes' rule, after the JWT guard: the caller holds the `admin` role, in the token and
 * still in the database (so taking the role away takes effect at once here); with an active second
 * factor the session used it (`aal2`, else 403 `mfa_step_up_required`); without one, ADMIN_REQUIRE_MFA
 * refuses (403 `mfa_enrollment_required`).
 */
@Injectable()
export class AdminAccessGuard implements CanActivate {
  constructor(
    private readonly users: UsersRepository,
    private readonly mfa: MfaService,
    @Inject(authConfig.KEY) private readonly config: ConfigType<typeof authConfig>,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const caller = context.switchToHttp().getRequest<{ user?: AuthenticatedUser }>().user;
    const stored =
      caller && caller.roles.includes(ADMIN_ROLE) && (await this.users.findById(caller.userId));
    if (!caller || !stored || !rolesOf(stored).includes(ADMIN_ROLE)) {
      throw new AppException('forbidden', 'This needs the role admin');
    }
    if (caller.aal === 'aal2') {
      return true;
    }
    if (await this.mfa.hasActiveFactor(caller.userId)) {
      throw new AppException(
        'mfa_step_up_required',
        'Admin routes need a session signed in with your second factor: sign in again with a code',
      );
    }
    if (this.config.adminRequireMfa) {
      throw new AppException(
        'mfa_enrollment_required',
        'Admin routes need a second factor (ADMIN_REQUIRE_MFA): enrol one at POST /mfa/totp/enroll, then sign in with it',
      );
    }
    return true;
  }
}
