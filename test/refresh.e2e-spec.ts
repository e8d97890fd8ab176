import { REUSE_DETECTION_DEPTH } from '../src/auth/sessions/sessions.service';
import {
  bearer,
  createTestApp,
  signedInUser,
  signIn,
  TestApp,
  TokenPair,
} from './helpers/test-app';
import { decodePayload } from './helpers/tokens';

async function refresh(t: TestApp, refreshToken: string) {
  return t.http.post('/refresh').set(bearer(refreshToken));
}

describe('POST /refresh', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ REFRESH_REUSE_GRACE: '10s' });
  });

  afterAll(async () => {
    await t.close();
  });

  it('should rotate: a new pair in the same session, no-store', async () => {
    const user = await signedInUser(t.http);
    const response = await refresh(t, user.tokens.refresh_token);
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    const pair = response.body as TokenPair;
    expect(pair.refresh_token).not.toBe(user.tokens.refresh_token);
    expect(pair.access_token).not.toBe(user.tokens.access_token);
    expect(decodePayload(pair.access_token).sid).toBe(decodePayload(user.tokens.access_token).sid);
    await t.http.get('/protected').set(bearer(pair.access_token)).expect(200);
    await refresh(t, pair.refresh_token).then((r) => expect(r.status).toBe(200));
  });

  it('should accept the refresh token in a JSON body', async () => {
    const user = await signedInUser(t.http);
    await t.http.post('/refresh').send({ refresh_token: user.tokens.refresh_token }).expect(200);
  });

  it('should give concurrent refreshes inside the grace window the same new refresh token', async () => {
    const user = await signedInUser(t.http);
    const responses = await Promise.all(
      Array.from({ length: 8 }, () => refresh(t, user.tokens.refresh_token)),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(8).fill(200));
    const refreshTokens = new Set(responses.map((r) => (r.body as TokenPair).refresh_token));
    expect(refreshTokens.size).toBe(1);
    const [next] = [...refreshTokens];
    await refresh(t, next).then((r) => expect(r.status).toBe(200));
  });

  it('should reject a malformed or unknown refresh token without revoking anything', async () => {
    const user = await signedInUser(t.http);
    const forged = `${user.tokens.refresh_token.split('.')[0]}.${'A'.repeat(43)}`;
    const response = await refresh(t, forged);
    expect(response.status).toBe(401);
    expect(response.body.code).toBe('invalid_refresh_token');
    expect(response.headers['www-authenticate']).toContain('error="invalid_token"');
    for (const junk of ['junk', 'a.b', `${'0'.repeat(36)}.x`]) {
      expect((await refresh(t, junk)).status).toBe(401);
    }
    await refresh(t, user.tokens.refresh_token).then((r) => expect(r.status).toBe(200));
  });

  it('should answer 401 token_missing without any credential', async () => {
    const response = await t.http.post('/refresh').expect(401);
    expect(response.body.code).toBe('token_missing');
  });

  it('should reject an unknown body field', async () => {
    const user = await signedInUser(t.http);
    const response = await t.http
      .post('/refresh')
      .send({ refresh_token: user.tokens.refresh_token, grant_type: 'refresh_token' })
      .expect(400);
    expect(response.body.code).toBe('validation_failed');
  });

  describe('with an access token (seed compatibility)', () => {
    it('should spend the access token and continue the same session', async () => {
      const user = await signedInUser(t.http);
      const response = await refresh(t, user.tokens.access_token);
      expect(response.status).toBe(200);
      const pair = response.body as TokenPair;
      expect(decodePayload(pair.access_token).sid).toBe(
        decodePayload(user.tokens.access_token).sid,
      );
      const spent = await t.http
        .get('/protected')
        .set(bearer(user.tokens.access_token))
        .expect(401);
      expect(spent.body.code).toBe('token_revoked');
      await t.http.get('/protected').set(bearer(pair.access_token)).expect(200);
      await refresh(t, pair.refresh_token).then((r) => expect(r.status).toBe(200));
    });

    it('should revoke the session when the spent access token is presented again', async () => {
      const user = await signedInUser(t.http);
      const pair = (await refresh(t, user.tokens.access_token)).body as TokenPair;
      const reuse = await refresh(t, user.tokens.access_token);
      expect(reuse.status).toBe(401);
      expect(reuse.body.code).toBe('refresh_token_reused');
      const after = await t.http.get('/protected').set(bearer(pair.access_token)).expect(401);
      expect(after.body.code).toBe('session_revoked');
      expect((await refresh(t, pair.refresh_token)).status).toBe(401);
    });

    it("should treat the replaced chain's refresh token as spent", async () => {
      const user = await signedInUser(t.http);
      const exchanged = (await refresh(t, user.tokens.access_token)).body as TokenPair;
      const stale = await refresh(t, user.tokens.refresh_token);
      expect(stale.status).toBe(401);
      expect(stale.body.code).toBe('refresh_token_reused');
      const after = await t.http.get('/protected').set(bearer(exchanged.access_token)).expect(401);
      expect(after.body.code).toBe('session_revoked');
    });
  });
});

