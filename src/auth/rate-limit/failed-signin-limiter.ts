import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { AppException } from '../../common/errors/app.exception';
import { rateLimitConfig } from '../../config/configuration';
import { clientKey } from './client-key';
import { FailureStore } from './failure-store';
import { limitsUnavailable } from './rate-limit';

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
 * Redis (the shared mode) the records are shared, so attempts count on every instance together.
 */
@Injectable()
export class FailedSigninLimiter {
  constructor(
    @Inject(rateLimitConfig.KEY) private readonly config: ConfigType<typeof rateLimitConfig>,
    private readonly store: FailureStore,
  ) {}

  /**
   * Runs one password check under the lock: refused while locked; otherwise counted as a failure
   * unless `check` succeeds and `settles` agrees (then the record is cleared). When `check` throws (the database failed,
   * not the password) the attempt is taken back, so that an outage never locks an owner out.
   */
  async guard<T>(
    account: string,
    ip: string | undefined,
    check: () => Promise<T | undefined>,
    settles: (result: T) => Promise<boolean> = () => Promise.resolve(true),
  ): Promise<T | undefined> {
    await this.reserveAttempt(account, ip);
    let result: T | undefined;
    let settled = false;
    try {
      result = await check();
      // A success that `settles` says is only half of a sign-in (a password before its second
      // factor) stays counted until the other half succeeds: wrong codes after right passwords
      // add up, as wrong passwords do.
      settled = result !== undefined && (await settles(result));
    } catch (error) {
      await this.release(account, ip);
      throw error;
    }
    if (settled) {
      await this.recordSuccess(account, ip);
    }
    return result;
  }

  /** Lets an attempt through, counted as a failure until `recordSuccess`, or refuses it (429). */
  async reserveAttempt(account: string, ip: string | undefined): Promise<void> {
    if (!this.config.enabled) {
      return;
    }
    const { signinFailures, failureWindow, accountFailures, accountFailureWindow } = this.config;
    const perClient = await shared(
      this.store.reserve(
        FailedSigninLimiter.key(account, ip),
        signinFailures,
        failureWindow * 1000,
      ),
    );
    if (perClient > 0) {
      throw FailedSigninLimiter.locked(perClient, 'for this account');
    }
    // The ceiling over all addresses locks for one window at a time, never doubling: whoever
    // spreads guesses over many addresses may keep an owner out only while they keep guessing.
    const accountWide = await shared(
      this.store.reserve(
        FailedSigninLimiter.accountKey(account),
        accountFailures,
        accountFailureWindow * 1000,
        1,
      ),
    ).catch(async (error: unknown) => {
      await this.releaseClient(account, ip);
      throw error;
    });
    if (accountWide > 0) {
      await this.releaseClient(account, ip);
      throw FailedSigninLimiter.locked(accountWide, 'for this account from all addresses');
    }
  }

  /**
   * Takes back an attempt that ended neither in success nor in a wrong password (the database or
   * Redis failed): only wrong passwords may count towards the lock.
   */
  private async release(account: string, ip: string | undefined): Promise<void> {
    if (this.config.enabled) {
      await this.releaseClient(account, ip);
      await this.releaseAccount(account);
    }
  }

  /** A success clears this address's record and takes its attempt off the account's ceiling. */
  async recordSuccess(account: string, ip: string | undefined): Promise<void> {
    if (this.config.enabled) {
      await shared(this.store.clear(FailedSigninLimiter.key(account, ip)));
      await this.releaseAccount(account);
    }
  }

  /**
   * Takes one more attempt off the account-wide ceiling: a sign-in in two steps reserved one for
   * its password (left counted, see `guard`'s `settles`) and one for its code, and its success
   * takes back only the second.
   */
  async settleAccount(account: string): Promise<void> {
    if (this.config.enabled) {
      await this.releaseAccount(account);
    }
  }

  /**
   * Lifts the account's locks after its owner proved who they are another way (a password reset):
   * the ceiling over all addresses, and the lock of the address the proof came from. Locks other
   * addresses earned stay: those are the guessers'.
   */
  async clearLocks(account: string, ip: string | undefined): Promise<void> {
    if (this.config.enabled) {
      await shared(this.store.clear(FailedSigninLimiter.key(account, ip)));
      await shared(this.store.clear(FailedSigninLimiter.accountKey(account)));
    }
  }

  /**
   * The locks on an account now, for operators: until when the latest ends (null when none), and
   * how many of them hold one address each. `accounts` are the keys its checks count under.
   */
  async locksOf(
    accounts: string[],
  ): Promise<{ lockedUntil: Date | null; lockedAddresses: number }> {
    const limits = {
      perAddress: this.config.signinFailures,
      accountWide: this.config.accountFailures,
    };
    const locks = (
      await Promise.all(accounts.map((account) => shared(this.store.locksOf(account, limits))))
    ).flat();
    const latest = Math.max(0, ...locks.map((lock) => lock.until));
    return {
      lockedUntil: latest > 0 ? new Date(latest) : null,
      lockedAddresses: locks.filter((lock) => !lock.accountWide).length,
    };
  }

  /**
   * An operator's unlock: every record of the accounts goes, every address's lock and the
   * account-wide one, on every instance (the records are shared when Redis is).
   */
  async unlock(accounts: string[]): Promise<void> {
    await Promise.all(accounts.map((account) => shared(this.store.clearAccount(account))));
  }

  // Releases never fail the request: the attempt's own outcome is the one to report.
  private releaseClient(account: string, ip: string | undefined): Promise<void> {
    return this.store
      .release(FailedSigninLimiter.key(account, ip), this.config.signinFailures)
      .catch(() => undefined);
  }

  private releaseAccount(account: string): Promise<void> {
    return this.store
      .release(FailedSigninLimiter.accountKey(account), this.config.accountFailures)
      .catch(() => undefined);
  }

  private static locked(leftMs: number, scope: string): AppException {
    return new AppException('rate_limited', `Too many failed sign-ins ${scope}; try again later`, {
      headers: { 'Retry-After': String(Math.ceil(leftMs / 1000)) },
    });
  }

  /** Per account and client: an IPv6 client is its /64 (see `clientKey`). */
  private static key(account: string, ip: string | undefined): string {
    return `${account}\n${clientKey(ip)}`;
  }

  private static accountKey(account: string): string {
    return `${account}\n*`;
  }
}
