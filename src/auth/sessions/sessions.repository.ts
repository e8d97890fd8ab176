import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import {
  EntityManager,
  IsNull,
  LessThan,
  MoreThan,
  Not,
  QueryDeepPartialEntity,
  Repository,
} from 'typeorm';
import { Transaction, Transactions } from '../../database/transactions';
import { Session } from './session.entity';

/** Every query on `sessions`. */
@Injectable()
export class SessionsRepository {
  constructor(
    @InjectRepository(Session) private readonly sessions: Repository<Session>,
    private readonly transactions: Transactions,
  ) {}

  async insert(session: Session, tx: Transaction): Promise<void> {
    await this.transactions.write(tx, (manager) => manager.insert(Session, session));
  }

  findById(id: string): Promise<Session | null> {
    return this.sessions.findOneBy({ id });
  }

  /** The session, locked until `tx` ends (on SQLite writers take turns anyway). */
  findByIdForUpdate(id: string, tx: Transaction): Promise<Session | null> {
    const query = tx.createQueryBuilder(Session, 'session').where('session.id = :id', { id });
    if (tx.connection.options.type === 'postgres') {
      query.setLock('for_no_key_update');
    }
    return query.getOne();
  }

  /** Ids of the user's sessions not revoked yet (expired ones included). */
  async unrevokedIdsOfUser(userId: string, tx: Transaction): Promise<string[]> {
    const rows = await tx.find(Session, {
      where: { userId, revokedAt: IsNull() },
      select: { id: true },
    });
    return rows.map((row) => row.id);
  }

  /**
   * Moves the chain on from `expectedHash` to the `set` values, only while `expectedHash` is still
   * the current token of a session not revoked: of two racing requests, exactly one wins.
   */
  async compareAndSetChain(
    id: string,
    expectedHash: string,
    set: QueryDeepPartialEntity<Session>,
    tx?: Transaction,
  ): Promise<boolean> {
    const result = await this.transactions.write(tx, (manager: EntityManager) =>
      manager.update(Session, { id, refreshTokenHash: expectedHash, revokedAt: IsNull() }, set),
    );
    return result.affected === 1;
  }

  /** Revokes one session; false when it was already revoked or does not exist. */
  async revoke(id: string, reason: string, now: Date, tx?: Transaction): Promise<boolean> {
    const result = await this.transactions.write(tx, (manager) =>
      manager.update(
        Session,
        { id, revokedAt: IsNull() },
        { revokedAt: now, revokedReason: reason },
      ),
    );
    return result.affected === 1;
  }

  /**
   * Revokes the one session `id` of the user if it is still active (not revoked, not past its
   * absolute or idle expiry), in one statement; false otherwise.
   */
  async revokeIfActive(
    userId: string,
    id: string,
    reason: string,
    now: Date,
    idleCutoff: Date,
  ): Promise<boolean> {
    const result = await this.transactions.write(undefined, (manager) =>
      manager.update(
        Session,
        {
          id,
          userId,
          revokedAt: IsNull(),
          expiresAt: MoreThan(now),
          lastUsedAt: MoreThan(idleCutoff),
        },
        { revokedAt: now, revokedReason: reason },
      ),
    );
    return result.affected === 1;
  }

  /**
   * Revokes every session of the user not revoked yet, except `except`, in one set-based
   * statement: a session inserted before it runs is caught, whatever its id.
   */
  async revokeAllOfUser(
    userId: string,
    reason: string,
    now: Date,
    except: string | undefined,
    tx: Transaction,
  ): Promise<number> {
    const result = await this.transactions.write(tx, (manager) =>
      manager.update(
        Session,
        { userId, revokedAt: IsNull(), ...(except === undefined ? {} : { id: Not(except) }) },
        { revokedAt: now, revokedReason: reason },
      ),
    );
    return result.affected ?? 0;
  }

  /**
   * The user's sessions not revoked, before their absolute expiry and used since `idleCutoff`,
   * newest first, at most `limit`.
   */
  listActive(userId: string, now: Date, idleCutoff: Date, limit: number): Promise<Session[]> {
    return this.sessions.find({
      where: {
        userId,
        revokedAt: IsNull(),
        expiresAt: MoreThan(now),
        lastUsedAt: MoreThan(idleCutoff),
      },
      order: { createdAt: 'DESC' },
      take: limit,
    });
  }

  /** The user's unrevoked sessions but the `keep` most recently used: those a cap would end. */
  async idsBeyondNewest(userId: string, keep: number, tx: Transaction): Promise<string[]> {
    const rows = await this.newest(tx, userId).select('session.id', 'id').offset(keep).getRawMany<{
      id: string;
    }>();
    return rows.map((row) => row.id);
  }

  /**
   * Revokes every unrevoked session of the user but the `keep` most recently used, in one
   * set-based statement whatever their number; returns how many ended.
   */
  async revokeBeyondNewest(
    userId: string,
    keep: number,
    reason: string,
    now: Date,
    tx: Transaction,
  ): Promise<number> {
    const result = await this.transactions.write(tx, (manager) => {
      const kept = this.newest(manager, userId, 'kept').select('kept.id').limit(keep);
      return manager
        .createQueryBuilder()
        .update(Session)
        .set({ revokedAt: now, revokedReason: reason })
        .where('user_id = :userId AND revoked_at IS NULL', { userId })
        .andWhere(`id NOT IN (${kept.getQuery()})`)
        .setParameters(kept.getParameters())
        .execute();
    });
    return result.affected ?? 0;
  }

  /** The user's unrevoked sessions, most recently used first. */
  private newest(manager: EntityManager, userId: string, alias = 'session') {
    return manager
      .createQueryBuilder(Session, alias)
      .where(`${alias}.user_id = :userId AND ${alias}.revoked_at IS NULL`, { userId })
      .orderBy(`${alias}.last_used_at`, 'DESC')
      .addOrderBy(`${alias}.id`, 'ASC');
  }

  async deleteExpiredBefore(cutoff: Date): Promise<number> {
    const result = await this.transactions.write(undefined, (manager) =>
      manager.delete(Session, { expiresAt: LessThan(cutoff) }),
    );
    return result.affected ?? 0;
  }

  /**
   * Ids of revoked sessions whose newest access token expires after `liveAfter`; for rows that
   * do not record it, those revoked after `revokedAfter`.
   */
  async idsRevokedWithLiveTokens(liveAfter: Date, revokedAfter: Date): Promise<string[]> {
    const rows = await this.sessions.find({
      where: [
        { revokedAt: Not(IsNull()), accessExpiresAt: MoreThan(liveAfter) },
        { revokedAt: MoreThan(revokedAfter), accessExpiresAt: IsNull() },
      ],
      select: { id: true },
    });
    return rows.map((row) => row.id);
  }
}
