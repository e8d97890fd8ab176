import jsonwebtoken from 'jsonwebtoken';
import { bearer, createTestApp, signedInUser, TestApp } from './helpers/test-app';
import { decodeHeader, decodePayload, kidOf, mint, remint, unsigned } from './helpers/tokens';

describe('GET /protected', () => {
  let t: TestApp;
  let secret: string;

  beforeAll(async () => {
    t = await createTestApp();
    secret = t.env.JWT_SECRET;
  });

  afterAll(async () => {
    await t.close();
  });

  async function expectRejected(token: string, code: string) {
    const response = await t.http.get('/protected').set(bearer(token)).expect(401);
    expect(response.body.code).toBe(code);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.headers['www-authenticate']).toMatch(
      /^Bearer realm="test-issuer", error="invalid_token", error_description="[^"]+"$/,
    );
    return response;
  }

  it('should greet the owner of a valid access token', async () => {
    const user = await signedInUser(t.http);
    const response = await t.http
      .get('/protected')
      .set(bearer(user.tokens.access_token))
      .expect(200);
    expect(response.body).toEqual({
      message: `Hello, ${user.email}! You have access to this protected route.`,
      user: { id: user.id, email: user.email },
    });
  });

  it('should ask for a token without an error code when none is sent', async () => {
    const response = await t.http.get('/protected').expect(401);
    expect(response.body.code).toBe('token_missing');
    expect(response.headers['www-authenticate']).toBe('Bearer realm="test-issuer"');
  });

  it('should reject a non-Bearer Authorization header', async () => {
    const user = await signedInUser(t.http);
    const response = await t.http
      .get('/protected')
      .set('Authorization', `Basic ${user.tokens.access_token}`)
      .expect(401);
    expect(response.body.code).toBe('invalid_token');
  });

  it('should reject an expired token', async () => {
    const user = await signedInUser(t.http);
    const past = Math.floor(Date.now() / 1000) - 3600;
    const token = remint(user.tokens.access_token, secret, { iat: past - 900, exp: past });
    await expectRejected(token, 'token_expired');
  });

  it('should reject a tampered payload', async () => {
    const user = await signedInUser(t.http);
    const [header, , signature] = user.tokens.access_token.split('.');
    const payload = Buffer.from(
      JSON.stringify({ ...decodePayload(user.tokens.access_token), email: 'admin@example.com' }),
    ).toString('base64url');
    await expectRejected(`${header}.${payload}.${signature}`, 'invalid_token');
  });

  it('should reject a token signed with another secret', async () => {
    const user = await signedInUser(t.http);
    await expectRejected(
      remint(user.tokens.access_token, 'another-secret-of-sufficient-length-0123456789'),
      'invalid_token',
    );
  });

  it.each(['none', 'None', 'NONE', 'nOnE'])('should reject alg "%s"', async (alg) => {
    const user = await signedInUser(t.http);
    await expectRejected(unsigned(user.tokens.access_token, alg), 'invalid_token');
  });

  it('should reject an algorithm outside the pinned list even with the right secret', async () => {
    const user = await signedInUser(t.http);
    await expectRejected(
      remint(user.tokens.access_token, secret, {}, { algorithm: 'HS512' }),
      'invalid_token',
    );
  });

  it('should reject a wrong audience', async () => {
    const user = await signedInUser(t.http);
    await expectRejected(
      remint(user.tokens.access_token, secret, { aud: 'another-service' }),
      'invalid_token',
    );
  });

  it('should reject a wrong issuer', async () => {
    const user = await signedInUser(t.http);
    await expectRejected(
      remint(user.tokens.access_token, secret, { iss: 'someone-else' }),
      'invalid_token',
    );
  });

  it('should reject a token whose nbf lies in the future', async () => {
    const user = await signedInUser(t.http);
    await expectRejected(
      remint(user.tokens.access_token, secret, { nbf: Math.floor(Date.now() / 1000) + 600 }),
      'invalid_token',
    );
  });

  describe('clock tolerance of 10 s on exp and nbf', () => {
    // 5 s inside the tolerance and 5 s outside it: a slow request cannot cross the edge.
    const now = () => Math.floor(Date.now() / 1000);

    it('should accept a token that expired 5 s ago and refuse one that expired 15 s ago', async () => {
      const user = await signedInUser(t.http);
      const expiredAgo = (seconds: number) => {
        const exp = now() - seconds;
        return remint(user.tokens.access_token, secret, { iat: exp - 900, exp });
      };
      await t.http
        .get('/protected')
        .set(bearer(expiredAgo(5)))
        .expect(200);
      await expectRejected(expiredAgo(15), 'token_expired');
    });

    it('should accept a token valid from 5 s ahead and refuse one valid from 15 s ahead', async () => {
      const user = await signedInUser(t.http);
      const notBefore = (seconds: number) =>
        remint(user.tokens.access_token, secret, { nbf: now() + seconds });
      await t.http
        .get('/protected')
        .set(bearer(notBefore(5)))
        .expect(200);
      await expectRejected(notBefore(15), 'invalid_token');
    });
  });

  it('should reject a correctly signed token with a crit header', async () => {
    const user = await signedInUser(t.http);
    // Valid in every other way: the same claims and header re-signed without crit pass.
    await t.http
      .get('/protected')
      .set(bearer(remint(user.tokens.access_token, secret)))
      .expect(200);
    for (const crit of [['exp'], ['b64'], []]) {
      await expectRejected(
        remint(user.tokens.access_token, secret, {}, { header: { crit } }),
        'invalid_token',
      );
    }
  });

  it('should reject a correctly signed token of another type', async () => {
    const user = await signedInUser(t.http);
    await expectRejected(
      remint(user.tokens.access_token, secret, {}, { header: { typ: 'JWT' } }),
      'invalid_token',
    );
  });

  it('should reject a correctly signed token that lacks the session claim', async () => {
    const user = await signedInUser(t.http);
    const { sid: _sid, ...claims } = decodePayload(user.tokens.access_token);
    await expectRejected(mint(claims, secret), 'invalid_token');
  });

  describe('with the verified-token cache', () => {
    afterEach(() => {
      jest.restoreAllMocks();
    });

    it('should verify a token with jsonwebtoken once, then answer from the cache', async () => {
      const user = await signedInUser(t.http);
      const verify = jest.spyOn(jsonwebtoken, 'verify');
      await t.http.get('/protected').set(bearer(user.tokens.access_token)).expect(200);
      expect(verify).toHaveBeenCalledTimes(1);
      await t.http.get('/protected').set(bearer(user.tokens.access_token)).expect(200);
      await t.http.get('/protected').set(bearer(user.tokens.access_token)).expect(200);
      expect(verify).toHaveBeenCalledTimes(1);
    });

    it('should reject an altered copy of a token that was just accepted', async () => {
      const user = await signedInUser(t.http);
      await t.http.get('/protected').set(bearer(user.tokens.access_token)).expect(200);
      const [header, , signature] = user.tokens.access_token.split('.');
      const payload = Buffer.from(
        JSON.stringify({ ...decodePayload(user.tokens.access_token), sub: 'someone-else' }),
      ).toString('base64url');
      await expectRejected(`${header}.${payload}.${signature}`, 'invalid_token');
    });

    it('should reject an accepted token once it has expired', async () => {
      const user = await signedInUser(t.http);
      await t.http.get('/protected').set(bearer(user.tokens.access_token)).expect(200);
      const later = Date.now() + 3600_000;
      jest.spyOn(Date, 'now').mockImplementation(() => later);
      await expectRejected(user.tokens.access_token, 'token_expired');
    });
  });

  it('should reject a refresh token used as an access token', async () => {
    const user = await signedInUser(t.http);
    await expectRejected(user.tokens.refresh_token, 'invalid_token');
  });

  it('should reject garbage without a 500', async () => {
    for (const token of ['x', 'a.b.c', '..', 'eyJ.eyJ.sig', '%F0%9F'.repeat(10)]) {
      const response = await t.http.get('/protected').set('Authorization', `Bearer ${token}`);
      expect(response.status).toBe(401);
    }
  });
});

