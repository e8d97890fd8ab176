import { Injectable, OnModuleInit } from '@nestjs/common';
import type { Transaction, Transactions } from '../../database/transactions';
import { Clock } from '../../common/clock/clock';
import { RevokedTokensRepository } from '../revoked-tokens/revoked-tokens.repository';
import { SessionsRepository } from '../sessions/sessions.repository';
import { CLOCK_TOLERANCE } from '../tokens/access-token.service';
import { IdFilter } from './id-filter';
import { RevocationQueryRepository } from './revocation-query.repository';

export type Revocation = 'token_revoked' | 'session_revoked';

const NOT_REVOKED: Promise<Revocation | undefined> = Promise.resolve(undefined);

/**
 * Whether an access token may no longer be used: its own `jti` or its whole session revoked. Asked
 * on every authenticated request, and told of every revocation before it is written. One
 * implementation per deployment mode, chosen once by the module (see AuthModule).
 */
export abstract class RevocationCheck {
  abstract find(jti: string, sessionId: string): Promise<Revocation | undefined>;
  /** Called before the revocation of `jti` is written. */
  abstract willRevokeToken(jti: string): void;
  /** Called before the sessions `ids` are revoked (an array: it may hold a great many). */
  abstract willRevokeSessions(ids: readonly string[]): void;
  /** Called inside `tx` before every unrevoked session of the user but `except` is revoked by it. */
  abstract willRevokeSessionsOf(
    userId: string,
    except: string | undefined,
    tx: Transaction,
  ): Promise<void>;
  /**
   * Called inside `tx` before every unrevoked session of the user but the `keep` most recently
   * used is revoked by it (the cap on sessions per user).
   */
  abstract willRevokeSessionsBeyond(userId: string, keep: number, tx: Transaction): Promise<void>;
  /** Rebuilds whatever it keeps from the tables (at start-up and after each purge). */
  abstract reload(): Promise<void>;
}

/**
 * The embedded mode: one process owns the SQLite file, so every revocation passes through here and
 * two in-memory filters (revoked `jti`s that could still verify, sessions revoked recently enough
 * that one of their access tokens may still be live) answer almost every check without a query;
 * the rare id a filter might know is confirmed in its table. Each filter learns an id before the
 * row is written, so a committed revocation is never missed.
 */
@Injectable()
export class InMemoryRevocationCheck extends RevocationCheck implements OnModuleInit {
  private readonly tokens = new IdFilter();
  private readonly sessionIds = new IdFilter();

  constructor(
    private readonly revokedTokens: RevokedTokensRepository,
    private readonly sessions: SessionsRepository,
    private readonly transactions: Transactions,
    private readonly clock: Clock,
    private readonly accessTtl: number,
  ) {
    super();
  }

  async onModuleInit(): Promise<void> {
    await this.reload();
  }

  find(jti: string, sessionId: string): Promise<Revocation | undefined> {
    // Almost every check ends here, without a query and without a promise of its own.
    if (!this.tokens.mightContain(jti) && !this.sessionIds.mightContain(sessionId)) {
      return NOT_REVOKED;
    }
    return this.confirm(jti, sessionId);
  }

  /** An id one of the filters might know: its table says. */
  private async confirm(jti: string, sessionId: string): Promise<Revocation | undefined> {
    if (this.tokens.mightContain(jti) && (await this.revokedTokens.exists(jti))) {
      return 'token_revoked';
    }
    if (this.sessionIds.mightContain(sessionId)) {
      const session = await this.sessions.findById(sessionId);
      if (session === null || session.revokedAt !== null) {
        return 'session_revoked';
      }
    }
    return undefined;
  }

  willRevokeToken(jti: string): void {
    this.tokens.add(jti);
  }

  willRevokeSessions(ids: readonly string[]): void {
    ids.forEach((id) => this.sessionIds.add(id));
  }

  async willRevokeSessionsOf(
    userId: string,
    except: string | undefined,
    tx: Transaction,
  ): Promise<void> {
    // Exact: on SQLite no other writer can add a session before `tx` ends.
    const ids = await this.sessions.unrevokedIdsOfUser(userId, tx);
    this.willRevokeSessions(ids.filter((id) => id !== except));
  }

  async willRevokeSessionsBeyond(userId: string, keep: number, tx: Transaction): Promise<void> {
    this.willRevokeSessions(await this.sessions.idsBeyondNewest(userId, keep, tx));
  }

  /**
   * Loads both filters in the writers' turn: every revocation announced before the reload has
   * committed by the time the tables are read, so the new filters cannot miss it.
   */
  reload(): Promise<void> {
    return this.transactions.run(() => this.load());
  }

  private async load(): Promise<void> {
    const now = this.clock.nowMs();
    await Promise.all([
      this.tokens.rebuild((add) =>
        this.revokedTokens.eachJtiExpiringAfter(new Date(now - CLOCK_TOLERANCE * 1000), add),
      ),
      this.sessionIds.rebuild(async (add) => {
        // Every revoked session whose newest access token may still verify, by the expiry its
        // row records, whatever JWT_ACCESS_TTL is now; rows from before that was recorded, by
        // the revocation time and the current lifetime.
        const tolerance = CLOCK_TOLERANCE * 1000;
        (
          await this.sessions.idsRevokedWithLiveTokens(
            new Date(now - tolerance),
            new Date(now - this.accessTtl * 1000 - tolerance),
          )
        ).forEach(add);
      }),
    ]);
  }
}

/**
 * The shared mode: any instance may have revoked the token a moment ago, so the tables themselves
 * are asked, both in one round trip. A revocation is committed before its response is sent, hence
 * visible to every instance's very next request. Nothing is kept in memory.
 */
@Injectable()
export class SharedRevocationCheck extends RevocationCheck {
  constructor(private readonly query: RevocationQueryRepository) {
    super();
  }

  async find(jti: string, sessionId: string): Promise<Revocation | undefined> {
    const row = await this.query.find(jti, sessionId);
    if (row.tokenRevoked) {
      return 'token_revoked';
    }
    return row.sessionActive ? undefined : 'session_revoked';
  }

  willRevokeToken(): void {}

  willRevokeSessions(): void {}

  async willRevokeSessionsOf(): Promise<void> {}

  async willRevokeSessionsBeyond(): Promise<void> {}

  async reload(): Promise<void> {}
}
