import { registerAs } from '@nestjs/config';
import { Env, EnvReader } from './env-reader';

export interface RateLimitConfig {
  enabled: boolean;
  /** Window of the per-client limits, seconds. */
  window: number;
  signup: number;
  signin: number;
  refresh: number;
  /** Requests per client, and per user, to the routes that check the current password. */
  password: number;
  /** Requests per client to the routes that only write a mail: forgot password, resend. */
  email: number;
  /** Requests per client to the routes that spend a link from a mail. */
  link: number;
  /** Failed sign-ins allowed per account and client address within `failureWindow`. */
  signinFailures: number;
  failureWindow: number;
  /**
   * Failed sign-ins allowed per account from all addresses together within
   * `accountFailureWindow`: a ceiling on guessing spread over many addresses.
   */
  accountFailures: number;
  accountFailureWindow: number;
}

export function loadRateLimitConfig(env: Env): RateLimitConfig {
  const read = new EnvReader(env);
  return {
    enabled: read.boolean('RATE_LIMIT_ENABLED', true),
    window: read.duration('RATE_LIMIT_WINDOW', '1m', 1, 86400),
    signup: read.int('RATE_LIMIT_SIGNUP', 10, 1, 1_000_000),
    signin: read.int('RATE_LIMIT_SIGNIN', 30, 1, 1_000_000),
    refresh: read.int('RATE_LIMIT_REFRESH', 60, 1, 1_000_000),
    password: read.int('RATE_LIMIT_PASSWORD', 10, 1, 1_000_000),
    email: read.int('RATE_LIMIT_EMAIL', 5, 1, 1_000_000),
    link: read.int('RATE_LIMIT_LINK', 30, 1, 1_000_000),
    signinFailures: read.int('RATE_LIMIT_SIGNIN_FAILURES', 10, 1, 1_000_000),
    failureWindow: read.duration('RATE_LIMIT_SIGNIN_FAILURE_WINDOW', '15m', 1, 86400),
    accountFailures: read.int('RATE_LIMIT_ACCOUNT_FAILURES', 100, 1, 1_000_000),
    accountFailureWindow: read.duration('RATE_LIMIT_ACCOUNT_FAILURE_WINDOW', '1h', 1, 86400),
  };
}

export const rateLimitConfig = registerAs('rateLimit', () => loadRateLimitConfig(process.env));
