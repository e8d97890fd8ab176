import { performance } from 'node:perf_hooks';
import { bearer, createTestApp, signedInUser, TestApp, TokenPair } from './helpers/test-app';

/**
 * Two access-token exchanges (`POST /refresh` with `Bearer <access token>`, the seed's workflow)
 * of one token racing each other, run many times with each request started at its own random
 * offset. The promise (docs/sessions-and-tokens.md, AuthService.exchangeAccessToken): the
 * exchange is one unit of work with the session locked, so exactly one succeeds and the other
 * counts as reuse, which revokes the session: there is no grace window for access tokens.
 */
const ROUNDS = 30;

const randomOffset = () => Math.floor(Math.random() * 12);
const after = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Timed {
  status: number;
  body: { code?: string } & Partial<TokenPair>;
  startedAt: number;
  endedAt: number;
}

describe('two exchanges of one access token racing each other', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  async function exchange(accessToken: string, offset: number): Promise<Timed> {
    await after(offset);
    const startedAt = performance.now();
    const response = await t.http.post('/refresh').set(bearer(accessToken));
    return {
      status: response.status,
      body: response.body as Timed['body'],
      startedAt,
      endedAt: performance.now(),
    };
  }

  it(`should let exactly one succeed and count the other as reuse, revoking the session (${ROUNDS} rounds)`, async () => {
    const broken: { round: number; what: string }[] = [];
    let overlapping = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const user = await signedInUser(t.http);
      const access = user.tokens.access_token;
      const [a, b] = await Promise.all([
        exchange(access, randomOffset()),
        exchange(access, randomOffset()),
      ]);
      if (a.startedAt < b.endedAt && b.startedAt < a.endedAt) {
        overlapping++;
      }
      const outcome = [a, b].map((r) => `${r.status} ${r.body.code ?? ''}`.trim()).sort();
      if (outcome.join(' | ') !== '200 | 401 refresh_token_reused') {
        broken.push({ round, what: `answers ${outcome.join(' | ')}` });
        continue;
      }
      // Whatever the winner got is dead too: the reuse revoked the whole session.
      const winner = (a.status === 200 ? a : b).body as TokenPair;
      const afterAccess = await t.http.get('/protected').set(bearer(winner.access_token));
      const afterRefresh = await t.http
        .post('/refresh')
        .send({ refresh_token: winner.refresh_token });
      const original = await t.http.get('/protected').set(bearer(access));
      const seen = [afterAccess, afterRefresh, original].map(
        (r) => [r.status, (r.body as { code?: string }).code] as const,
      );
      const expected = [
        [401, 'session_revoked'],
        [401, 'session_revoked'],
        [401, 'token_revoked'],
      ];
      if (JSON.stringify(seen) !== JSON.stringify(expected)) {
        broken.push({ round, what: `afterwards ${JSON.stringify(seen)}` });
      }
    }
    expect(broken).toEqual([]);
    // The offsets must have produced real races: in some rounds both requests were in flight.
    expect(overlapping).toBeGreaterThan(0);
  });
});
