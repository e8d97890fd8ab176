import {
  applyDecorators,
  CanActivate,
  ExecutionContext,
  Injectable,
  SetMetadata,
  UseGuards,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AppException } from '../../common/errors/app.exception';
import type { AuthenticatedUser } from '../authenticated-user';

const REQUIRED_ROLES = 'requiredRoles';

/** A role name: lower-case letters, digits, `_`, `-` and `.`, starting with a letter. */
export const ROLE_PATTERN = /^[a-z][a-z0-9_.-]{0,31}$/;

/**
 * Admits the caller only when their access token names every role `@Roles` lists; 403
 * `forbidden` otherwise. Runs after the global JWT guard, which has put the caller on the request.
 */
@Injectable()
export class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const required =
      this.reflector.getAllAndOverride<string[] | undefined>(REQUIRED_ROLES, [
        context.getHandler(),
        context.getClass(),
      ]) ?? [];
    const caller = context.switchToHttp().getRequest<{ user?: AuthenticatedUser }>().user;
    const held = caller?.roles ?? [];
    if (!required.every((role) => held.includes(role))) {
      throw new AppException(
        'forbidden',
        `This needs the role${required.length > 1 ? 's' : ''} ${required.join(', ')}`,
      );
    }
    return true;
  }
}

/**
 * For routes of this service and of services built on it: only callers whose token carries every
 * listed role get through. Roles come from the access token, so a change takes effect at the
 * user's next refresh.
 */
export const Roles = (...roles: string[]) =>
  applyDecorators(SetMetadata(REQUIRED_ROLES, roles), UseGuards(RolesGuard));
