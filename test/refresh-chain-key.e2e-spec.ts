import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bearer, createTestApp, signedInUser, TestApp, TokenPair } from './helpers/test-app';

/**
 * Reuse detection across a JWT_SECRET rotation: with REFRESH_CHAIN_KEY set to the secret that
 * signed before, a token spent before the rotation still ends the session when it comes back.
 */
describe('refresh-token chains across a key rotation', () => {
  let dir: string;
  const old = randomBytes(48).toString('base64url');
  const next = randomBytes(48).toString('base64url');

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'chain-key-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const start = (env: Record<string, string>) =>
    createTestApp({ DB_PATH: join(dir, 'auth.sqlite'), ...env });
  const refresh = (t: TestApp, token: string) => t.http.post('/refresh').set(bearer(token));

  it('should end the session when a token spent before the rotation comes back', async () => {
    // No grace: the owner's token, presented after the thief's refresh, is at once reuse.
    let t = await start({ JWT_SECRET: old, REFRESH_REUSE_GRACE: '0' });
    const owner = await signedInUser(t.http);
    // The thief refreshes with the stolen token before the rotation.
    const thief = (await refresh(t, owner.tokens.refresh_token).expect(200)).body as TokenPair;
    await t.close();

    t = await start({
      JWT_SECRET: `${next},${old}`,
      REFRESH_CHAIN_KEY: old,
      REFRESH_REUSE_GRACE: '0',
    });
    try {
      const back = await refresh(t, owner.tokens.refresh_token);
      expect(back.status).toBe(401);
      expect(back.body.code).toBe('refresh_token_reused');
      expect((await refresh(t, thief.refresh_token)).body.code).toBe('session_revoked');
    } finally {
      await t.close();
    }
  });

  it('should keep current refresh tokens working through both steps of the rotation', async () => {
    let t = await start({ JWT_SECRET: old });
    let pair = (await signedInUser(t.http)).tokens;
    await t.close();
    for (const env of [
      { JWT_SECRET: `${next},${old}`, REFRESH_CHAIN_KEY: old },
      { JWT_SECRET: next, REFRESH_CHAIN_KEY: old },
    ]) {
      t = await start(env);
      try {
        const spent = pair.refresh_token;
        pair = (await refresh(t, spent).expect(200)).body as TokenPair;
        await t.http.get('/protected').set(bearer(pair.access_token)).expect(200);
        // Detection carries on in the new configuration too.
        expect((await refresh(t, spent).expect(200)).body.refresh_token).toBe(pair.refresh_token);
      } finally {
        await t.close();
      }
    }
  });

  it('should refuse to start a rotation without REFRESH_CHAIN_KEY, naming it', async () => {
    await expect(
      createTestApp({ DB_PATH: ':memory:', JWT_SECRET: `${next},${old}` }),
    ).rejects.toThrow(/REFRESH_CHAIN_KEY/);
  });
});
