import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { JsonWebTokenError } from 'jsonwebtoken';
import { AppException } from '../../common/errors/app.exception';
import { AccessTokenService } from '../tokens/access-token.service';
import { IS_PUBLIC } from '../decorators/public.decorator';
import { JwtStrategy } from '../strategies/jwt.strategy';

/**
 * The global guard: every route needs a valid access token unless it is marked `@Public()`.
 * Failures become problem responses with stable codes (the filter adds `WWW-Authenticate`).
 */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  /**
   * Whether each handler of each controller is `@Public()`, read from the metadata once. By class
   * first: a method one controller inherits from another is the same function in both.
   */
  private readonly publicHandlers = new WeakMap<object, WeakMap<object, boolean>>();

  constructor(
    private readonly reflector: Reflector,
    private readonly strategy: JwtStrategy,
  ) {
    super();
  }

  /**
   * A token the strategy has verified before is checked by the strategy directly (expiry, claims,
   * revocation); passport, and through it passport-jwt, verifies every other one. Both end in
   * `handleRequest`.
   */
  override canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (this.isPublic(context)) {
      return true;
    }
    const request = context.switchToHttp().getRequest<FastifyRequest & { user?: unknown }>();
    const cached = this.strategy.verifiedUser(request as never);
    if (cached === undefined) {
      return super.canActivate(context) as Promise<boolean>;
    }
    return cached.then(
      (user) => {
        request.user = this.handleRequest(null, user, undefined, context);
        return true;
      },
      (error: unknown) => this.handleRequest(error, false, undefined, context),
    );
  }

  private isPublic(context: ExecutionContext): boolean {
    const handler = context.getHandler();
    const controller = context.getClass();
    let handlers = this.publicHandlers.get(controller);
    if (handlers === undefined) {
      handlers = new WeakMap();
      this.publicHandlers.set(controller, handlers);
    }
    let isPublic = handlers.get(handler);
    if (isPublic === undefined) {
      isPublic =
        this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [handler, controller]) === true;
      handlers.set(handler, isPublic);
    }
    return isPublic;
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
