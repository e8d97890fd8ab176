import { bearer, createTestApp, TestApp } from './helpers/test-app';

/** The Flask seed's README workflow, in its order, with -X POST where the seed forgot it. */
describe('seed curl workflow', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  it('should explain why the seed password abc123 is refused', async () => {
    const response = await t.http
      .post('/signup')
      .set('Content-Type', 'application/json')
      .send('{\n    "email": "abc@abc.com",\n    "password": "abc123"\n}')
      .expect(400);
    expect(response.body).toMatchObject({
      code: 'validation_failed',
      errors: [{ field: 'password', rules: ['minLength'] }],
    });
    expect(response.body.detail).toContain('at least 8 characters');
  });

  it('should refuse a common password with weak_password', async () => {
    const response = await t.http
      .post('/signup')
      .send({ email: 'common@abc.com', password: 'abc12345' })
      .expect(400);
    expect(response.body).toMatchObject({
      code: 'weak_password',
      errors: [{ field: 'password', rules: ['notCommonPassword'] }],
    });
    const mixedCase = await t.http
      .post('/signup')
      .send({ email: 'common@abc.com', password: 'PassWord1' })
      .expect(400);
    expect(mixedCase.body.code).toBe('weak_password');
  });

  it('should run signup, signin, protected, revoke, refresh in order', async () => {
    const credentials = { email: 'abc@abc.com', password: 'abc123-but-longer' };

    const signup = await t.http.post('/signup').send(credentials).expect(201);
    expect(signup.body).toEqual({
      id: expect.any(String),
      email: 'abc@abc.com',
      createdAt: expect.any(String),
      emailVerified: false,
    });

    const signin = await t.http.post('/signin').send(credentials).expect(200);
    const access = signin.body.access_token as string;
    expect(signin.body.token_type).toBe('Bearer');

    const protectedRoute = await t.http.get('/protected').set(bearer(access)).expect(200);
    expect(protectedRoute.body).toEqual({
      message: 'Hello, abc@abc.com! You have access to this protected route.',
      user: { id: signup.body.id, email: 'abc@abc.com' },
    });

    const revoke = await t.http.post('/revoke').set(bearer(access)).expect(200);
    expect(revoke.body).toEqual({ message: 'Token has been revoked' });

    await t.http.get('/protected').set(bearer(access)).expect(401);
    // "ensuring revoked tokens cannot be refreshed"
    const refresh = await t.http.post('/refresh').set(bearer(access)).expect(401);
    expect(refresh.body.code).toBe('session_revoked');
  });

  it('should renew with the access token before revoking, as the seed README suggests', async () => {
    const credentials = { email: 'seed-refresh@abc.com', password: 'abc123-but-longer' };
    await t.http.post('/signup').send(credentials).expect(201);
    const signin = await t.http.post('/signin').send(credentials).expect(200);

    const refreshed = await t.http
      .post('/refresh')
      .set(bearer(signin.body.access_token as string))
      .expect(200);
    expect(refreshed.body).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 900,
      refresh_token: expect.any(String),
    });
    await t.http
      .get('/protected')
      .set(bearer(refreshed.body.access_token as string))
      .expect(200);
  });
});
