import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { Clock } from '../../common/clock/clock';
import { AppException } from '../../common/errors/app.exception';
import { authConfig } from '../../config/configuration';
import type { Transaction } from '../../database/transactions';
import { MetricsService } from '../../metrics/metrics.service';
import type { ClientInfo } from '../decorators/client-info.decorator';
import { RevocationCheck } from '../revocation/revocation-check';
import { JwtKeys } from '../tokens/jwt-keys';
import {
  chainRoot,
  distanceToCurrent,
  hashRefreshToken,
  isInChain,
  newChainSeed,
  parseRefreshToken,
  ParsedRefreshToken,
  successorOf,
} from '../tokens/refresh-tokens';
import {
  AssuranceLevel,
  Session,
  SESSION_IP_LENGTH,
  SESSION_USER_AGENT_LENGTH,
} from './session.entity';
import { SessionsRepository } from './sessions.repository';

/** How a session was established: its assurance level and authentication methods (RFC 8176). */
export interface SessionLevel {
  aal: AssuranceLevel;
  amr: string[];
}

const PASSWORD_ONLY: SessionLevel = { aal: 'aal1', amr: ['pwd'] };

export interface SessionWithToken {
  session: Session;
  refreshToken: string;
}

/**
 * How many rotations back a spent token is still recognised as reuse. Each step costs one HMAC
 * and one SHA-256 on the event loop, so the walk is kept short: a token older than this (about 16
 * hours of 15-minute refreshes) is merely invalid.
 */
export const REUSE_DETECTION_DEPTH = 64;

/** How long a session row is kept after its absolute expiry, then purged. */
const ENDED_SESSION_RETENTION_MS = 24 * 3600 * 1000;

/**
 * The rules of sessions and their refresh-token chains: expiry (absolute and idle), rotation with
 * a grace window for concurrent twins, reuse detection, revocation. Storage is
 * SessionsRepository's; every revocation is announced to the RevocationCheck before it is written.
 * Expiry needs no check on each request: an access token never outlives its session (see
 * `accessTokenLifetime`).
 */
@Injectable()
export class SessionsService {
  constructor(
    private readonly sessions: SessionsRepository,
    private readonly revocations: RevocationCheck,
    private readonly clock: Clock,
    private readonly keys: JwtKeys,
    private readonly metrics: MetricsService,
    @Inject(authConfig.KEY) private readonly config: ConfigType<typeof authConfig>,
  ) {}

  /**
   * Opens a session for the user, inside `tx` (whose caller has checked the credentials), at the
   * assurance level the sign-in reached: the password alone (`aal1`) unless told otherwise.
   */
  async open(
    userId: string,
    client: ClientInfo,
    tx: Transaction,
    level: SessionLevel = PASSWORD_ONLY,
  ): Promise<SessionWithToken> {
    const now = this.clock.now();
    const id = randomUUID();
    const chainSeed = newChainSeed();
    const refreshToken = chainRoot(id, 0, chainSeed, this.keys.refreshKey);
    const session = Object.assign(new Session(), {
      id,
      userId,
      refreshTokenHash: hashRefreshToken(refreshToken),
      retiredRefreshTokenHash: null,
      generation: 0,
      chainEpoch: 0,
      chainSeed,
      rotatedAt: null,
      createdAt: now,
      lastUsedAt: now,
      expiresAt: new Date(now.getTime() + this.config.sessionMaxAge * 1000),
      userAgent: client.userAgent?.slice(0, SESSION_USER_AGENT_LENGTH) ?? null,
      ip: client.ip?.slice(0, SESSION_IP_LENGTH) ?? null,
      revokedAt: null,
      revokedReason: null,
      aal: level.aal,
      amr: level.amr.join(','),
      accessExpiresAt: null as Date | null,
    });
    session.accessExpiresAt = this.accessExpiry(session);
    await this.sessions.insert(session, tx);
    await this.endBeyondCap(userId, tx);
    return { session, refreshToken };
  }

  /**
   * Keeps the user's sessions within SESSIONS_PER_USER_MAX: those beyond the most recently used
   * end, in one statement, in the same unit as the sign-in that passed the cap.
   */
  private async endBeyondCap(userId: string, tx: Transaction): Promise<void> {
    const max = this.config.sessionsPerUserMax;
    await this.revocations.willRevokeSessionsBeyond(userId, max, tx);
    const count = await this.sessions.revokeBeyondNewest(
      userId,
      max,
      'session_limit',
      this.clock.now(),
      tx,
    );
    if (count > 0) {
      this.metrics.revoked('session', 'session_limit', count);
    }
  }

  /**
   * Seconds an access token issued now may live: the configured lifetime, cut short by the
   * session's absolute expiry, so that no access token outlives its session.
   */
  accessTokenLifetime(session: Session): number {
    const remaining = Math.floor((session.expiresAt.getTime() - this.clock.nowMs()) / 1000);
    return Math.max(1, Math.min(this.config.accessTtl, remaining));
  }

