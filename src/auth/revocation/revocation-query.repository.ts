import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';

export interface RevocationRow {
  tokenRevoked: boolean;
  /** False when the session is revoked or gone (with its account). */
  sessionActive: boolean;
}

/** The most checks one statement carries; more in one turn of the event loop start another. */
export const MAX_CHECKS_PER_QUERY = 256;

interface Batch {
  jtis: string[];
  sessionIds: string[];
  waiting: { resolve: (row: RevocationRow) => void; reject: (error: unknown) => void }[];
}

/**
 * The revocation check of the shared mode, on PostgreSQL. The checks that arrive within one turn
 * of the event loop share one statement (`unnest` of the ids, one row back per check): a check
 * only joins a statement that has not been sent yet, and nothing is remembered afterwards, so a
 * revocation committed before a request arrived is always seen by its check. The statement goes
 * straight to the driver's pool as a named (prepared) statement: PostgreSQL plans it once per
 * connection, and TypeORM's query runner stays off the hot path (docs/performance.md has the
 * figures).
 */
@Injectable()
export class RevocationQueryRepository {
  private readonly pool: Pool;
  private pending: Batch | undefined;

  constructor(@InjectDataSource() dataSource: DataSource) {
    this.pool = (dataSource.driver as unknown as { master: Pool }).master;
  }

  find(jti: string, sessionId: string): Promise<RevocationRow> {
    let batch = this.pending;
    if (batch === undefined) {
      const created: Batch = { jtis: [], sessionIds: [], waiting: [] };
      batch = this.pending = created;
      // After the other requests read in this turn have had their turn to join.
      setImmediate(() => this.send(created));
    }
    batch.jtis.push(jti);
    batch.sessionIds.push(sessionId);
    const answer = new Promise<RevocationRow>((resolve, reject) =>
      batch.waiting.push({ resolve, reject }),
    );
    if (batch.jtis.length >= MAX_CHECKS_PER_QUERY) {
      this.send(batch);
    }
    return answer;
  }

  private send(batch: Batch): void {
    if (this.pending !== batch) {
      return; // already sent, because it was full
    }
    this.pending = undefined;
    this.pool
      .query<{ i: string; token: boolean; session: boolean | null }>({
        name: 'revocation-check-batch',
        text: `SELECT c.i,
                      EXISTS (SELECT 1 FROM revoked_tokens r WHERE r.jti = c.jti) AS token,
                      (SELECT s.revoked_at IS NULL FROM sessions s WHERE s.id = c.sid) AS session
                 FROM unnest($1::varchar[], $2::varchar[]) WITH ORDINALITY AS c(jti, sid, i)`,
        values: [batch.jtis, batch.sessionIds],
      })
      .then(
        ({ rows }) => {
          const answered = new Set<number>();
          for (const row of rows) {
            const index = Number(row.i) - 1;
            const waiter = batch.waiting[index];
            if (waiter !== undefined && !answered.has(index)) {
              answered.add(index);
              waiter.resolve({ tokenRevoked: row.token, sessionActive: row.session === true });
            }
          }
          if (answered.size !== batch.waiting.length) {
            const missing = new Error('The revocation check did not answer every request');
            batch.waiting.forEach((waiter, index) => {
              if (!answered.has(index)) {
                waiter.reject(missing);
              }
            });
          }
        },
        (error: unknown) => batch.waiting.forEach((waiter) => waiter.reject(error)),
      );
  }
}
