import { createTestApp, DEFAULT_PASSWORD, signUp, TestApp, uniqueEmail } from './helpers/test-app';
import { decodeHeader, decodePayload } from './helpers/tokens';

describe('POST /signin', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  it('should return a token pair with Cache-Control: no-store', async () => {
    const user = await signUp(t.http);
    const response = await t.http
      .post('/signin')
      .send({ email: user.email, password: DEFAULT_PASSWORD })
      .expect(200);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['x-powered-by']).toBeUndefined();
    expect(response.body).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 900,
      refresh_token: expect.any(String),
    });
  });

  it('should issue an HS256 access token with the standard claims and a type marker', async () => {
    const user = await signUp(t.http);
    const { body } = await t.http
      .post('/signin')
      .send({ email: user.email, password: DEFAULT_PASSWORD })
      .expect(200);
    const header = decodeHeader(body.access_token as string);
    const claims = decodePayload(body.access_token as string);
    expect(header).toEqual({ alg: 'HS256', typ: 'at+jwt', kid: expect.any(String) });
    expect(claims).toEqual({
      sub: user.id,
      sid: expect.any(String),
      jti: expect.any(String),
      email: user.email,
      email_verified: false,
      aal: 'aal1',
      amr: ['pwd'],
      iat: expect.any(Number),
      exp: expect.any(Number),
      iss: 'test-issuer',
      aud: 'test-audience',
    });
    expect((claims.exp as number) - (claims.iat as number)).toBe(900);
  });

  it('should give each sign-in its own session and token id', async () => {
    const user = await signUp(t.http);
    const first = await t.http
      .post('/signin')
      .send({ email: user.email, password: DEFAULT_PASSWORD });
    const second = await t.http
      .post('/signin')
      .send({ email: user.email, password: DEFAULT_PASSWORD });
    const a = decodePayload(first.body.access_token as string);
    const b = decodePayload(second.body.access_token as string);
    expect(a.sid).not.toBe(b.sid);
    expect(a.jti).not.toBe(b.jti);
    expect(first.body.refresh_token).not.toBe(second.body.refresh_token);
  });

  it('should issue an opaque refresh token of at least 256 bits', async () => {
    const user = await signUp(t.http);
    const { body } = await t.http
      .post('/signin')
      .send({ email: user.email, password: DEFAULT_PASSWORD });
    const secret = (body.refresh_token as string).split('.').at(-1)!;
    expect(Buffer.from(secret, 'base64url').length).toBeGreaterThanOrEqual(32);
  });

  it('should give the same status, body and headers for an unknown email and a wrong password', async () => {
    const user = await signUp(t.http);
    const wrongPassword = await t.http
      .post('/signin')
      .send({ email: user.email, password: 'wrong-password-1' })
      .expect(401);
    const unknownEmail = await t.http
      .post('/signin')
      .send({ email: uniqueEmail('nobody'), password: 'wrong-password-1' })
      .expect(401);
    expect(unknownEmail.body).toEqual(wrongPassword.body);
    expect(wrongPassword.body).toMatchObject({ code: 'invalid_credentials', status: 401 });
    // Only the date, the per-request id and the client's budget, which counts down with every
    // request from this address, may differ.
    const comparable = (headers: Record<string, string>) => {
      const {
        date: _date,
        'x-request-id': _id,
        'ratelimit-remaining': _remaining,
        'ratelimit-reset': _reset,
        ...rest
      } = headers;
      return rest;
    };
    expect(comparable(unknownEmail.headers)).toEqual(comparable(wrongPassword.headers));
    expect(wrongPassword.headers['www-authenticate']).toBe('Bearer realm="test-issuer"');
  });

  it('should reject invalid input with 400 before checking anything', async () => {
    const response = await t.http.post('/signin').send({ email: 'x', password: 1 }).expect(400);
    expect(response.body.code).toBe('validation_failed');
    expect((response.body.errors as { field: string }[]).map((e) => e.field).sort()).toEqual([
      'email',
      'password',
    ]);
  });

  it('should never return the password or its hash', async () => {
    const user = await signUp(t.http);
    const response = await t.http
      .post('/signin')
      .send({ email: user.email, password: DEFAULT_PASSWORD });
    expect(JSON.stringify(response.body)).not.toMatch(/argon2|correct-horse/);
  });
});