  /**
   * When an access token issued now for the session expires, recorded with each write that issues
   * one. A second of margin covers the rounding of `exp` to whole seconds.
   */
  private accessExpiry(session: Session): Date {
    return new Date(this.clock.nowMs() + (this.accessTokenLifetime(session) + 1) * 1000);
  }

  /** The session if it may still be used; otherwise `session_revoked` or `session_expired`. */
  async findActive(id: string): Promise<Session> {
    const session = await this.sessions.findById(id);
    this.assertActive(session);
    return session;
  }

  /** The user a session belongs to (ended or not), for the audit log. */
  async ownerOf(id: string): Promise<string | undefined> {
    return (await this.sessions.findById(id))?.userId;
  }

  /** Whether the session may still be used (not revoked, not expired); changes nothing. */
  async isActive(id: string): Promise<boolean> {
    return this.findActive(id).then(
      () => true,
      () => false,
    );
  }

  /**
   * Spends a refresh token and returns its successor. A spent token presented again inside the
   * grace window gets the same successor; later, or any older ancestor, counts as theft and
   * revokes the whole session.
   */
  async rotate(token: string): Promise<SessionWithToken> {
    const parsed = parseRefreshToken(token);
    if (!parsed) {
      throw AppException.rejectedToken('invalid_refresh_token', 'The refresh token is malformed');
    }
    let session = await this.sessions.findById(parsed.sessionId);
    this.assertActive(session);

    const presentedHash = hashRefreshToken(token);
    const successor = successorOf(token, this.keys.refreshKey);
    if (presentedHash === session.refreshTokenHash) {
      const now = this.clock.now();
      const next = {
        refreshTokenHash: hashRefreshToken(successor),
        generation: session.generation + 1,
        rotatedAt: now,
        lastUsedAt: now,
        accessExpiresAt: this.accessExpiry(session),
      };
      if (await this.sessions.compareAndSetChain(session.id, presentedHash, next)) {
        return { session: Object.assign(session, next), refreshToken: successor };
      }
      // Another request rotated this token first: answer as its concurrent twin.
      session = await this.sessions.findById(parsed.sessionId);
      this.assertActive(session);
    }

    if (this.isConcurrentTwin(token, parsed, session)) {
      return { session, refreshToken: successor };
    }
    if (!this.isSpent(token, parsed, session)) {
      throw AppException.rejectedToken('invalid_refresh_token', 'The refresh token is not valid');
    }
    await this.revoke(session.id, 'reuse_detected');
    throw AppException.rejectedToken(
      'refresh_token_reused',
      'This refresh token was already used; the session has been revoked',
    );
  }

  /** The user's sessions that may still be used, newest first. */
  listActive(userId: string): Promise<Session[]> {
    return this.sessions.listActive(
      userId,
      this.clock.now(),
      this.idleCutoff(),
      this.config.sessionsPerUserMax,
    );
  }

  /** When a session ends unless refreshed: its absolute or its idle expiry, whichever is first. */
  effectiveExpiry(session: Session): Date {
    const idle = session.lastUsedAt.getTime() + this.config.sessionIdleTtl * 1000;
    return new Date(Math.min(idle, session.expiresAt.getTime()));
  }

  /**
   * Ends one of the user's active sessions. Someone else's session, an ended one and an unknown
   * id all answer `session_not_found`, so ids cannot be probed.
   */
  async endOwned(userId: string, id: string): Promise<void> {
    const ended = await this.sessions.revokeIfActive(
      userId,
      id,
      'logout',
      this.clock.now(),
      this.idleCutoff(),
    );
    if (!ended) {
      throw new AppException('session_not_found', 'No active session of yours has this id');
    }
    // Told after the write, before the answer: only ids of the caller's own sessions reach the
    // filter, and a request after the answer is refused.
    this.revocations.willRevokeSessions([id]);
    this.metrics.revoked('session', 'logout');
  }

  /**
   * Ends every session of the user not ended yet, except `keep`, inside `tx`: one set-based
   * statement, so a session opened before it runs is ended too. Returns how many ended.
   */
  async revokeAll(userId: string, reason: string, tx: Transaction, keep?: string): Promise<number> {
    await this.revocations.willRevokeSessionsOf(userId, keep, tx);
    const count = await this.sessions.revokeAllOfUser(userId, reason, this.clock.now(), keep, tx);
    if (count > 0) {
      this.metrics.revoked('session', reason, count);
    }
    return count;
  }

