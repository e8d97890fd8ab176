import { randomUUID } from 'node:crypto';
import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectRepository } from '@nestjs/typeorm';
import { In, IsNull, LessThan, MoreThan, Repository } from 'typeorm';
import { AppException } from '../../common/errors/app.exception';
import { authConfig, databaseConfig } from '../../config/configuration';
import { isShared } from '../../database/data-source-options';
import { MetricsService } from '../../metrics/metrics.service';
import { IdFilter } from '../revocation/id-filter';
import { CLOCK_TOLERANCE } from '../tokens/access-token.service';
import { JwtKeys } from '../tokens/jwt-keys';
import {
  distanceToCurrent,
  hashRefreshToken,
  newRefreshToken,
  parseRefreshToken,
  successorOf,
} from '../tokens/refresh-tokens';
import { Session } from './session.entity';

export interface ClientInfo {
  userAgent?: string;
  ip?: string;
}

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

/**
 * Sessions and their refresh-token chains. Revoked session ids are also kept in an in-memory
 * filter (loaded at start-up, updated before each revocation), so the check on every request
 * costs a query only for the rare id the filter might know (on PostgreSQL, shared with other
 * instances, there is no filter: see RevokedTokensService). Expiry needs no check there: an
 * access token never outlives its session (see `accessTokenLifetime`).
 */
@Injectable()
export class SessionsService implements OnModuleInit {
  private readonly revokedFilter?: IdFilter;

  constructor(
    @InjectRepository(Session) private readonly sessions: Repository<Session>,
    @Inject(authConfig.KEY) private readonly config: ConfigType<typeof authConfig>,
    @Inject(databaseConfig.KEY) database: ConfigType<typeof databaseConfig>,
    private readonly keys: JwtKeys,
    private readonly metrics: MetricsService,
  ) {
    this.revokedFilter = isShared(database) ? undefined : new IdFilter();
  }

  async onModuleInit(): Promise<void> {
    await this.reloadRevokedFilter();
  }

  async create(userId: string, client: ClientInfo, now = new Date()): Promise<SessionWithToken> {
    const id = randomUUID();
    const refreshToken = newRefreshToken(id);
    const session = this.sessions.create({
      id,
      userId,
      refreshTokenHash: hashRefreshToken(refreshToken),
      retiredRefreshTokenHash: null,
      generation: 0,
      rotatedAt: null,
      createdAt: now,
      lastUsedAt: now,
      expiresAt: new Date(now.getTime() + this.config.sessionMaxAge * 1000),
      userAgent: client.userAgent?.slice(0, 512) ?? null,
      ip: client.ip?.slice(0, 64) ?? null,
      revokedAt: null,
      revokedReason: null,
    });
    await this.sessions.insert(session);
    return { session, refreshToken };
  }

  /**
   * True when the session has been revoked or no longer exists. Called on every authenticated
   * request: answered from memory unless the filter might know the id.
   */
  async isRevoked(id: string): Promise<boolean> {
    if (this.revokedFilter && !this.revokedFilter.mightContain(id)) {
      return false;
    }
    const session = await this.sessions.findOne({
      where: { id },
      select: { id: true, revokedAt: true },
    });
    return session === null || session.revokedAt !== null;
  }

  /**
   * Seconds an access token issued now may live: the configured lifetime, cut short by the
   * session's absolute expiry, so that no access token outlives its session.
   */
  accessTokenLifetime(session: Session, now = new Date()): number {
    const remaining = Math.floor((session.expiresAt.getTime() - now.getTime()) / 1000);
    return Math.max(1, Math.min(this.config.accessTtl, remaining));
  }

  /** The session if it may still be used; otherwise `session_revoked` or `session_expired`. */
  async findActive(id: string, now = new Date()): Promise<Session> {
    const session = await this.sessions.findOneBy({ id });
    this.assertActive(session, now);
    return session;
  }

  /**
   * Spends a refresh token and returns its successor. A spent token presented again inside the
   * grace window gets the same successor; later, or any older ancestor, counts as theft and
   * revokes the whole session.
   */
  async rotate(token: string, now = new Date()): Promise<SessionWithToken> {
    const parsed = parseRefreshToken(token);
    if (!parsed) {
      throw AppException.rejectedToken('invalid_refresh_token', 'The refresh token is malformed');
    }
    let session = await this.sessions.findOneBy({ id: parsed.sessionId });
    this.assertActive(session, now);

    const presentedHash = hashRefreshToken(token);
    const successor = successorOf(token, this.keys.refreshKey);
    if (presentedHash === session.refreshTokenHash) {
      const result = await this.sessions
        .createQueryBuilder()
        .update(Session)
        .set({
          refreshTokenHash: hashRefreshToken(successor),
          generation: () => 'generation + 1',
          rotatedAt: now,
          lastUsedAt: now,
        })
        .where('id = :id AND refresh_token_hash = :hash AND revoked_at IS NULL', {
          id: session.id,
          hash: presentedHash,
        })
        .execute();
      if (result.affected === 1) {
        session.refreshTokenHash = hashRefreshToken(successor);
        session.generation += 1;
        session.rotatedAt = now;
        session.lastUsedAt = now;
        return { session, refreshToken: successor };
      }
      // Another request rotated this token first: answer as its concurrent twin.
      session = await this.sessions.findOneBy({ id: parsed.sessionId });
      this.assertActive(session, now);
    }

    const distance = distanceToCurrent(
      token,
      session.refreshTokenHash,
      Math.min(session.generation, REUSE_DETECTION_DEPTH),
      this.keys.refreshKey,
    );
    const retired =
      distance === undefined &&
      session.retiredRefreshTokenHash !== null &&
      distanceToCurrent(
        token,
        session.retiredRefreshTokenHash,
        REUSE_DETECTION_DEPTH,
        this.keys.refreshKey,
      ) !== undefined;
    if (distance === undefined && !retired) {
      throw AppException.rejectedToken('invalid_refresh_token', 'The refresh token is not valid');
    }
    const graceMs = this.config.refreshReuseGrace * 1000;
    if (
      distance === 1 &&
      graceMs > 0 &&
      session.rotatedAt !== null &&
      now.getTime() - session.rotatedAt.getTime() <= graceMs
    ) {
      return { session, refreshToken: successor };
    }
    await this.revoke(session.id, 'reuse_detected', now);
    throw AppException.rejectedToken(
      'refresh_token_reused',
      'This refresh token was already used; the session has been revoked',
    );
  }