describe('signing-key rotation (JWT_SECRET=new,old)', () => {
  const oldSecret = 'old-key-6f1c2d3e4b5a4c7d8e9f0a1b2c3d4e5f-rotation';
  const newSecret = 'new-key-0a1b2c3d4e5f6f1c2d3e4b5a4c7d8e9f-rotation';
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({
      JWT_SECRET: `${newSecret},${oldSecret}`,
      REFRESH_CHAIN_KEY: oldSecret,
    });
  });

  afterAll(async () => {
    await t.close();
  });

  it('should sign with the first key and still accept tokens of the older one', async () => {
    const user = await signedInUser(t.http);
    expect(decodeHeader(user.tokens.access_token).kid).toBe(kidOf(newSecret));
    const signedByOld = remint(user.tokens.access_token, oldSecret);
    expect(decodeHeader(signedByOld).kid).toBe(kidOf(oldSecret));
    await t.http.get('/protected').set(bearer(signedByOld)).expect(200);
    const exchanged = await t.http.post('/refresh').set(bearer(signedByOld)).expect(200);
    expect(decodeHeader(exchanged.body.access_token as string).kid).toBe(kidOf(newSecret));
  });

  it('should reject an unknown kid, and a known kid with another key behind it', async () => {
    const user = await signedInUser(t.http);
    const stranger = 'stranger-key-6f1c2d3e4b5a4c7d8e9f0a1b2c3d4e5f';
    const unknownKid = remint(user.tokens.access_token, stranger);
    expect((await t.http.get('/protected').set(bearer(unknownKid)).expect(401)).body.code).toBe(
      'invalid_token',
    );
    const borrowedKid = remint(
      user.tokens.access_token,
      stranger,
      {},
      { header: { kid: kidOf(oldSecret) } },
    );
    expect((await t.http.get('/protected').set(bearer(borrowedKid)).expect(401)).body.code).toBe(
      'invalid_token',
    );
    const noKid = remint(user.tokens.access_token, newSecret, {}, { header: { kid: undefined } });
    await t.http.get('/protected').set(bearer(noKid)).expect(401);
  });
});
