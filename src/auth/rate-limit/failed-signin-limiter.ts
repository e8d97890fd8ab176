import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { LRUCache } from 'lru-cache';
import { AppException } from '../../common/errors/app.exception';
import { rateLimitConfig } from '../../config/configuration';

interface Failures {
  count: number;
  /** When the current window (or lock) ends, ms since the epoch. */
  until: number;
  /** How many times in a row the limit was reached; each doubles the lock, up to 8x. */
  strikes: number;
}

/**
 * Failed sign-ins per account *and client address*: after `RATE_LIMIT_SIGNIN_FAILURES` failures in
 * the window, that address may not try that account again until the lock ends, and each further
 * lock lasts twice as long (up to 8 windows). Keying by address too means an attacker locks only
 * themselves out: the owner, elsewhere, can still sign in. A success clears the record.
 */
@Injectable()
export class FailedSigninLimiter {
  private readonly failures = new LRUCache<string, Failures>({ max: 100_000 });

  constructor(
    @Inject(rateLimitConfig.KEY) private readonly config: ConfigType<typeof rateLimitConfig>,
  ) {}

  assertAllowed(email: string, ip: string | undefined, now = Date.now()): void {
    const record = this.failures.get(FailedSigninLimiter.key(email, ip));
    if (
      this.config.enabled &&
      record &&
      record.count >= this.config.signinFailures &&
      now < record.until
    ) {
      throw new AppException(
        'rate_limited',
        'Too many failed sign-ins for this account; try again later',
        {
          headers: { 'Retry-After': String(Math.ceil((record.until - now) / 1000)) },
        },
      );
    }
  }

  recordFailure(email: string, ip: string | undefined, now = Date.now()): void {
    const key = FailedSigninLimiter.key(email, ip);
    const windowMs = this.config.failureWindow * 1000;
    const record = this.failures.get(key);
    const current =
      record && now < record.until
        ? record
        : { count: 0, until: now + windowMs, strikes: record?.strikes ?? 0 };
    current.count += 1;
    if (current.count >= this.config.signinFailures) {
      current.strikes = Math.min(current.strikes + 1, 4);
      current.until = now + windowMs * 2 ** (current.strikes - 1);
    }
    this.failures.set(key, current);
  }

  recordSuccess(email: string, ip: string | undefined): void {
    this.failures.delete(FailedSigninLimiter.key(email, ip));
  }

  private static key(email: string, ip: string | undefined): string {
    return `${email}\n${ip ?? ''}`;
  }
}