  /** The user's sessions that may still be used, newest first. */
  async listActive(userId: string, now = new Date()): Promise<Session[]> {
    const idleCutoff = new Date(now.getTime() - this.config.sessionIdleTtl * 1000);
    return this.sessions.find({
      where: {
        userId,
        revokedAt: IsNull(),
        expiresAt: MoreThan(now),
        lastUsedAt: MoreThan(idleCutoff),
      },
      order: { createdAt: 'DESC' },
    });
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
  async revokeOwned(userId: string, id: string, now = new Date()): Promise<void> {
    const active = (await this.listActive(userId, now)).some((session) => session.id === id);
    if (!active) {
      throw new AppException('session_not_found', 'No active session of yours has this id');
    }
    await this.revoke(id, 'logout', now);
  }

  /** Ends every active session of the user, except `keep`; returns how many ended. */
  async revokeAll(
    userId: string,
    reason: string,
    keep?: string,
    now = new Date(),
  ): Promise<number> {
    const ids = (await this.listActive(userId, now))
      .map((session) => session.id)
      .filter((id) => id !== keep);
    ids.forEach((id) => this.revokedFilter?.add(id));
    if (ids.length > 0) {
      await this.sessions.update(
        { id: In(ids), revokedAt: IsNull() },
        { revokedAt: now, revokedReason: reason },
      );
      this.metrics.revoked('session', reason, ids.length);
    }
    return ids.length;
  }

  /**
   * Starts a new refresh-token chain for a session (the access-token exchange at /refresh). The
   * old chain's end is kept, so its tokens still count as spent: presenting one revokes the session.
   */
  async restartChain(sessionId: string, now = new Date()): Promise<SessionWithToken> {
    const refreshToken = newRefreshToken(sessionId);
    // Compare-and-set on the chain's end, like `rotate`: a rotation that lands in between (on any
    // instance) is retired with the rest of the chain instead of being overwritten unseen.
    for (;;) {
      const session = await this.findActive(sessionId, now);
      const result = await this.sessions
        .createQueryBuilder()
        .update(Session)
        .set({
          retiredRefreshTokenHash: session.refreshTokenHash,
          refreshTokenHash: hashRefreshToken(refreshToken),
          generation: 0,
          rotatedAt: null,
          lastUsedAt: now,
        })
        .where('id = :id AND refresh_token_hash = :hash AND revoked_at IS NULL', {
          id: sessionId,
          hash: session.refreshTokenHash,
        })
        .execute();
      if (result.affected === 1) {
        return { session, refreshToken };
      }
    }
  }

  async revoke(id: string, reason: string, now = new Date()): Promise<void> {
    this.revokedFilter?.add(id);
    const result = await this.sessions.update(
      { id, revokedAt: IsNull() },
      { revokedAt: now, revokedReason: reason },
    );
    if (result.affected === 1) {
      this.metrics.revoked('session', reason);
    }
  }

  /** Deletes sessions that ended more than a day ago, then rebuilds the filter. */
  async purgeExpired(now = new Date()): Promise<number> {
    const cutoff = new Date(now.getTime() - 86400 * 1000);
    const result = await this.sessions.delete({ expiresAt: LessThan(cutoff) });
    await this.reloadRevokedFilter();
    return result.affected ?? 0;
  }

  /** Only sessions revoked recently enough that one of their access tokens may still be live. */
  private async reloadRevokedFilter(now = new Date()): Promise<void> {
    const since = new Date(now.getTime() - (this.config.accessTtl + CLOCK_TOLERANCE) * 1000);
    await this.revokedFilter?.rebuild(async (add) => {
      const rows = await this.sessions.find({
        where: { revokedAt: MoreThan(since) },
        select: { id: true },
      });
      rows.forEach((row) => add(row.id));
    });
  }

  private assertActive(session: Session | null, now: Date): asserts session is Session {
    if (session === null) {
      throw AppException.rejectedToken('session_revoked', 'The session no longer exists');
    }
    if (session.revokedAt !== null) {
      throw AppException.rejectedToken('session_revoked', 'The session has been revoked');
    }
    const idleDeadline = session.lastUsedAt.getTime() + this.config.sessionIdleTtl * 1000;
    if (session.expiresAt.getTime() <= now.getTime() || idleDeadline <= now.getTime()) {
      throw AppException.rejectedToken('session_expired', 'The session has expired');
    }
  }
}