describe('POST /refresh reuse detection', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ REFRESH_REUSE_GRACE: '0' });
  });

  afterAll(async () => {
    await t.close();
  });

  it('should revoke the whole session when a spent refresh token comes back', async () => {
    const user = await signedInUser(t.http);
    const second = (await refresh(t, user.tokens.refresh_token)).body as TokenPair;
    const reuse = await refresh(t, user.tokens.refresh_token);
    expect(reuse.status).toBe(401);
    expect(reuse.body.code).toBe('refresh_token_reused');
    expect(reuse.headers['www-authenticate']).toContain('error="invalid_token"');

    // The newest refresh token and every access token of the session are dead at once.
    expect((await refresh(t, second.refresh_token)).body.code).toBe('session_revoked');
    const access = await t.http.get('/protected').set(bearer(second.access_token)).expect(401);
    expect(access.body.code).toBe('session_revoked');
    await t.http.get('/protected').set(bearer(user.tokens.access_token)).expect(401);
  });

  it('should recognise an older ancestor, not only the previous token', async () => {
    const user = await signedInUser(t.http);
    const second = (await refresh(t, user.tokens.refresh_token)).body as TokenPair;
    const third = (await refresh(t, second.refresh_token)).body as TokenPair;
    await refresh(t, third.refresh_token).then((r) => expect(r.status).toBe(200));
    const reuse = await refresh(t, user.tokens.refresh_token);
    expect(reuse.body.code).toBe('refresh_token_reused');
  });

  it(`should recognise reuse only ${REUSE_DETECTION_DEPTH} rotations back, so the walk stays cheap`, async () => {
    const user = await signedInUser(t.http);
    let current = user.tokens.refresh_token;
    const chain = [current];
    for (let i = 0; i <= REUSE_DETECTION_DEPTH; i++) {
      current = ((await refresh(t, current)).body as TokenPair).refresh_token;
      chain.push(current);
    }
    const tooOld = await refresh(t, chain[0]);
    expect(tooOld.body.code).toBe('invalid_refresh_token');
    const recent = await refresh(t, chain[chain.length - 1 - REUSE_DETECTION_DEPTH]);
    expect(recent.body.code).toBe('refresh_token_reused');
  });

  it("should not touch the user's other sessions", async () => {
    const user = await signedInUser(t.http);
    const other = await signIn(t.http, user.email);
    const rotated = await refresh(t, user.tokens.refresh_token);
    expect(rotated.status).toBe(200);
    const reuse = await refresh(t, user.tokens.refresh_token);
    expect(reuse.status).toBe(401);
    expect(reuse.body.code).toBe('refresh_token_reused');
    // The reused session is gone; the other session of the same user keeps both its tokens.
    await t.http
      .get('/protected')
      .set(bearer((rotated.body as TokenPair).access_token))
      .expect(401);
    await t.http.get('/protected').set(bearer(other.access_token)).expect(200);
    await refresh(t, other.refresh_token).then((r) => expect(r.status).toBe(200));
  });
});

describe('POST /refresh with REFRESH_ACCEPTS_ACCESS_TOKEN=false', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ REFRESH_ACCEPTS_ACCESS_TOKEN: 'false' });
  });

  afterAll(async () => {
    await t.close();
  });

  it('should refuse an access token and leave it valid', async () => {
    const user = await signedInUser(t.http);
    const response = await refresh(t, user.tokens.access_token);
    expect(response.status).toBe(401);
    expect(response.body.code).toBe('invalid_refresh_token');
    await t.http.get('/protected').set(bearer(user.tokens.access_token)).expect(200);
  });
});
