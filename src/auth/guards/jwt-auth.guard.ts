import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { JsonWebTokenError } from 'jsonwebtoken';
import { AppException } from '../../common/errors/app.exception';
import { AccessTokenService } from '../tokens/access-token.service';
import { IS_PUBLIC } from '../decorators/public.decorator';

/**
 * The global guard: every route needs a valid access token unless it is marked `@Public()`.
 * Failures become problem responses with stable codes (the filter adds `WWW-Authenticate`).
 */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override canActivate(context: ExecutionContext) {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [
      context.getHandler(),
      context.getClass(),
    ]);
    return isPublic ? true : super.canActivate(context);
  }

  override handleRequest<TUser>(
    error: unknown,
    user: TUser | false,
    info: unknown,
    context: ExecutionContext,
  ): TUser {
    if (error instanceof AppException || error instanceof JsonWebTokenError) {
      throw AccessTokenService.toAppException(error);
    }
    if (error) {
      // A fault (e.g. the database is down) is not an authentication failure: it must not make
      // clients drop their tokens, so it stays a server error.
      throw error instanceof Error ? error : new Error('Authentication failed unexpectedly');
    }
    if (user) {
      return user;
    }
    const header = context.switchToHttp().getRequest<FastifyRequest>().headers.authorization;
    if (header === undefined || header.trim() === '') {
      throw new AppException(
        'token_missing',
        'This route needs an access token: send "Authorization: Bearer <access_token>"',
      );
    }
    if (info instanceof Error && info.name !== 'Error') {
      throw AccessTokenService.toAppException(info);
    }
    throw AppException.rejectedToken(
      'invalid_token',
      'The Authorization header must be "Bearer <access_token>"',
    );
  }
}
