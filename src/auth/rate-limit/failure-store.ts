import { createHash } from 'node:crypto';
import type Redis from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { Clock } from '../../common/clock/clock';

/** The most times in a row a lock doubles: a lock lasts at most 2^(4-1) = 8 windows. */
export const MAX_STRIKES = 4;
const MAX_LOCK_WINDOWS = 2 ** (MAX_STRIKES - 1);

interface Failures {
  count: number;
  /** When the current window (or lock) ends, ms since the epoch. */
  until: number;
  /** How many times in a row the limit was reached; each doubles the lock. */
  strikes: number;
}

/**
 * Where failure records live: this process (embedded mode), or Redis when instances must count
 * together. Chosen once, by AuthModule's provider.
 */
export abstract class FailureStore {
  /**
   * In one atomic step: when `key` is locked, the milliseconds left of the lock; otherwise counts
   * the attempt as a failure (until a success clears it) and answers 0. Each lock in a row lasts
   * twice as long as the one before, `maxStrikes` times at most (1: every lock lasts one window).
   */
  abstract reserve(
    key: string,
    limit: number,
    windowMs: number,
    maxStrikes?: number,
  ): Promise<number>;
  /** Takes back one reservation (and the strike it may have added). */
  abstract release(key: string, limit: number): Promise<void>;
  abstract clear(key: string): Promise<void>;
  /**
   * The records of `account`, every address's and the account-wide one (keys are
   * `<account>\n<scope>`, the account-wide scope `*`), for an operator's view: whether each is
   * locked now, and until when.
   */
  abstract locksOf(account: string, limits: LockLimits): Promise<LockRecord[]>;
  /** Forgets every record of `account`: the locks of every address and the account-wide one. */
  abstract clearAccount(account: string): Promise<void>;
}

/** How many failures lock: per address, and over all addresses. */
export interface LockLimits {
  perAddress: number;
  accountWide: number;
}

export interface LockRecord {
  accountWide: boolean;
  /** When the lock ends, ms since the epoch; only records locked now are listed. */
  until: number;
}

/** The account a key belongs to: everything before its last line break (see `locksOf`). */
const accountOf = (key: string): string => key.slice(0, key.lastIndexOf('\n'));
const scopeOf = (key: string): string => key.slice(key.lastIndexOf('\n') + 1);
const ACCOUNT_WIDE = '*';

/** Undoes one `nextRecord`: the rule of `release`, in both stores. */
export function previousRecord(record: Failures, limit: number): Failures {
  return {
    count: Math.max(0, record.count - 1),
    until: record.until,
    strikes: record.count >= limit ? Math.max(0, record.strikes - 1) : record.strikes,
  };
}

/** Applies one failure to a record: the rule both stores follow (Redis in Lua, below). */
export function nextRecord(
  record: Failures | undefined,
  now: number,
  limit: number,
  windowMs: number,
  maxStrikes = MAX_STRIKES,
) {
  const current =
    record && now < record.until
      ? { ...record }
      : { count: 0, until: now + windowMs, strikes: record?.strikes ?? 0 };
  current.count += 1;
  if (current.count >= limit) {
    current.strikes = Math.min(current.strikes + 1, maxStrikes);
    current.until = now + windowMs * 2 ** (current.strikes - 1);
  }
  return current;
}

/** How many accounts-and-addresses the in-memory store remembers; the least recent go first. */
const MEMORY_STORE_SIZE = 100_000;

export class MemoryFailureStore extends FailureStore {
  private readonly failures: LRUCache<string, Failures>;

  constructor(private readonly clock: Clock) {
    super();
    // Records expire on the same clock as the locks they hold.
    this.failures = new LRUCache({
      max: MEMORY_STORE_SIZE,
      perf: { now: () => clock.nowMs() },
      ttlResolution: 0,
    });
  }

