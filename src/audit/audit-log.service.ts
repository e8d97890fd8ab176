import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Logger as Pino } from 'pino';
import { LessThan, Repository } from 'typeorm';
import { Clock } from '../common/clock/clock';
import { ROOT_LOGGER } from '../common/logging/logging.module';
import { Transaction, Transactions } from '../database/transactions';
import { AuditEvent } from './audit-event.entity';

/**
 * UUIDv7 (RFC 9562): the time in milliseconds, then a counter that orders the ids made in one
 * millisecond, then random bits. Ordered by id, the events of one process come in the order they
 * were recorded, however close together; the id also makes a stable pagination cursor.
 */
function timeOrderedId(ms: number, sequence: number): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(ms, 0, 6);
  bytes[6] = 0x70 | ((sequence >> 8) & 0x0f);
  bytes[7] = sequence & 0xff;
  bytes[8] = 0x80 | (bytes[8] & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export interface AuditFilter {
  userId?: string;
  type?: string;
  since?: Date;
  until?: Date;
  /** The id of the last event of the previous page. */
  before?: string;
  /** Only events after this one, oldest first (to follow the log). */
  after?: string;
}

/** Where a request came from, as far as an event records it. */
export interface AuditClient {
  ip?: string;
  userAgent?: string;
  requestId?: string;
}

export interface AuditEntry {
  userId?: string | null;
  actorId?: string;
  client?: AuditClient;
  outcome?: 'success' | 'failure';
  /** Codes and ids only: never a password, hash, code or token. */
  details?: Record<string, string | number | boolean>;
}

/**
 * The audit log: one `audit_events` row per security event, written in the transaction of the
 * change it records when there is one, and one structured log line (`audit`) each.
 */
@Injectable()
export class AuditLog {
  private lastMs = 0;
  private sequence = 0;

  constructor(
    @InjectRepository(AuditEvent) private readonly events: Repository<AuditEvent>,
    private readonly transactions: Transactions,
    private readonly clock: Clock,
    @Inject(ROOT_LOGGER) private readonly logger: Pino,
  ) {}

  async record(type: string, entry: AuditEntry = {}, tx?: Transaction): Promise<void> {
    const at = this.clock.now();
    const event = Object.assign(new AuditEvent(), {
      id: this.nextId(at.getTime()),
      at,
      type,
      userId: entry.userId ?? null,
      actorId: entry.actorId ?? null,
      ip: entry.client?.ip?.slice(0, 64) ?? null,
      userAgent: entry.client?.userAgent?.slice(0, 512) ?? null,
      requestId: entry.client?.requestId?.slice(0, 128) ?? null,
      outcome: entry.outcome ?? 'success',
      details: entry.details ? JSON.stringify(entry.details).slice(0, 1024) : null,
    });
    await this.transactions.write(tx, (manager) => manager.insert(AuditEvent, event));
    this.logger.info(
      {
        audit: {
          type,
          userId: event.userId ?? undefined,
          actorId: event.actorId ?? undefined,
          outcome: event.outcome,
          requestId: event.requestId ?? undefined,
          details: entry.details,
        },
      },
      'audit',
    );
  }

  private nextId(ms: number): string {
    // The counter restarts each millisecond; a clock that steps back keeps the last one's order.
    if (ms > this.lastMs) {
      this.lastMs = ms;
      this.sequence = 0;
    } else {
      this.sequence = Math.min(this.sequence + 1, 0xfff);
    }
    return timeOrderedId(this.lastMs, this.sequence);
  }

  /**
   * Events newest first, up to `limit`, older than the event `before` (keyset pagination on the
   * time-ordered id: events recorded meanwhile never shift a page); or, with `after`, the events
   * since that one, oldest first. `type` is exact, or a prefix when it ends in `.*` (`mfa.*`).
   */
  search(filter: AuditFilter, limit: number): Promise<AuditEvent[]> {
    const query = this.events
      .createQueryBuilder('event')
      .orderBy('event.id', filter.after === undefined ? 'DESC' : 'ASC')
      .take(limit);
    if (filter.userId !== undefined) {
      query.andWhere('event.user_id = :userId', { userId: filter.userId });
    }
    if (filter.type?.endsWith('.*')) {
      query.andWhere(`event.type LIKE :type ESCAPE '\\'`, {
        type: `${filter.type.slice(0, -1).replace(/[\\%_]/g, (c) => `\\${c}`)}%`,
      });
    } else if (filter.type !== undefined) {
      query.andWhere('event.type = :type', { type: filter.type });
    }
    if (filter.since !== undefined) {
      query.andWhere('event.at >= :since', { since: filter.since });
    }
    if (filter.until !== undefined) {
      query.andWhere('event.at < :until', { until: filter.until });
    }
    if (filter.before !== undefined) {
      query.andWhere('event.id < :before', { before: filter.before });
    }
    if (filter.after !== undefined) {
      query.andWhere('event.id > :after', { after: filter.after });
    }
    return query.getMany();
  }

  /** Events of a user, newest first (for tests). */
  findByUser(userId: string): Promise<AuditEvent[]> {
    return this.events.find({ where: { userId }, order: { at: 'DESC', id: 'DESC' } });
  }

  findAll(): Promise<AuditEvent[]> {
    return this.events.find({ order: { at: 'DESC', id: 'DESC' } });
  }

  async purgeBefore(before: Date): Promise<number> {
    const result = await this.transactions.write(undefined, (manager) =>
      manager.delete(AuditEvent, { at: LessThan(before) }),
    );
    return result.affected ?? 0;
  }
}
