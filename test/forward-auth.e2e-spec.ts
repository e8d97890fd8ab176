import fc from 'fast-check';
import { DataSource } from 'typeorm';
import { sql } from './helpers/database';
import {
  bearer,
  createTestApp,
  signedInUser,
  signIn,
  signUp,
  TestApp,
  TokenPair,
} from './helpers/test-app';

/** GET /auth/check, the sub-request of reverse proxies (nginx auth_request and the like). */
describe('forward auth (/auth/check)', () => {
  let t: TestApp;
  let user: { id: string; email: string; tokens: TokenPair };

  beforeAll(async () => {
    t = await createTestApp();
    user = await signedInUser(t.http);
  });

  afterAll(() => t.close());

  it('answers 204 with the caller in headers and no body', async () => {
    const response = await t.http
      .get('/auth/check')
      .set(bearer(user.tokens.access_token))
      .expect(204);
    expect(response.text).toBe('');
    expect(response.headers).toMatchObject({
      'x-auth-user-id': user.id,
      'x-auth-email': user.email,
      'x-auth-aal': 'aal1',
      'cache-control': 'no-store',
    });
    expect(response.headers['x-auth-session-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers['x-auth-roles']).toBeUndefined();
  });

  it('answers every method, and any path below it (Envoy appends the original path)', async () => {
    const auth = bearer(user.tokens.access_token);
    for (const method of ['post', 'put', 'patch', 'delete', 'head', 'options'] as const) {
      const response = await t.http[method]('/auth/check').set(auth);
      expect([method, response.status]).toEqual([method, 204]);
      expect(response.headers['x-auth-user-id']).toBe(user.id);
    }
    await t.http
      .get('/auth/check/app/orders/42?page=2&x=%00')
      .set(auth)
      .expect(204)
      .expect('x-auth-user-id', user.id);
    await t.http.post('/auth/check/app/orders').expect(401);
  });

  it('refuses exactly as /protected does: same status, code, body shape and WWW-Authenticate', async () => {
    const revoked = await signIn(t.http, user.email);
    await t.http.post('/revoke').set(bearer(revoked.access_token)).expect(200);
    for (const headers of [
      {},
      { Authorization: 'Bearer not-a-token' },
      { Authorization: 'Basic dXNlcjpwYXNz' },
      bearer(revoked.access_token),
    ]) {
      const expected = await t.http.get('/protected').set(headers).expect(401);
      const check = await t.http.get('/auth/check').set(headers).expect(401);
      expect(check.headers['content-type']).toBe(expected.headers['content-type']);
      expect(check.headers['www-authenticate']).toBe(expected.headers['www-authenticate']);
      const { instance: _a, requestId: _b, ...body } = check.body as Record<string, unknown>;
      const {
        instance: _c,
        requestId: _d,
        ...reference
      } = expected.body as Record<string, unknown>;
      expect(body).toEqual(reference);
      expect(check.headers['x-auth-user-id']).toBeUndefined();
    }
  });

  it('refuses a token revoked a moment ago at the very next check', async () => {
    const tokens = await signIn(t.http, user.email);
    await t.http.get('/auth/check').set(bearer(tokens.access_token)).expect(204);
    await t.http.post('/revoke').set(bearer(tokens.access_token)).expect(200);
    const refused = await t.http.get('/auth/check').set(bearer(tokens.access_token)).expect(401);
    expect(refused.body.code).toBe('token_revoked');
  });

  it("checks the location's role and assurance requirements, from the query or headers", async () => {
    const admin = await signUp(t.http);
    await sql(t.app.get(DataSource), 'UPDATE users SET roles = ? WHERE id = ?', [
      'admin,support',
      admin.id,
    ]);
    const adminToken = (await signIn(t.http, admin.email)).access_token;
    const plain = bearer(user.tokens.access_token);

    for (const [path, headers] of [
      ['/auth/check?role=admin', {}],
      ['/auth/check?role=support&role=admin', {}],
      ['/auth/check?role=support,admin', {}],
      ['/auth/check', { 'X-Auth-Require-Role': 'admin' }],
    ] as const) {
      const refused = await t.http.get(path).set(plain).set(headers).expect(403);
      expect(refused.body.code).toBe('forbidden');
      const admitted = await t.http.get(path).set(bearer(adminToken)).set(headers).expect(204);
      expect(admitted.headers['x-auth-roles']).toBe('admin,support');
    }
    await t.http.get('/auth/check?role=auditor').set(bearer(adminToken)).expect(403);

    await t.http.get('/auth/check?aal=aal1').set(plain).expect(204);
    for (const [path, headers] of [
      ['/auth/check?aal=aal2', {}],
      ['/auth/check', { 'X-Auth-Require-Aal': 'aal2' }],
    ] as const) {
      const stepUp = await t.http.get(path).set(plain).set(headers).expect(403);
      expect(stepUp.body.code).toBe('mfa_step_up_required');
    }
    // A requirement that means nothing is the proxy's mistake: 400 (nginx makes it a 500).
    for (const path of ['/auth/check?aal=aal3', '/auth/check?role=Admin!']) {
      const bad = await t.http.get(path).set(plain).expect(400);
      expect(bad.body.code).toBe('bad_request');
    }
  });

  it('percent-encodes an address beyond printable ASCII in X-Auth-Email', async () => {
    const email = `jörg-${Date.now()}@example.com`;
    await signUp(t.http, email);
    const tokens = await signIn(t.http, email);
    const response = await t.http.get('/auth/check').set(bearer(tokens.access_token)).expect(204);
    expect(response.headers['x-auth-email']).toBe(email.replace('ö', '%C3%B6'));
    expect(decodeURIComponent(response.headers['x-auth-email'])).toBe(email);
  });

  it('never answers 500 to hostile requirement headers and query strings', async () => {
    const text = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom('admin', 'aal1', 'aal2', ',', ',,admin,', ' admin ', '%00', 'a'.repeat(300)),
    );
    const headerText = text.map((value) => value.replace(/[^\x20-\x7e]/g, ''));
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(
          fc.constantFrom('role', 'aal', 'other'),
          fc.oneof(text, fc.array(text, { maxLength: 3 })),
          {
            maxKeys: 3,
          },
        ),
        fc.dictionary(
          fc.constantFrom('X-Auth-Require-Role', 'X-Auth-Require-Aal', 'X-Auth-User-Id'),
          headerText,
          { maxKeys: 3 },
        ),
        fc.boolean(),
        async (query, headers, withToken) => {
          const response = await t.http
            .get('/auth/check')
            .query(query)
            .set(headers)
            .set(withToken ? bearer(user.tokens.access_token) : {});
          expect([204, 400, 401, 403]).toContain(response.status);
          if (response.status === 204) {
            expect(response.headers['x-auth-user-id']).toBe(user.id);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