  reserve(key: string, limit: number, windowMs: number, maxStrikes = MAX_STRIKES): Promise<number> {
    const now = this.clock.nowMs();
    const record = this.failures.get(key);
    if (record && record.count >= limit && now < record.until) {
      return Promise.resolve(record.until - now);
    }
    const next = nextRecord(record, now, limit, windowMs, maxStrikes);
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

  locksOf(account: string, limits: LockLimits): Promise<LockRecord[]> {
    const now = this.clock.nowMs();
    const locks: LockRecord[] = [];
    for (const [key, record] of this.failures.entries()) {
      const accountWide = scopeOf(key) === ACCOUNT_WIDE;
      const limit = accountWide ? limits.accountWide : limits.perAddress;
      if (accountOf(key) === account && record.count >= limit && now < record.until) {
        locks.push({ accountWide, until: record.until });
      }
    }
    return Promise.resolve(locks);
  }

  clearAccount(account: string): Promise<void> {
    for (const key of [...this.failures.keys()]) {
      if (accountOf(key) === account) {
        this.failures.delete(key);
      }
    }
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
local maxStrikes = tonumber(ARGV[3])
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
  strikes = math.min(strikes + 1, maxStrikes)
  untilAt = now + window * 2 ^ (strikes - 1)
end
redis.call('HSET', KEYS[1], 'count', count, 'until', untilAt, 'strikes', strikes)
redis.call('PEXPIREAT', KEYS[1], untilAt + window * ${MAX_LOCK_WINDOWS})
return 0`;

export class RedisFailureStore extends FailureStore {
  constructor(private readonly redis: Redis) {
    super();
  }

  async reserve(
    key: string,
    limit: number,
    windowMs: number,
    maxStrikes = MAX_STRIKES,
  ): Promise<number> {
    return Number(
      await this.redis.eval(RESERVE, 1, RedisFailureStore.key(key), limit, windowMs, maxStrikes),
    );
  }

  async release(key: string, limit: number): Promise<void> {
    await this.redis.eval(RELEASE, 1, RedisFailureStore.key(key), limit);
  }

  async clear(key: string): Promise<void> {
    await this.redis.del(RedisFailureStore.key(key));
  }

  async locksOf(account: string, limits: LockLimits): Promise<LockRecord[]> {
    const keys = await this.keysOf(account);
    const [seconds, micros] = await this.redis.time();
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const wide = RedisFailureStore.key(`${account}\n${ACCOUNT_WIDE}`);
    const locks: LockRecord[] = [];
    for (const key of keys) {
      const [count, until] = await this.redis.hmget(key, 'count', 'until');
      const limit = key === wide ? limits.accountWide : limits.perAddress;
      if (Number(count) >= limit && now < Number(until)) {
        locks.push({ accountWide: key === wide, until: Number(until) });
      }
    }
    return locks;
  }

  async clearAccount(account: string): Promise<void> {
    const keys = await this.keysOf(account);
    if (keys.length > 0) {
      await this.redis.del(...keys);
    }
  }

  /**
   * The keys of an account's records, without the client's key prefix (which ioredis adds to
   * every command but SCAN's pattern). One SCAN over the keyspace: for operators, not requests.
   */
  private async keysOf(account: string): Promise<string[]> {
    const prefix = this.redis.options.keyPrefix ?? '';
    const found = new Set<string>();
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(
        cursor,
        'MATCH',
        `${prefix}signin-failures:${digest(account)}:*`,
        'COUNT',
        1000,
      );
      keys.forEach((key) => found.add(key.slice(prefix.length)));
      cursor = next;
    } while (cursor !== '0');
    return [...found];
  }

  /**
   * Hashed: Redis never holds an email address. The account and the scope are hashed apart, so
   * that every record of one account can be found (base64url has no glob characters).
   */
  private static key(key: string): string {
    return `signin-failures:${digest(accountOf(key))}:${digest(scopeOf(key))}`;
  }
}

const digest = (text: string): string => createHash('sha256').update(text).digest('base64url');
