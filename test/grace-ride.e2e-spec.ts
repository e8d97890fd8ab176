import { bearer, createTestApp, signedInUser, TestApp, TokenPair } from './helpers/test-app';

/**
 * The grace window gives a concurrent twin the same successor; it must not become a free ride
 * for a second holder of the token.
 */
describe('the grace window and a second holder', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ REFRESH_REUSE_GRACE: '30s' });
  });
  afterAll(() => t.close());

  const refresh = (token: string) => t.http.post('/refresh').set(bearer(token));

  it('should treat a spent token as reuse once its successor has been spent, even inside the window', async () => {
    const owner = await signedInUser(t.http);
    const stolen = owner.tokens.refresh_token;
    const first = (await refresh(stolen).expect(200)).body as TokenPair;
    await refresh(first.refresh_token).expect(200);
    // Seconds later, well inside the window, the second holder comes with the stolen token.
    const late = await refresh(stolen);
    expect(late.status).toBe(401);
    expect(late.body.code).toBe('refresh_token_reused');
  });

  it('should list session times to the minute, never the moment of the last refresh', async () => {
    const owner = await signedInUser(t.http);
    const pair = (await refresh(owner.tokens.refresh_token).expect(200)).body as TokenPair;
    const list = await t.http.get('/sessions').set(bearer(pair.access_token)).expect(200);
    const [session] = list.body as { lastUsedAt: string; expiresAt: string }[];
    for (const time of [session.lastUsedAt, session.expiresAt]) {
      expect(time).toMatch(/:00\.000Z$/);
    }
    expect(Date.now() - Date.parse(session.lastUsedAt)).toBeLessThan(2 * 60_000);
  });
});
