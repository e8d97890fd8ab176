import { createSecretKey, randomBytes, randomUUID } from 'node:crypto';
import { Test } from '@nestjs/testing';
import { Clock } from '../../common/clock/clock';
import { FakeClock } from '../../common/clock/fake-clock';
import { AppException } from '../../common/errors/app.exception';
import { authConfig } from '../../config/configuration';
import type { Transaction } from '../../database/transactions';
import { MetricsService } from '../../metrics/metrics.service';
import { RevocationCheck } from '../revocation/revocation-check';
import { JwtKeys } from '../tokens/jwt-keys';
import { hashRefreshToken, successorOf } from '../tokens/refresh-tokens';
import { Session } from './session.entity';
import { SessionsRepository } from './sessions.repository';
import { REUSE_DETECTION_DEPTH, SessionsService } from './sessions.service';

/** A token as versions before epochs issued it: `<session id>.<random secret>`, no epoch. */
const legacyToken = (sessionId: string) => `${sessionId}.${randomBytes(32).toString('base64url')}`;

const DAY = 86400;
const config = {
  accessTtl: 900,
  sessionIdleTtl: 14 * DAY,
  sessionMaxAge: 30 * DAY,
  refreshReuseGrace: 10,
  sessionsPerUserMax: 3,
};
const tx = {} as Transaction;

/** SessionsRepository over a Map, with the same compare-and-set rule as the SQL. */
class InMemorySessions {
  readonly rows = new Map<string, Session>();
  /** When set, the next compare-and-set loses, as if another request had rotated first. */
  loseNextRace?: () => void;

  insert(session: Session): Promise<void> {
    this.rows.set(session.id, { ...session });
    return Promise.resolve();
  }

  findById(id: string): Promise<Session | null> {
    const row = this.rows.get(id);
    return Promise.resolve(row ? { ...row } : null);
  }

  findByIdForUpdate(id: string): Promise<Session | null> {
    return this.findById(id);
  }

  compareAndSetChain(id: string, expectedHash: string, set: Partial<Session>): Promise<boolean> {
    if (this.loseNextRace) {
      const lose = this.loseNextRace;
      this.loseNextRace = undefined;
      lose();
      return Promise.resolve(false);
    }
    const row = this.rows.get(id);
    if (!row || row.refreshTokenHash !== expectedHash || row.revokedAt !== null) {
      return Promise.resolve(false);
    }
    Object.assign(row, set);
    return Promise.resolve(true);
  }

  revoke(id: string, reason: string, now: Date): Promise<boolean> {
    const row = this.rows.get(id);
    if (!row || row.revokedAt !== null) {
      return Promise.resolve(false);
    }
    Object.assign(row, { revokedAt: now, revokedReason: reason });
    return Promise.resolve(true);
  }

  revokeIfActive(
    userId: string,
    id: string,
    reason: string,
    now: Date,
    idleCutoff: Date,
  ): Promise<boolean> {
    const row = this.rows.get(id);
    const active =
      row?.userId === userId &&
      row.revokedAt === null &&
      row.expiresAt > now &&
      row.lastUsedAt > idleCutoff;
    return active ? this.revoke(id, reason, now) : Promise.resolve(false);
  }

