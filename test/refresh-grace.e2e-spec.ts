import type { FakeClock } from '../src/common/clock/fake-clock';
import { fakeClockOf } from './helpers/fake-clock';
import { bearer, createTestApp, signedInUser, TestApp, TokenPair } from './helpers/test-app';

const GRACE_SECONDS = 10;

/**
 * The edge of REFRESH_REUSE_GRACE, end to end, on the app's clock (no sleeps): a spent refresh
 * token presented again up to the window's last millisecond gets the same successor; one
 * millisecond later it is reuse, and the whole session is revoked.
 */
describe('POST /refresh at the edge of the grace window', () => {
  let t: TestApp;
  let clock: FakeClock;

  beforeAll(async () => {
    t = await createTestApp({ REFRESH_REUSE_GRACE: `${GRACE_SECONDS}s` });
    clock = fakeClockOf(t);
  });

  afterAll(async () => {
    await t.close();
  });

  const refresh = (refreshToken: string) => t.http.post('/refresh').set(bearer(refreshToken));

  /** A signed-in user whose first refresh token has just been rotated (now) into `rotated`. */
  async function justRotated() {
    const user = await signedInUser(t.http);
    const response = await refresh(user.tokens.refresh_token);
    expect(response.status).toBe(200);
    return { spent: user.tokens.refresh_token, rotated: response.body as TokenPair };
  }

  it('should give sequential re-presentations inside the window the same successor, up to its last millisecond', async () => {
    const { spent, rotated } = await justRotated();
    for (const step of [0, GRACE_SECONDS / 2, GRACE_SECONDS / 2]) {
      clock.advance(step);
      const again = await refresh(spent);
      expect(again.status).toBe(200);
      const pair = again.body as TokenPair;
      expect(pair.refresh_token).toBe(rotated.refresh_token);
      // A new access token in the same, still living session.
      await t.http.get('/protected').set(bearer(pair.access_token)).expect(200);
    }
    // The one successor goes on as the chain.
    const next = await refresh(rotated.refresh_token);
    expect(next.status).toBe(200);
    await t.http
      .get('/protected')
      .set(bearer((next.body as TokenPair).access_token))
      .expect(200);
  });

  it('should detect reuse one millisecond after the window and revoke the chain', async () => {
    const { spent, rotated } = await justRotated();
    clock.advance(GRACE_SECONDS);
    // The last millisecond inside (measured from the rotation, not from this twin).
    expect(((await refresh(spent)).body as TokenPair).refresh_token).toBe(rotated.refresh_token);
    clock.advance(0.001);
    const reuse = await refresh(spent);
    expect(reuse.status).toBe(401);
    expect(reuse.body.code).toBe('refresh_token_reused');
    // The successor handed out inside the window and every access token die with the session.
    const successor = await refresh(rotated.refresh_token);
    expect(successor.status).toBe(401);
    expect(successor.body.code).toBe('session_revoked');
    const access = await t.http.get('/protected').set(bearer(rotated.access_token)).expect(401);
    expect(access.body.code).toBe('session_revoked');
  });
});
