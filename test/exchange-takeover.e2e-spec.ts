import { createHash, randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { sql } from './helpers/database';
import { bearer, createTestApp, signedInUser, TestApp, TokenPair } from './helpers/test-app';

/**
 * A stolen access token exchanged at /refresh, once or many times: the owner's refresh token,
 * coming back, must still end the session the thief continues.
 */
describe('access-token exchanges and the owner coming back', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ REFRESH_ACCEPTS_ACCESS_TOKEN: 'true', REFRESH_REUSE_GRACE: '10s' });
  });
  afterAll(() => t.close());

  const refresh = (credential: string) => t.http.post('/refresh').set(bearer(credential));

  /** The thief exchanges the stolen access token, then each access token it gets, `n` times. */
  async function exchanges(stolen: string, n: number): Promise<TokenPair> {
    let pair: TokenPair | undefined;
    let access = stolen;
    for (let i = 0; i < n; i++) {
      const response = await refresh(access).expect(200);
      pair = response.body as TokenPair;
      access = pair.access_token;
    }
    return pair!;
  }

  it.each([1, 2, 3, 5])(
    'should end the session when the owner refreshes after %i exchanges by a thief',
    async (n) => {
      const owner = await signedInUser(t.http);
      const thief = await exchanges(owner.tokens.access_token, n);
      const back = await refresh(owner.tokens.refresh_token);
      expect(back.status).toBe(401);
      expect(back.body.code).toBe('refresh_token_reused');
      const thiefRefresh = await refresh(thief.refresh_token);
      expect(thiefRefresh.status).toBe(401);
      expect(thiefRefresh.body.code).toBe('session_revoked');
      await t.http.get('/protected').set(bearer(thief.access_token)).expect(401);
    },
  );

  it('should recognise a token the owner rotated several times before the exchanges', async () => {
    const owner = await signedInUser(t.http);
    const first = owner.tokens.refresh_token;
    const second = ((await refresh(first).expect(200)).body as TokenPair).refresh_token;
    const third = (await refresh(second).expect(200)).body as TokenPair;
    const thief = await exchanges(third.access_token, 2);
    // The oldest of the owner's spent tokens is enough.
    const back = await refresh(first);
    expect(back.body.code).toBe('refresh_token_reused');
    expect((await refresh(thief.refresh_token)).body.code).toBe('session_revoked');
  });

  it('should keep the thief-free flow working: exchanges and rotations in turn', async () => {
    const owner = await signedInUser(t.http);
    let pair = owner.tokens;
    for (let i = 0; i < 4; i++) {
      pair = (await refresh(pair.access_token).expect(200)).body as TokenPair;
      pair = (await refresh(pair.refresh_token).expect(200)).body as TokenPair;
    }
    await t.http.get('/protected').set(bearer(pair.access_token)).expect(200);
  });

  it('should refuse a made-up token of an earlier chain without ending the session', async () => {
    const owner = await signedInUser(t.http);
    const thief = await exchanges(owner.tokens.access_token, 2);
    const sessionId = owner.tokens.refresh_token.split('.')[0];
    const forged = `${sessionId}.0.${randomBytes(32).toString('base64url')}`;
    const response = await refresh(forged);
    expect(response.status).toBe(401);
    expect(response.body.code).toBe('invalid_refresh_token');
    await refresh(thief.refresh_token).expect(200);
  });

  it('should still recognise the chain of a session opened before chains had epochs', async () => {
    const owner = await signedInUser(t.http);
    const sessionId = owner.tokens.refresh_token.split('.')[0];
    // A session as an earlier version wrote it: no seed, a random token without an epoch.
    const legacy = `${sessionId}.${randomBytes(32).toString('base64url')}`;
    const hash = createHash('sha256').update(legacy).digest('hex');
    await sql(
      t.app.get(DataSource),
      'UPDATE sessions SET chain_seed = NULL, chain_epoch = 0, refresh_token_hash = ? WHERE id = ?',
      [hash, sessionId],
    );
    const rotated = (await refresh(legacy).expect(200)).body as TokenPair;
    const thief = await exchanges(rotated.access_token, 3);
    const back = await refresh(legacy);
    expect(back.body.code).toBe('refresh_token_reused');
    expect((await refresh(thief.refresh_token)).body.code).toBe('session_revoked');
  });
});

describe('REFRESH_ACCEPTS_ACCESS_TOKEN in production', () => {
  it('should be off unless set: a stolen access token buys no session', async () => {
    const t = await createTestApp({
      NODE_ENV: 'production',
      EMAIL_FLOWS: 'off',
      JWT_SECRET: randomSecret(),
    });
    try {
      const owner = await signedInUser(t.http);
      const response = await t.http.post('/refresh').set(bearer(owner.tokens.access_token));
      expect(response.status).toBe(401);
      expect(response.body.code).toBe('invalid_refresh_token');
      await t.http.get('/protected').set(bearer(owner.tokens.access_token)).expect(200);
    } finally {
      await t.close();
    }
  });
});

function randomSecret(): string {
  return randomBytes(48).toString('base64url');
}
