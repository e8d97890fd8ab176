import { createHash } from 'node:crypto';
import { Inject, Injectable, Optional } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type Redis from 'ioredis';
import { LRUCache } from 'lru-cache';
import { AppException } from '../../common/errors/app.exception';
import { rateLimitConfig } from '../../config/configuration';
import { REDIS } from '../../redis/redis.module';
import { limitsUnavailable } from './rate-limit';

/** The most times in a row a lock doubles: a lock lasts at most 2^(4-1) = 8 windows. */
const MAX_STRIKES = 4;
const MAX_LOCK_WINDOWS = 2 ** (MAX_STRIKES - 1);

interface Failures {
  count: number;
  /** When the current window (or lock) ends, ms since the epoch. */
  until: number;
  /** How many times in a row the limit was reached; each doubles the lock. */
  strikes: number;
}

/** Where failure records live: this process, or Redis when instances must count together. */
interface FailureStore {
  /**
   * In one atomic step: when `key` is locked, the milliseconds left of the lock; otherwise counts
   * the attempt as a failure (until a success clears it) and answers 0.
   */
  reserve(key: string, limit: number, windowMs: number): Promise<number>;
  /** Takes back one reservation (and the strike it may have added). */
  release(key: string, limit: number): Promise<void>;
  clear(key: string): Promise<void>;
}

/** Undoes one `nextRecord`: the rule of `release`, in both stores. */
function previousRecord(record: Failures, limit: number): Failures {
  return {
    count: Math.max(0, record.count - 1),
    until: record.until,
    strikes: record.count >= limit ? Math.max(0, record.strikes - 1) : record.strikes,
  };
}

/** Applies one failure to a record: the rule both stores follow (Redis in Lua, below). */
function nextRecord(record: Failures | undefined, now: number, limit: number, windowMs: number) {
  const current =
    record && now < record.until
      ? { ...record }
      : { count: 0, until: now + windowMs, strikes: record?.strikes ?? 0 };
  current.count += 1;
  if (current.count >= limit) {
    current.strikes = Math.min(current.strikes + 1, MAX_STRIKES);
    current.until = now + windowMs * 2 ** (current.strikes - 1);
  }
  return current;
}

class MemoryFailureStore implements FailureStore {
  private readonly failures = new LRUCache<string, Failures>({ max: 100_000 });

  reserve(key: string, limit: number, windowMs: number): Promise<number> {
    const now = Date.now();
    const record = this.failures.get(key);
    if (record && record.count >= limit && now < record.until) {
      return Promise.resolve(record.until - now);
    }
    const next = nextRecord(record, now, limit, windowMs);
    // Forgotten, strikes included, as long after the lock as in Redis.
    this.failures.set(key, next, { ttl: next.until + windowMs * MAX_LOCK_WINDOWS - now });
    return Promise.resolve(0);
  }

  release(key: string, limit: number): Promise<void> {
    const record = this.failures.get(key);
    if (record) {
      this.failures.set(key, previousRecord(record, limit), {
        ttl: this.failures.getRemainingTTL(key),
      });
    }
    return Promise.resolve();
  }

  clear(key: string): Promise<void> {
    this.failures.delete(key);
    return Promise.resolve();
  }
}

/** Redis' own clock, so that instances whose clocks differ still agree on when a lock ends. */
const REDIS_NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

const RELEASE = `local limit = tonumber(ARGV[1])
local r = redis.call('HMGET', KEYS[1], 'count', 'strikes')
local count = tonumber(r[1])
if not count then return 0 end
local strikes = tonumber(r[2]) or 0
if count >= limit and strikes > 0 then strikes = strikes - 1 end
redis.call('HSET', KEYS[1], 'count', math.max(0, count - 1), 'strikes', strikes)
return 0`;

/** `FailureStore.reserve` with `nextRecord`'s rule, atomic in Redis. */
const RESERVE = `${REDIS_NOW}
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local r = redis.call('HMGET', KEYS[1], 'count', 'until', 'strikes')
local count = tonumber(r[1]) or 0
local untilAt = tonumber(r[2]) or 0
local strikes = tonumber(r[3]) or 0
if count >= limit and now < untilAt then return untilAt - now end
if now >= untilAt then
  count = 0
  untilAt = now + window
end
count = count + 1
if count >= limit then
  strikes = math.min(strikes + 1, ${MAX_STRIKES})
  untilAt = now + window * 2 ^ (strikes - 1)
end
redis.call('HSET', KEYS[1], 'count', count, 'until', untilAt, 'strikes', strikes)
redis.call('PEXPIREAT', KEYS[1], untilAt + window * ${MAX_LOCK_WINDOWS})
return 0`;

