import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';

export interface RevocationRow {
  tokenRevoked: boolean;
  /** False when the session is revoked or gone (with its account). */
  sessionActive: boolean;
}

/**
 * The revocation check of the shared mode, as one statement on PostgreSQL. It goes straight to
 * the driver's pool as a named (prepared) statement: PostgreSQL plans it once per connection, and
 * TypeORM's query runner stays off the hot path (docs/performance.md has the figures).
 */
@Injectable()
export class RevocationQueryRepository {
  private readonly pool: Pool;

  constructor(@InjectDataSource() dataSource: DataSource) {
    this.pool = (dataSource.driver as unknown as { master: Pool }).master;
  }

  async find(jti: string, sessionId: string): Promise<RevocationRow> {
    const {
      rows: [row],
    } = await this.pool.query<{ token: boolean; session: boolean | null }>({
      name: 'revocation-check',
      text: `SELECT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = $1) AS token,
                    (SELECT revoked_at IS NULL FROM sessions WHERE id = $2) AS session`,
      values: [jti, sessionId],
    });
    return { tokenRevoked: row.token, sessionActive: row.session === true };
  }
}
