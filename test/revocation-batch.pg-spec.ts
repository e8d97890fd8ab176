import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import {
  MAX_CHECKS_PER_QUERY,
  RevocationQueryRepository,
} from '../src/auth/revocation/revocation-query.repository';
import { sql, usingPostgres } from './helpers/database';
import { decodePayload } from './helpers/tokens';
import { bearer, createTestApp, signIn, signUp, TestApp, TokenPair } from './helpers/test-app';

const BATCH_STATEMENT = 'revocation-check-batch';

/**
 * On PostgreSQL the revocation checks of one turn of the event loop share one statement. Each
 * request must still get its own answer, and a check must never join a statement already sent
 * (it could then miss a revocation committed before its request arrived).
 */
describe('revocation checks sharing one statement (PostgreSQL)', () => {
  let t: TestApp;
  let repository: RevocationQueryRepository;
  let db: DataSource;
  let pool: Pool;
  let statements: { size: number }[];

  beforeAll(async () => {
    if (!usingPostgres()) {
      throw new Error('Run this suite with `npm run test:pg` (it needs PostgreSQL)');
    }
    t = await createTestApp();
    repository = t.app.get(RevocationQueryRepository);
    db = t.app.get(DataSource);
    pool = (db.driver as unknown as { master: Pool }).master;
    const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
    jest.spyOn(pool, 'query').mockImplementation(((config: {
      name?: string;
      values?: unknown[][];
    }) => {
      if (config?.name === BATCH_STATEMENT) {
        statements.push({ size: config.values![0].length });
      }
      return query(config);
    }) as never);
  });

  beforeEach(() => {
    statements = [];
  });

  afterAll(async () => {
    jest.restoreAllMocks();
    await t?.close();
  });

  const claimsOf = (tokens: TokenPair) => {
    const payload = decodePayload(tokens.access_token);
    return { jti: payload.jti as string, sid: payload.sid as string };
  };

  /** `count` sessions of two users; a random half of them revoked through the API. */
  async function sessions(count: number): Promise<{ tokens: TokenPair; revoked: boolean }[]> {
    const users = [await signUp(t.http), await signUp(t.http)];
    const all: { tokens: TokenPair; revoked: boolean }[] = [];
    for (let i = 0; i < count; i++) {
      all.push({ tokens: await signIn(t.http, users[i % 2].email), revoked: Math.random() < 0.5 });
    }
    for (const session of all.filter((s) => s.revoked)) {
      await t.http.post('/revoke').set(bearer(session.tokens.access_token)).expect(200);
    }
    statements = []; // the checks of those requests are not the test's
    return all;
  }

  it('should answer each check of one turn from a single statement, row by row', async () => {
    const all = await sessions(24);
    // A token revoked alone (its session live) and ids nobody knows, mixed in.
    const unknown = { jti: 'no-such-jti', sid: '00000000-0000-4000-8000-000000000000' };
    const checks = [
      ...all.map((s) => ({ ...claimsOf(s.tokens), revoked: s.revoked })),
      { ...unknown, revoked: true },
    ].sort(() => Math.random() - 0.5);
    const answers = await Promise.all(checks.map((c) => repository.find(c.jti, c.sid)));
    expect(statements).toEqual([{ size: checks.length }]);
    answers.forEach((answer, i) => {
      const expected = checks[i].revoked;
      // A revoked session: both its access token and the session are revoked (POST /revoke).
      expect(answer.sessionActive).toBe(!expected);
      if (checks[i].jti !== unknown.jti) {
        expect(answer.tokenRevoked).toBe(expected);
      }
    });
  });

  it('should start another statement once one holds the most checks it may', async () => {
    const [session] = await sessions(1);
    const { jti, sid } = claimsOf(session.tokens);
    const count = MAX_CHECKS_PER_QUERY + 10;
    const answers = await Promise.all(
      Array.from({ length: count }, () => repository.find(jti, sid)),
    );
    expect(statements.map((s) => s.size)).toEqual([MAX_CHECKS_PER_QUERY, 10]);
    expect(new Set(answers.map((a) => a.sessionActive))).toEqual(new Set([!session.revoked]));
  });

  it('should never let a check join a statement already sent', async () => {
    for (let round = 0; round < 10; round++) {
      const [first, second] = await sessions(2);
      const a = claimsOf(first.tokens);
      const b = claimsOf(second.tokens);
      const early = repository.find(a.jti, a.sid);
      await nextTurn(); // the statement carrying the first check is on its way
      // Committed before the second check is asked: it must see it, whatever the first statement saw.
      await sql(db, 'UPDATE sessions SET revoked_at = ? WHERE id = ?', [new Date(), b.sid]);
      const late = await repository.find(b.jti, b.sid);
      await early;
      expect(late.sessionActive).toBe(false);
      expect(statements).toEqual([{ size: 1 }, { size: 1 }]);
    }
  });

  it('should give every concurrent request its own answer, whatever the order', async () => {
    const all = await sessions(20);
    for (let round = 0; round < 10; round++) {
      statements = [];
      const order = [...all].sort(() => Math.random() - 0.5);
      const statuses = await Promise.all(
        order.map(async (session) => {
          await new Promise((done) => setTimeout(done, Math.random() * 3));
          const response = await t.http.get('/protected').set(bearer(session.tokens.access_token));
          return [response.status, session.revoked ? 401 : 200];
        }),
      );
      statuses.forEach(([actual, expected]) => expect(actual).toBe(expected));
      const checked = statements.reduce((sum, s) => sum + s.size, 0);
      expect(checked).toBe(all.length);
    }
  });
});