class RedisFailureStore implements FailureStore {
  constructor(private readonly redis: Redis) {}

  async reserve(key: string, limit: number, windowMs: number): Promise<number> {
    return Number(await this.redis.eval(RESERVE, 1, RedisFailureStore.key(key), limit, windowMs));
  }

  async release(key: string, limit: number): Promise<void> {
    await this.redis.eval(RELEASE, 1, RedisFailureStore.key(key), limit);
  }

  async clear(key: string): Promise<void> {
    await this.redis.del(RedisFailureStore.key(key));
  }

  /** Hashed: Redis never holds an email address. */
  private static key(key: string): string {
    return `signin-failures:${createHash('sha256').update(key).digest('base64url')}`;
  }
}

/** A store operation whose failure (Redis unreachable) becomes a 503: the lock fails closed. */
async function shared<T>(operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch {
    throw limitsUnavailable();
  }
}

/**
 * Failed sign-ins per account *and client address*: after `RATE_LIMIT_SIGNIN_FAILURES` failures in
 * the window, that address may not try that account again until the lock ends, and each further
 * lock lasts twice as long (up to 8 windows). Keying by address too means an attacker locks only
 * themselves out: the owner, elsewhere, can still sign in. Each attempt counts as a failure the
 * moment it is allowed, in the same atomic step as the check, and a success clears the record: a
 * burst of concurrent guesses cannot all pass the check before the first failure is known. With
 * REDIS_URL the records are shared, so attempts count on every instance together.
 */
@Injectable()
export class FailedSigninLimiter {
  private readonly store: FailureStore;

  constructor(
    @Inject(rateLimitConfig.KEY) private readonly config: ConfigType<typeof rateLimitConfig>,
    @Optional() @Inject(REDIS) redis?: Redis,
  ) {
    this.store = redis ? new RedisFailureStore(redis) : new MemoryFailureStore();
  }

  /**
   * Runs one password check under the lock: refused while locked; otherwise counted as a failure
   * unless `check` succeeds (then the record is cleared). When `check` throws (the database failed,
   * not the password) the attempt is taken back, so that an outage never locks an owner out.
   */
  async guard<T>(
    account: string,
    ip: string | undefined,
    check: () => Promise<T | undefined>,
  ): Promise<T | undefined> {
    await this.reserveAttempt(account, ip);
    let result: T | undefined;
    try {
      result = await check();
    } catch (error) {
      await this.release(account, ip);
      throw error;
    }
    if (result !== undefined) {
      await this.recordSuccess(account, ip);
    }
    return result;
  }

  /** Lets an attempt through, counted as a failure until `recordSuccess`, or refuses it (429). */
  async reserveAttempt(account: string, ip: string | undefined): Promise<void> {
    if (!this.config.enabled) {
      return;
    }
    const left = await shared(
      this.store.reserve(
        FailedSigninLimiter.key(account, ip),
        this.config.signinFailures,
        this.config.failureWindow * 1000,
      ),
    );
    if (left > 0) {
      throw new AppException(
        'rate_limited',
        'Too many failed sign-ins for this account; try again later',
        { headers: { 'Retry-After': String(Math.ceil(left / 1000)) } },
      );
    }
  }

  /**
   * Takes back an attempt that ended neither in success nor in a wrong password (the database or
   * Redis failed): only wrong passwords may count towards the lock.
   */
  private async release(account: string, ip: string | undefined): Promise<void> {
    if (this.config.enabled) {
      await this.store
        .release(FailedSigninLimiter.key(account, ip), this.config.signinFailures)
        .catch(() => undefined); // the attempt has failed already; its error is the one to report
    }
  }

  async recordSuccess(account: string, ip: string | undefined): Promise<void> {
    if (this.config.enabled) {
      await shared(this.store.clear(FailedSigninLimiter.key(account, ip)));
    }
  }

  private static key(account: string, ip: string | undefined): string {
    return `${account}\n${ip ?? ''}`;
  }
}
