import { ExecutionContext, HttpException, Injectable, SetMetadata } from '@nestjs/common';
import { ThrottlerGuard, ThrottlerLimitDetail } from '@nestjs/throttler';
import type { RateLimitConfig } from '../../config/configuration';
import { AppException } from '../../common/errors/app.exception';
import { UNAVAILABLE_RETRY_AFTER } from '../../common/errors/retry-after';
import { clientKey } from './client-key';

/**
 * `password`: the routes that check the current password (POST /password, DELETE /me,
 * POST /email/change, and the second-factor enrolment and removal);
 * `email`: those that write a mail; `link`: those that spend a link from one.
 */
export type RateLimitedRoute = 'signup' | 'signin' | 'refresh' | 'password' | 'email' | 'link';
const RATE_LIMITED_ROUTE = 'rateLimitedRoute';

/** Limits a route per client address, by the `RATE_LIMIT_<ROUTE>` setting. */
export const RateLimit = (route: RateLimitedRoute) => SetMetadata(RATE_LIMITED_ROUTE, route);

export function routeOf(context: ExecutionContext): RateLimitedRoute | undefined {
  return Reflect.getMetadata(RATE_LIMITED_ROUTE, context.getHandler()) as
    RateLimitedRoute | undefined;
}

/**
 * The throttler's per-route limits and window, read from the configuration: per client on every
 * limited route, and on the password routes per user too, so that neither many clients on one
 * account nor one client on many accounts can keep Argon2 busy.
 */
export function throttlerOptions(config: RateLimitConfig) {
  return {
    throttlers: [
      {
        name: 'default',
        ttl: config.window * 1000,
        limit: (context: ExecutionContext) => config[routeOf(context) ?? 'signin'],
      },
      {
        name: 'user',
        ttl: config.window * 1000,
        limit: config.password,
        skipIf: (context: ExecutionContext) => routeOf(context) !== 'password',
        // These routes need an access token, checked by the global guard before this one.
        getTracker: (request: { user?: { userId?: string } }) => `user:${request.user?.userId}`,
      },
    ],
    skipIf: (context: ExecutionContext) => !config.enabled || routeOf(context) === undefined,
  };
}

/**
 * @nestjs/throttler's guard with the IETF `RateLimit-*` header names and our problem format:
 * 429 `rate_limited` with `Retry-After` in seconds.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  protected override headerPrefix = 'RateLimit';

  /** The client a limit counts against: its address, or its /64 for IPv6. */
  protected override getTracker(request: { ip?: string }): Promise<string> {
    return Promise.resolve(clientKey(request.ip));
  }

  /** When the shared counters (Redis) cannot be reached, refuse with 503 rather than not limit. */
  override async canActivate(context: ExecutionContext): Promise<boolean> {
    try {
      return await super.canActivate(context);
    } catch (error) {
      throw error instanceof HttpException ? error : limitsUnavailable();
    }
  }

  protected override throwThrottlingException(
    _context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    throw new AppException('rate_limited', 'Too many requests from this client; try again later', {
      headers: { 'Retry-After': String(Math.max(1, detail.timeToBlockExpire)) },
    });
  }
}

/** The answer while rate-limit counters cannot be read: the limits fail closed. */
export function limitsUnavailable(): AppException {
  return new AppException(
    'service_unavailable',
    'Rate limiting is unavailable at the moment; try again shortly',
    { headers: { 'Retry-After': UNAVAILABLE_RETRY_AFTER } },
  );
}
