import type { FakeClock } from '../src/common/clock/fake-clock';
import { fakeClockOf } from './helpers/fake-clock';
import {
  bearer,
  createTestApp,
  DEFAULT_PASSWORD,
  signIn,
  signUp,
  TestApp,
  TokenPair,
} from './helpers/test-app';
import { decodePayload } from './helpers/tokens';

const DAY = 86400;
const IDLE_DAYS = 14;
const MAX_AGE_DAYS = 30;

const sid = (pair: TokenPair) => decodePayload(pair.access_token).sid as string;

/**
 * `GET /sessions` lists only sessions that may still be used: not past their idle expiry
 * (SESSION_IDLE_TTL after the last sign-in or refresh) nor their absolute one (SESSION_MAX_AGE
 * after the sign-in). Time moves on the app's clock; access tokens keep the real time, so the
 * caller's token stays valid while its sessions age.
 */
describe('GET /sessions and expired sessions', () => {
  let t: TestApp;
  let clock: FakeClock;

  beforeAll(async () => {
    t = await createTestApp({
      SESSION_IDLE_TTL: `${IDLE_DAYS}d`,
      SESSION_MAX_AGE: `${MAX_AGE_DAYS}d`,
      REFRESH_REUSE_GRACE: '0',
    });
    clock = fakeClockOf(t);
  });

  afterAll(async () => {
    await t.close();
  });

  async function listed(caller: TokenPair): Promise<{ id: string; expiresAt: string }[]> {
    const response = await t.http.get('/sessions').set(bearer(caller.access_token)).expect(200);
    return response.body as { id: string; expiresAt: string }[];
  }

  const ids = async (caller: TokenPair) => (await listed(caller)).map((s) => s.id).sort();

  async function refreshed(pair: TokenPair): Promise<TokenPair> {
    const response = await t.http.post('/refresh').send({ refresh_token: pair.refresh_token });
    expect(response.status).toBe(200);
    return response.body as TokenPair;
  }

  /** As GET /sessions lists times: cut to the minute. */
  const toMinute = (ms: number) => new Date(Math.floor(ms / 60_000) * 60_000).toISOString();

  async function refusal(pair: TokenPair): Promise<string> {
    const response = await t.http.post('/refresh').send({ refresh_token: pair.refresh_token });
    expect(response.status).toBe(401);
    return (response.body as { code: string }).code;
  }

  it('should hide a session from the millisecond its idle expiry is reached', async () => {
    const user = await signUp(t.http);
    const idle = await signIn(t.http, user.email, DEFAULT_PASSWORD);
    const openedAt = clock.nowMs();
    let caller = await signIn(t.http, user.email, DEFAULT_PASSWORD);
    clock.advance(7 * DAY);
    caller = await refreshed(caller);

    clock.advance((openedAt + IDLE_DAYS * DAY * 1000 - 1 - clock.nowMs()) / 1000);
    const before = await listed(caller);
    expect(before.map((s) => s.id).sort()).toEqual([sid(idle), sid(caller)].sort());
    expect(before.find((s) => s.id === sid(idle))?.expiresAt).toBe(
      toMinute(openedAt + IDLE_DAYS * DAY * 1000),
    );

    clock.advance(0.001);
    expect(await ids(caller)).toEqual([sid(caller)]);
    // The listing and the session rules agree: the hidden one cannot be refreshed any more.
    expect(await refusal(idle)).toBe('session_expired');
  });

  it('should hide a session, however recently refreshed, from the millisecond its absolute expiry is reached', async () => {
    const user = await signUp(t.http);
    let old = await signIn(t.http, user.email, DEFAULT_PASSWORD);
    const openedAt = clock.nowMs();
    clock.advance(DAY);
    let caller = await signIn(t.http, user.email, DEFAULT_PASSWORD);
    // Both are kept well inside their idle lifetime.
    for (const day of [10, 20, MAX_AGE_DAYS - 1]) {
      clock.advance((openedAt + day * DAY * 1000 - clock.nowMs()) / 1000);
      old = await refreshed(old);
      caller = await refreshed(caller);
    }

    clock.advance((openedAt + MAX_AGE_DAYS * DAY * 1000 - 1 - clock.nowMs()) / 1000);
    const before = await listed(caller);
    expect(before.map((s) => s.id).sort()).toEqual([sid(old), sid(caller)].sort());
    expect(before.find((s) => s.id === sid(old))?.expiresAt).toBe(
      toMinute(openedAt + MAX_AGE_DAYS * DAY * 1000),
    );

    clock.advance(0.001);
    expect(await ids(caller)).toEqual([sid(caller)]);
    expect(await refusal(old)).toBe('session_expired');
  });
});