  /**
   * Starts the session's next refresh-token chain, one epoch on, for a session that `tx` holds
   * locked (see `lockActive`): the access-token exchange at /refresh. Every earlier chain can be
   * rebuilt from the seed, so its tokens still count as spent however many exchanges follow:
   * presenting one revokes the session.
   */
  async restartChain(session: Session, tx: Transaction): Promise<SessionWithToken> {
    const now = this.clock.now();
    const chainSeed = session.chainSeed ?? newChainSeed();
    const chainEpoch = session.chainEpoch + 1;
    const refreshToken = chainRoot(session.id, chainEpoch, chainSeed, this.keys.refreshKey);
    const next = {
      // A session opened before epochs keeps the end of its seedless chain recognisable.
      retiredRefreshTokenHash:
        session.chainSeed === null ? session.refreshTokenHash : session.retiredRefreshTokenHash,
      refreshTokenHash: hashRefreshToken(refreshToken),
      generation: 0,
      chainEpoch,
      chainSeed,
      rotatedAt: null,
      lastUsedAt: now,
      accessExpiresAt: this.accessExpiry(session),
    };
    if (!(await this.sessions.compareAndSetChain(session.id, session.refreshTokenHash, next, tx))) {
      // The row is locked, so this cannot happen; should it, the exchange is refused, not forced.
      throw AppException.rejectedToken('session_revoked', 'The session has been revoked');
    }
    return { session: Object.assign(session, next), refreshToken };
  }

  /** The session, locked for the rest of `tx`, if it may still be used. */
  async lockActive(sessionId: string, tx: Transaction): Promise<Session> {
    const session = await this.sessions.findByIdForUpdate(sessionId, tx);
    this.assertActive(session);
    return session;
  }

  async revoke(id: string, reason: string, tx?: Transaction): Promise<void> {
    this.revocations.willRevokeSessions([id]);
    if (await this.sessions.revoke(id, reason, this.clock.now(), tx)) {
      this.metrics.revoked('session', reason);
    }
  }

  /** Deletes sessions that ended a while ago. */
  purgeExpired(): Promise<number> {
    return this.sessions.deleteExpiredBefore(
      new Date(this.clock.nowMs() - ENDED_SESSION_RETENTION_MS),
    );
  }

  /** Whether the current token was issued less than the grace window ago. */
  private inGraceWindow(session: Session): boolean {
    const graceMs = this.config.refreshReuseGrace * 1000;
    return (
      graceMs > 0 &&
      session.rotatedAt !== null &&
      this.clock.nowMs() - session.rotatedAt.getTime() <= graceMs
    );
  }

  /** Whether the token belongs to the session's current chain. */
  private inCurrentChain(parsed: ParsedRefreshToken, session: Session): boolean {
    return session.chainSeed === null
      ? parsed.epoch === undefined
      : parsed.epoch === session.chainEpoch;
  }

  /**
   * The spent predecessor of the current token, presented again inside the grace window after its
   * rotation, while the successor is still unspent (it is the current token): a concurrent twin,
   * which gets the same successor.
   */
  private isConcurrentTwin(token: string, parsed: ParsedRefreshToken, session: Session): boolean {
    return (
      session.generation > 0 &&
      this.inCurrentChain(parsed, session) &&
      this.inGraceWindow(session) &&
      distanceToCurrent(token, session.refreshTokenHash, 1, this.keys.refreshKey) === 1
    );
  }

  /**
   * A token of this session spent before: an ancestor of the current token, a token of any earlier
   * chain (rebuilt from its root), or, for a session opened before epochs, of its seedless chain.
   */
  private isSpent(token: string, parsed: ParsedRefreshToken, session: Session): boolean {
    const key = this.keys.refreshKey;
    if (this.inCurrentChain(parsed, session)) {
      const depth = Math.min(session.generation, REUSE_DETECTION_DEPTH);
      return distanceToCurrent(token, session.refreshTokenHash, depth, key) !== undefined;
    }
    if (parsed.epoch === undefined) {
      return (
        session.retiredRefreshTokenHash !== null &&
        distanceToCurrent(token, session.retiredRefreshTokenHash, REUSE_DETECTION_DEPTH, key) !==
          undefined
      );
    }
    return (
      session.chainSeed !== null &&
      parsed.epoch < session.chainEpoch &&
      isInChain(
        token,
        chainRoot(session.id, parsed.epoch, session.chainSeed, key),
        REUSE_DETECTION_DEPTH,
        key,
      )
    );
  }

  private idleCutoff(): Date {
    return new Date(this.clock.nowMs() - this.config.sessionIdleTtl * 1000);
  }

  private assertActive(session: Session | null): asserts session is Session {
    if (session === null) {
      throw AppException.rejectedToken('session_revoked', 'The session no longer exists');
    }
    if (session.revokedAt !== null) {
      throw AppException.rejectedToken('session_revoked', 'The session has been revoked');
    }
    const now = this.clock.nowMs();
    const idleDeadline = session.lastUsedAt.getTime() + this.config.sessionIdleTtl * 1000;
    if (session.expiresAt.getTime() <= now || idleDeadline <= now) {
      throw AppException.rejectedToken('session_expired', 'The session has expired');
    }
  }
}