  /** The user's unrevoked sessions, most recently used first (ties: by id, as in the SQL). */
  private newest(userId: string): Session[] {
    return [...this.rows.values()]
      .filter((row) => row.userId === userId && row.revokedAt === null)
      .sort(
        (a, b) =>
          b.lastUsedAt.getTime() - a.lastUsedAt.getTime() ||
          (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
      );
  }

  idsBeyondNewest(userId: string, keep: number): Promise<string[]> {
    return Promise.resolve(
      this.newest(userId)
        .slice(keep)
        .map((row) => row.id),
    );
  }

  revokeBeyondNewest(userId: string, keep: number, reason: string, now: Date): Promise<number> {
    const beyond = this.newest(userId).slice(keep);
    beyond.forEach((row) => Object.assign(row, { revokedAt: now, revokedReason: reason }));
    return Promise.resolve(beyond.length);
  }

  revokeAllOfUser(userId: string, reason: string, now: Date, except?: string): Promise<number> {
    let count = 0;
    for (const row of this.rows.values()) {
      if (row.userId === userId && row.revokedAt === null && row.id !== except) {
        Object.assign(row, { revokedAt: now, revokedReason: reason });
        count++;
      }
    }
    return Promise.resolve(count);
  }
}

describe(SessionsService.name, () => {
  let service: SessionsService;
  let clock: FakeClock;
  let rows: InMemorySessions;
  let revocations: {
    willRevokeSessions: jest.Mock;
    willRevokeSessionsOf: jest.Mock;
    willRevokeSessionsBeyond: jest.Mock;
  };
  const refreshKey = createSecretKey(randomBytes(32));
  const userId = randomUUID();

  beforeEach(async () => {
    clock = new FakeClock();
    rows = new InMemorySessions();
    revocations = {
      willRevokeSessions: jest.fn(),
      willRevokeSessionsOf: jest.fn(),
      willRevokeSessionsBeyond: jest.fn(),
    };
    const moduleRef = await Test.createTestingModule({
      providers: [
        SessionsService,
        { provide: SessionsRepository, useValue: rows },
        { provide: RevocationCheck, useValue: revocations },
        { provide: Clock, useValue: clock },
        { provide: JwtKeys, useValue: { refreshKey } },
        { provide: MetricsService, useValue: { revoked: jest.fn() } },
        { provide: authConfig.KEY, useValue: config },
      ],
    }).compile();
    service = moduleRef.get(SessionsService);
  });

  const open = () => service.open(userId, { userAgent: 'jest', ip: '127.0.0.1' }, tx);

  async function rejection(promise: Promise<unknown>): Promise<string> {
    const error = await promise.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    if (!(error instanceof AppException)) {
      throw new Error(`expected an AppException, got ${String(error)}`);
    }
    return error.code;
  }

  const stored = (id: string) => rows.rows.get(id)!;

  describe('open', () => {
    it('should store only the hash of the refresh token, with both expiries from now', async () => {
      const { session, refreshToken } = await open();
      const row = stored(session.id);
      expect(row.refreshTokenHash).not.toContain(refreshToken.split('.').at(-1));
      expect(row.expiresAt.getTime()).toBe(clock.nowMs() + config.sessionMaxAge * 1000);
      expect(row.lastUsedAt).toEqual(clock.now());
      expect(row.generation).toBe(0);
    });

    it('should cut an overlong user agent to the column length', async () => {
      const { session } = await service.open(userId, { userAgent: 'x'.repeat(2000) }, tx);
      expect(stored(session.id).userAgent).toHaveLength(512);
    });
  });

  describe('rotate', () => {
    it('should spend the current token for its successor and start the grace window', async () => {
      const { session, refreshToken } = await open();
      clock.advance(60);
      const rotated = await service.rotate(refreshToken);
      expect(rotated.refreshToken).toBe(successorOf(refreshToken, refreshKey));
      expect(stored(session.id)).toMatchObject({
        generation: 1,
        rotatedAt: clock.now(),
        lastUsedAt: clock.now(),
      });
    });

    it('should give a concurrent twin inside the grace window the same successor', async () => {
      const { session, refreshToken } = await open();
      const first = await service.rotate(refreshToken);
      clock.advance(config.refreshReuseGrace);
      const twin = await service.rotate(refreshToken);
      expect(twin.refreshToken).toBe(first.refreshToken);
      expect(stored(session.id).revokedAt).toBeNull();
      expect(stored(session.id).generation).toBe(1);
    });

    it('should answer the loser of a compare-and-set race as a twin', async () => {
      const { session, refreshToken } = await open();
      // Another request rotates between this one's read and its write.
      const winner = successorOf(refreshToken, refreshKey);
      rows.loseNextRace = () =>
        Object.assign(stored(session.id), {
          refreshTokenHash: hashRefreshToken(winner),
          generation: 1,
          rotatedAt: clock.now(),
        });
      const loser = await service.rotate(refreshToken);
      expect(loser.refreshToken).toBe(winner);
      expect(stored(session.id).revokedAt).toBeNull();
    });

    it('should treat the predecessor after the grace window as reuse and revoke the session', async () => {
      const { session, refreshToken } = await open();
      await service.rotate(refreshToken);
      clock.advance(config.refreshReuseGrace + 1);
      expect(await rejection(service.rotate(refreshToken))).toBe('refresh_token_reused');
      expect(stored(session.id)).toMatchObject({ revokedReason: 'reuse_detected' });
      expect(revocations.willRevokeSessions).toHaveBeenCalledWith([session.id]);
      // The successor dies with the session.
      const successor = successorOf(refreshToken, refreshKey);
      expect(await rejection(service.rotate(successor))).toBe('session_revoked');
    });

    it('should treat an older ancestor as reuse even inside the grace window', async () => {
      const { session, refreshToken } = await open();
      const second = await service.rotate(refreshToken);
      await service.rotate(second.refreshToken);
      expect(await rejection(service.rotate(refreshToken))).toBe('refresh_token_reused');
      expect(stored(session.id).revokedReason).toBe('reuse_detected');
    });

    it(`should recognise reuse up to ${REUSE_DETECTION_DEPTH} rotations back, not further`, async () => {
      const { session, refreshToken } = await open();
      const chain = [refreshToken];
      for (let i = 0; i <= REUSE_DETECTION_DEPTH; i++) {
        chain.push((await service.rotate(chain[chain.length - 1])).refreshToken);
      }
      clock.advance(config.refreshReuseGrace + 1);
      // The very first token is one step too old: merely invalid, the session lives.
      expect(await rejection(service.rotate(chain[0]))).toBe('invalid_refresh_token');
      expect(stored(session.id).revokedAt).toBeNull();
      expect(await rejection(service.rotate(chain[1]))).toBe('refresh_token_reused');
    });

    it('should count a token of the retired chain as reuse after a restart', async () => {
      const { session, refreshToken } = await open();
      const restarted = await service.restartChain(stored(session.id), tx);
      expect(stored(session.id)).toMatchObject({ generation: 0, rotatedAt: null });
      expect(await rejection(service.rotate(refreshToken))).toBe('refresh_token_reused');
      expect(await rejection(service.rotate(restarted.refreshToken))).toBe('session_revoked');
    });

    it('should refuse a well-formed token of another chain without revoking', async () => {
      const { session } = await open();
      const stranger = legacyToken(session.id);
      expect(await rejection(service.rotate(stranger))).toBe('invalid_refresh_token');
      expect(stored(session.id).revokedAt).toBeNull();
    });

    it('should refuse a malformed token and an unknown session', async () => {
      expect(await rejection(service.rotate('not-a-token'))).toBe('invalid_refresh_token');
      expect(await rejection(service.rotate(legacyToken(randomUUID())))).toBe('session_revoked');
    });
  });

  describe('the grace window boundary', () => {
    const graceMs = config.refreshReuseGrace * 1000;

    it('should give every sequential re-presentation inside the window the same successor, up to its last millisecond', async () => {
      const { session, refreshToken } = await open();
      clock.advance(60);
      const rotatedAt = clock.nowMs();
      const first = await service.rotate(refreshToken);
      for (const offsetMs of [0, 1, graceMs / 2, graceMs - 1, graceMs]) {
        clock.advance((rotatedAt + offsetMs - clock.nowMs()) / 1000);
        const twin = await service.rotate(refreshToken);
        expect(twin.refreshToken).toBe(first.refreshToken);
        // A twin neither forks nor moves the chain, nor restarts the window.
        expect(stored(session.id)).toMatchObject({
          refreshTokenHash: hashRefreshToken(first.refreshToken),
          generation: 1,
          rotatedAt: new Date(rotatedAt),
          revokedAt: null,
        });
      }
      // The chain goes on from the one successor everybody got.
      const next = await service.rotate(first.refreshToken);
      expect(next.refreshToken).toBe(successorOf(first.refreshToken, refreshKey));
      expect(stored(session.id).generation).toBe(2);
    });

    it('should count the spent token as reuse one millisecond after the window, and revoke the chain', async () => {
      const { session, refreshToken } = await open();
      const first = await service.rotate(refreshToken);
      clock.advance(config.refreshReuseGrace);
      // The last millisecond inside: still a twin (and it does not extend the window).
      expect((await service.rotate(refreshToken)).refreshToken).toBe(first.refreshToken);
      clock.advance(0.001);
      expect(await rejection(service.rotate(refreshToken))).toBe('refresh_token_reused');
      expect(stored(session.id)).toMatchObject({
        revokedAt: clock.now(),
        revokedReason: 'reuse_detected',
      });
      expect(revocations.willRevokeSessions).toHaveBeenCalledWith([session.id]);
      // The successor handed out inside the window dies with the session.
      expect(await rejection(service.rotate(first.refreshToken))).toBe('session_revoked');
    });
  });

  describe('expiry', () => {
    it('should end a session at its absolute expiry, however recently used', async () => {
      let { refreshToken } = await open();
      for (let day = 0; day < 29; day++) {
        clock.advance(DAY);
        ({ refreshToken } = await service.rotate(refreshToken));
      }
      clock.advance(DAY);
      expect(await rejection(service.rotate(refreshToken))).toBe('session_expired');
    });

    it('should end a session left unused for the idle lifetime', async () => {
      const { refreshToken } = await open();
      clock.advance(config.sessionIdleTtl - 1);
      const { refreshToken: next } = await service.rotate(refreshToken);
      clock.advance(config.sessionIdleTtl);
      expect(await rejection(service.rotate(next))).toBe('session_expired');
    });

    it('should cap access tokens at the session expiry, and never below one second', async () => {
      const { session } = await open();
      expect(service.accessTokenLifetime(session)).toBe(config.accessTtl);
      clock.advance(config.sessionMaxAge - 100);
      expect(service.accessTokenLifetime(session)).toBe(100);
      clock.advance(200);
      expect(service.accessTokenLifetime(session)).toBe(1);
    });

    it('should report the earlier of the idle and the absolute expiry', async () => {
      const { session } = await open();
      expect(service.effectiveExpiry(session).getTime()).toBe(
        clock.nowMs() + config.sessionIdleTtl * 1000,
      );
      session.lastUsedAt = new Date(session.expiresAt.getTime() - 1000);
      expect(service.effectiveExpiry(session)).toEqual(session.expiresAt);
    });

    it('should not end an expired or idle session on request (session_not_found)', async () => {
      const { session } = await open();
      clock.advance(config.sessionIdleTtl);
      expect(await rejection(service.endOwned(userId, session.id))).toBe('session_not_found');
    });
  });

  describe('revocation', () => {
    it("should end only the caller's own active sessions", async () => {
      const { session } = await open();
      expect(await rejection(service.endOwned(randomUUID(), session.id))).toBe('session_not_found');
      await service.endOwned(userId, session.id);
      expect(stored(session.id).revokedReason).toBe('logout');
      expect(await rejection(service.endOwned(userId, session.id))).toBe('session_not_found');
    });

    it('should end every session but the one kept, announcing them first', async () => {
      const kept = await open();
      const others = [await open(), await open()];
      expect(await service.revokeAll(userId, 'password_changed', tx, kept.session.id)).toBe(2);
      expect(revocations.willRevokeSessionsOf).toHaveBeenCalledWith(userId, kept.session.id, tx);
      expect(stored(kept.session.id).revokedAt).toBeNull();
      for (const other of others) {
        expect(stored(other.session.id).revokedReason).toBe('password_changed');
      }
    });

    it('should not restart the chain of a revoked session', async () => {
      const { session } = await open();
      await service.revoke(session.id, 'logout');
      expect(await rejection(service.lockActive(session.id, tx))).toBe('session_revoked');
    });
  });
});
