import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FakeClock } from '../src/common/clock/fake-clock';
import { fakeClockOf } from './helpers/fake-clock';
import {
  bearer,
  createTestApp,
  EMBEDDED,
  signedInUser,
  TestApp,
  TokenPair,
} from './helpers/test-app';
import { decodeHeader, kidOf } from './helpers/tokens';

const GRACE_SECONDS = 10;

/**
 * Rotating the HS256 key (`JWT_SECRET=new,old`) and restarting on the same database, as
 * docs/security.md describes it: with REFRESH_CHAIN_KEY set to the secret that signed before, the
 * refresh-token chains derive from the same key on both sides of the rotation, so every spent
 * token is still recognised: a twin inside the grace window, reuse after it, the tokens of chains
 * replaced by access-token exchanges included. A rotation without REFRESH_CHAIN_KEY is refused.
 */
describe('JWT_SECRET rotation across a restart', () => {
  const oldSecret = randomBytes(48).toString('base64url');
  const newSecret = randomBytes(48).toString('base64url');
  let dir: string;
  let dbPath: string;
  const apps: TestApp[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'auth-rotation-'));
    dbPath = join(dir, 'auth.sqlite');
  });

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  /** The app on this test's database, with its clock standing still at `atMs`. */
  async function start(secrets: string, atMs: number): Promise<{ t: TestApp; clock: FakeClock }> {
    const t = await createTestApp({
      DB_PATH: dbPath,
      JWT_SECRET: secrets,
      // The secret that signed before the rotation, kept as the chains' key throughout.
      REFRESH_CHAIN_KEY: oldSecret,
      REFRESH_REUSE_GRACE: `${GRACE_SECONDS}s`,
    });
    apps.push(t);
    return { t, clock: fakeClockOf(t, atMs) };
  }

  async function stop(t: TestApp): Promise<void> {
    apps.splice(apps.indexOf(t), 1);
    await t.close();
  }

  const refresh = (t: TestApp, token: string) => t.http.post('/refresh').set(bearer(token));

  async function rotated(t: TestApp, token: string): Promise<TokenPair> {
    const response = await refresh(t, token);
    expect(response.status).toBe(200);
    return response.body as TokenPair;
  }

  it('should keep current refresh and access tokens working after JWT_SECRET=new,old', async () => {
    const start0 = Date.now();
    const before = await start(oldSecret, start0);
    const fresh = await signedInUser(before.t.http);
    const onceRotated = await rotated(
      before.t,
      (await signedInUser(before.t.http)).tokens.refresh_token,
    );
    await stop(before.t);

    const { t, clock } = await start(`${newSecret},${oldSecret}`, start0 + 1000);
    // Access tokens signed with the old key still verify; new ones are signed with the new key.
    await t.http.get('/protected').set(bearer(fresh.tokens.access_token)).expect(200);
    await t.http.get('/protected').set(bearer(onceRotated.access_token)).expect(200);
    const next = await rotated(t, fresh.tokens.refresh_token);
    expect(decodeHeader(next.access_token).kid).toBe(kidOf(newSecret));
    await t.http.get('/protected').set(bearer(next.access_token)).expect(200);
    const onceMore = await rotated(t, onceRotated.refresh_token);
    await t.http.get('/protected').set(bearer(onceMore.access_token)).expect(200);

    // The chain goes on under the new key, with reuse detection: inside the window a twin, after
    // it reuse, which ends the session.
    expect((await rotated(t, fresh.tokens.refresh_token)).refresh_token).toBe(next.refresh_token);
    clock.advance(GRACE_SECONDS + 1);
    const reuse = await refresh(t, fresh.tokens.refresh_token);
    expect([reuse.status, reuse.body.code]).toEqual([401, 'refresh_token_reused']);
    const after = await t.http.get('/protected').set(bearer(next.access_token)).expect(401);
    expect(after.body.code).toBe('session_revoked');
  });

  it('should recognise a refresh token spent before the rotation: a twin inside the window, reuse after it', async () => {
    const rotatedAt = Date.now();
    const before = await start(oldSecret, rotatedAt);
    const user = await signedInUser(before.t.http);
    const spent = user.tokens.refresh_token;
    const current = await rotated(before.t, spent);
    await stop(before.t);

    // Back within the window of that rotation: still its twin, with the same successor.
    const { t, clock } = await start(`${newSecret},${oldSecret}`, rotatedAt + 2000);
    expect((await rotated(t, spent)).refresh_token).toBe(current.refresh_token);
    // After the window: reuse, which ends the session.
    clock.advance(GRACE_SECONDS);
    const outside = await refresh(t, spent);
    expect([outside.status, outside.body.code]).toEqual([401, 'refresh_token_reused']);
    await t.http.get('/protected').set(bearer(current.access_token)).expect(401);
    const thief = await refresh(t, current.refresh_token);
    expect([thief.status, thief.body.code]).toEqual([401, 'session_revoked']);
  });

  it('should keep the chains through the second step too, when the old secret is dropped', async () => {
    const start0 = Date.now();
    const before = await start(oldSecret, start0);
    const user = await signedInUser(before.t.http);
    const spent = user.tokens.refresh_token;
    const current = await rotated(before.t, spent);
    await stop(before.t);

    const { t, clock } = await start(newSecret, start0 + 1000);
    await t.http
      .get('/protected')
      .set(bearer((await rotated(t, spent)).access_token))
      .expect(200);
    clock.advance(GRACE_SECONDS + 1);
    const reuse = await refresh(t, spent);
    expect([reuse.status, reuse.body.code]).toEqual([401, 'refresh_token_reused']);
    expect((await refresh(t, current.refresh_token)).body.code).toBe('session_revoked');
  });

  it('should refuse to start a rotation without REFRESH_CHAIN_KEY, naming it', async () => {
    await expect(
      createTestApp({ ...EMBEDDED, DB_PATH: ':memory:', JWT_SECRET: `${newSecret},${oldSecret}` }),
    ).rejects.toThrow(/REFRESH_CHAIN_KEY is required while JWT_SECRET lists several keys/);
  });

  it('should still detect reuse of a token spent before a restart that keeps the key (the control)', async () => {
    const rotatedAt = Date.now();
    const before = await start(oldSecret, rotatedAt);
    const user = await signedInUser(before.t.http);
    const spent = user.tokens.refresh_token;
    const current = await rotated(before.t, spent);
    await stop(before.t);

    const { t, clock } = await start(oldSecret, rotatedAt + 2000);
    expect((await rotated(t, spent)).refresh_token).toBe(current.refresh_token);
    clock.advance(GRACE_SECONDS);
    const reuse = await refresh(t, spent);
    expect([reuse.status, reuse.body.code]).toEqual([401, 'refresh_token_reused']);
    await t.http.get('/protected').set(bearer(current.access_token)).expect(401);
  });

  it('should count a spent access token and every token of the chain it replaced as reuse', async () => {
    const start0 = Date.now();
    const before = await start(oldSecret, start0);
    const exchangedTwice = await signedInUser(before.t.http);
    await rotated(before.t, exchangedTwice.tokens.access_token);
    const replacedChain = await signedInUser(before.t.http);
    const afterExchange = await rotated(before.t, replacedChain.tokens.access_token);
    // The chain replaced here had been rotated once: its end is known, its start only by walking.
    const walked = await signedInUser(before.t.http);
    const walkedEnd = await rotated(before.t, walked.tokens.refresh_token);
    const walkedExchange = await rotated(before.t, walkedEnd.access_token);
    await stop(before.t);

    const { t } = await start(`${newSecret},${oldSecret}`, start0 + 1000);
    const again = await refresh(t, exchangedTwice.tokens.access_token);
    expect([again.status, again.body.code]).toEqual([401, 'refresh_token_reused']);

    const end = await refresh(t, replacedChain.tokens.refresh_token);
    expect([end.status, end.body.code]).toEqual([401, 'refresh_token_reused']);
    await t.http.get('/protected').set(bearer(afterExchange.access_token)).expect(401);

    // The first token of the replaced chain is rebuilt from the chain's root and the kept key.
    const first = await refresh(t, walked.tokens.refresh_token);
    expect([first.status, first.body.code]).toEqual([401, 'refresh_token_reused']);
    await t.http.get('/protected').set(bearer(walkedExchange.access_token)).expect(401);
  });
});
