import { randomBytes, timingSafeEqual } from 'node:crypto';
import {
  CallHandler,
  ExecutionContext,
  Inject,
  Injectable,
  NestInterceptor,
  UseInterceptors,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { parse, serialize, SerializeOptions } from 'cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { map, Observable } from 'rxjs';
import { Clock } from '../../common/clock/clock';
import { AppException } from '../../common/errors/app.exception';
import { httpConfig } from '../../config/configuration';
import type { TokenPairResponseDto } from '../dto/token-pair-response.dto';

/** The refresh token's cookie: `__Secure-` makes browsers refuse it without `Secure`. */
export const REFRESH_COOKIE = '__Secure-refresh_token';
/** The double-submit token, readable by the page's scripts, echoed in `X-CSRF-Token`. */
export const CSRF_COOKIE = 'csrf_token';
export const CSRF_HEADER = 'x-csrf-token';

const REFRESH_COOKIE_OPTIONS: SerializeOptions = {
  httpOnly: true,
  secure: true,
  sameSite: 'strict',
  // Sent to POST /refresh only: no other route ever sees the refresh token.
  path: '/refresh',
};
const CSRF_COOKIE_OPTIONS: SerializeOptions = { secure: true, sameSite: 'strict', path: '/' };

/** Whether two strings are equal, in time that depends on their length only. */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  // Compared against itself when the lengths differ, so the time does not tell how much matched.
  return (
    timingSafeEqual(left, left.length === right.length ? right : left) &&
    left.length === right.length
  );
}

/**
 * Refresh tokens for browser apps (TOKEN_DELIVERY=cookie or both): set as an HttpOnly cookie that
 * only POST /refresh receives, beside a `csrf_token` cookie that the page echoes in `X-CSRF-Token`
 * (double submit). A refresh by cookie is accepted only with that header, and only from an origin
 * of CORS_ORIGINS when the request names one: another site can make the browser send the cookie,
 * but can neither read the CSRF cookie nor choose the Origin header.
 */
@Injectable()
export class TokenCookies {
  private readonly sessionExpiries = new WeakMap<object, Date>();

  constructor(
    @Inject(httpConfig.KEY) private readonly config: ConfigType<typeof httpConfig>,
    private readonly clock: Clock,
  ) {}

  get enabled(): boolean {
    return this.config.tokenDelivery !== 'body';
  }

  /** Remembers when the session of a pair just issued ends, for the cookies' Max-Age. */
  noteExpiry(pair: TokenPairResponseDto, sessionExpiresAt: Date): void {
    this.sessionExpiries.set(pair, sessionExpiresAt);
  }

  /**
   * Sets both cookies for a pair just issued; with `cookie`, the body no longer carries the
   * refresh token. Does nothing with `body`.
   */
  deliver<T extends TokenPairResponseDto>(reply: FastifyReply, pair: T): T {
    if (!this.enabled) {
      return pair;
    }
    const expiresAt = this.sessionExpiries.get(pair);
    const maxAge = Math.max(
      1,
      Math.floor(((expiresAt?.getTime() ?? this.clock.nowMs()) - this.clock.nowMs()) / 1000),
    );
    reply.header('Set-Cookie', [
      serialize(REFRESH_COOKIE, pair.refresh_token, { ...REFRESH_COOKIE_OPTIONS, maxAge }),
      serialize(CSRF_COOKIE, randomBytes(32).toString('base64url'), {
        ...CSRF_COOKIE_OPTIONS,
        maxAge,
      }),
    ]);
    if (this.config.tokenDelivery === 'cookie') {
      const { refresh_token: _sent, ...body } = pair;
      return body as T;
    }
    return pair;
  }

  /** Clears both cookies (at logout). */
  clear(reply: FastifyReply): void {
    if (this.enabled) {
      reply.header('Set-Cookie', [
        serialize(REFRESH_COOKIE, '', { ...REFRESH_COOKIE_OPTIONS, maxAge: 0 }),
        serialize(CSRF_COOKIE, '', { ...CSRF_COOKIE_OPTIONS, maxAge: 0 }),
      ]);
    }
  }

  /**
   * The refresh token of the request's cookie, once the CSRF checks pass (403 `csrf_failed`
   * otherwise); undefined without one (or with cookie delivery off).
   */
  fromCookie(request: FastifyRequest): string | undefined {
    const header = request.headers.cookie;
    if (!this.enabled || header === undefined) {
      return undefined;
    }
    const cookies = parse(header);
    const token = cookies[REFRESH_COOKIE];
    if (!token) {
      return undefined;
    }
    const origin = request.headers.origin;
    if (origin !== undefined && !this.config.corsOrigins.includes(origin)) {
      throw csrfFailed('this origin is not allowed to refresh (CORS_ORIGINS)');
    }
    const sent = request.headers[CSRF_HEADER];
    const expected = cookies[CSRF_COOKIE];
    if (typeof sent !== 'string' || !expected || !constantTimeEqual(sent, expected)) {
      throw csrfFailed("send the csrf_token cookie's value in the X-CSRF-Token header");
    }
    return token;
  }
}

function csrfFailed(detail: string): AppException {
  return new AppException('csrf_failed', `Refresh by cookie refused: ${detail}`);
}

/** Delivers the pair a route answers with as TokenCookies says (see `DeliversTokens`). */
@Injectable()
export class TokenDeliveryInterceptor implements NestInterceptor {
  constructor(private readonly cookies: TokenCookies) {}

  intercept(
    context: ExecutionContext,
    next: CallHandler<TokenPairResponseDto>,
  ): Observable<unknown> {
    if (!this.cookies.enabled) {
      return next.handle();
    }
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    return next.handle().pipe(map((pair) => this.cookies.deliver(reply, pair)));
  }
}

/** On a route that issues a refresh token: with cookie delivery on, it is set as a cookie too. */
export const DeliversTokens = () => UseInterceptors(TokenDeliveryInterceptor);
