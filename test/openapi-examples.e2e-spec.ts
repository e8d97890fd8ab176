import { TOTP, URI } from 'otpauth';
import { DataSource } from 'typeorm';
import { sql } from './helpers/database';
import {
  bearer,
  createTestApp,
  DEFAULT_PASSWORD,
  signIn,
  signUp,
  TestApp,
} from './helpers/test-app';

interface Schema {
  type?: string;
  $ref?: string;
  allOf?: Schema[];
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  example?: unknown;
  description?: string;
  nullable?: boolean;
}

interface Document {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: Schema }> }> }>
  >;
  components: { schemas: Record<string, Schema> };
}

/** The OpenAPI examples must look like what the service really answers, so the docs cannot drift. */
describe('OpenAPI examples against real responses', () => {
  let t: TestApp;
  let doc: Document;

  beforeAll(async () => {
    t = await createTestApp();
    doc = (await t.http.get('/docs-json').expect(200)).body as Document;
  });

  afterAll(async () => {
    await t.close();
  });

  const resolve = (schema: Schema): Schema => {
    const ref = schema.$ref ?? schema.allOf?.[0]?.$ref;
    return ref ? doc.components.schemas[ref.split('/').pop()!] : schema;
  };

  /** Checks `actual` against the documented schema and examples: same keys, same JSON types. */
  function expectMatches(schema: Schema, actual: unknown, path: string): void {
    const resolved = resolve(schema);
    if (actual === null && schema.nullable) {
      // A nullable reference (`allOf` with `nullable` beside it): null is as documented.
      return;
    }
    if (resolved.properties) {
      expect(typeof actual).toBe('object');
      const record = actual as Record<string, unknown>;
      const documented = Object.keys(resolved.properties);
      for (const key of Object.keys(record)) {
        expect(`${path}.${key} documented: ${documented.includes(key)}`).toBe(
          `${path}.${key} documented: true`,
        );
      }
      for (const key of resolved.required ?? []) {
        expect(`${path}.${key} present: ${key in record}`).toBe(`${path}.${key} present: true`);
      }
      for (const [key, property] of Object.entries(resolved.properties)) {
        if (key in record) {
          expectMatches(property, record[key], `${path}.${key}`);
        }
      }
      return;
    }
    if (resolved.type === 'array' || Array.isArray(resolved.example)) {
      expect(Array.isArray(actual)).toBe(true);
      const items = actual as unknown[];
      if (resolved.items && items.length > 0) {
        expectMatches(resolved.items, items[0], `${path}[0]`);
      }
      return;
    }
    if (actual === null && resolved.nullable) {
      return;
    }
    const jsonType = resolved.type === 'integer' ? 'number' : resolved.type;
    expect(`${path}: ${typeof actual}`).toBe(`${path}: ${jsonType ?? typeof resolved.example}`);
    if (resolved.example !== undefined) {
      expect(`${path} example: ${typeof resolved.example}`).toBe(
        `${path} example: ${typeof actual}`,
      );
    }
  }

  function documented(path: string, method: string, status: number): Schema {
    const content = doc.paths[path][method].responses[String(status)].content!;
    return (content['application/json'] ?? content['application/problem+json']).schema;
  }

  it('should describe and type every property of every schema, with an example', () => {
    for (const [name, schema] of Object.entries(doc.components.schemas)) {
      for (const [key, property] of Object.entries(schema.properties ?? {})) {
        const where = `${name}.${key}`;
        expect(`${where}: ${Boolean(property.description)}`).toBe(`${where}: true`);
        const typed = Boolean(property.type ?? property.$ref ?? property.allOf ?? property.items);
        expect(`${where} typed: ${typed}`).toBe(`${where} typed: true`);
        const exemplified =
          property.example !== undefined ||
          Boolean(property.$ref ?? property.allOf ?? property.items);
        expect(`${where} example: ${exemplified}`).toBe(`${where} example: true`);
      }
    }
  });

  it('should match every documented success and error response the flows produce', async () => {
    const email = `examples-${Date.now()}@example.com`;
    const signup = await t.http
      .post('/signup')
      .send({ email, password: DEFAULT_PASSWORD })
      .expect(201);
    expectMatches(documented('/signup', 'post', 201), signup.body, 'signup');

    const duplicate = await t.http
      .post('/signup')
      .send({ email, password: DEFAULT_PASSWORD })
      .expect(409);
    expectMatches(documented('/signup', 'post', 409), duplicate.body, 'signup 409');
    const invalid = await t.http.post('/signup').send({ email, password: 'short' }).expect(400);
    expectMatches(documented('/signup', 'post', 400), invalid.body, 'signup 400');

    const signin = await t.http
      .post('/signin')
      .set('User-Agent', 'curl/8.5.0')
      .send({ email, password: DEFAULT_PASSWORD })
      .expect(200);
    expectMatches(documented('/signin', 'post', 200), signin.body, 'signin');
    const wrong = await t.http
      .post('/signin')
      .send({ email, password: 'wrong-password' })
      .expect(401);
    expectMatches(documented('/signin', 'post', 401), wrong.body, 'signin 401');

    const access = signin.body.access_token as string;
    const protectedRoute = await t.http.get('/protected').set(bearer(access)).expect(200);
    expectMatches(documented('/protected', 'get', 200), protectedRoute.body, 'protected');
    const me = await t.http.get('/me').set(bearer(access)).expect(200);
    expectMatches(documented('/me', 'get', 200), me.body, 'me');
    const sessions = await t.http.get('/sessions').set(bearer(access)).expect(200);
    expectMatches(documented('/sessions', 'get', 200), sessions.body, 'sessions');
    const missing = await t.http.delete('/sessions/unknown').set(bearer(access)).expect(404);
    expectMatches(documented('/sessions/{id}', 'delete', 404), missing.body, 'sessions 404');

    const other = await signUp(t.http);
    const otherSignin = await t.http
      .post('/signin')
      .send({ email: other.email, password: DEFAULT_PASSWORD });
    const password = await t.http
      .post('/password')
      .set(bearer(otherSignin.body.access_token as string))
      .send({ currentPassword: DEFAULT_PASSWORD, newPassword: 'another-good-password' })
      .expect(200);
    expectMatches(documented('/password', 'post', 200), password.body, 'password');

    const refresh = await t.http
      .post('/refresh')
      .send({ refresh_token: signin.body.refresh_token as string })
      .expect(200);
    expectMatches(documented('/refresh', 'post', 200), refresh.body, 'refresh');
    const revoke = await t.http
      .post('/revoke')
      .set(bearer(refresh.body.access_token as string))
      .expect(200);
    expectMatches(documented('/revoke', 'post', 200), revoke.body, 'revoke');
    const revoked = await t.http
      .get('/protected')
      .set(bearer(refresh.body.access_token as string))
      .expect(401);
    expectMatches(documented('/protected', 'get', 401), revoked.body, 'protected 401');
  });

  it('should match the responses of the email and second-factor flows', async () => {
    const user = await signUp(t.http);
    const forgot = await t.http.post('/password/forgot').send({ email: user.email }).expect(202);
    expectMatches(documented('/password/forgot', 'post', 202), forgot.body, 'forgot');
    const link = await t.http
      .post('/password/reset')
      .send({ token: 'x'.repeat(43), newPassword: 'a-brand-new-passphrase' })
      .expect(400);
    expectMatches(documented('/password/reset', 'post', 400), link.body, 'reset 400');

    const first = await t.http
      .post('/signin')
      .send({ email: user.email, password: DEFAULT_PASSWORD })
      .expect(200);
    const access = bearer(first.body.access_token as string);
    const resend = await t.http.post('/email/verify/resend').set(access).expect(202);
    expectMatches(documented('/email/verify/resend', 'post', 202), resend.body, 'resend');
    const status = await t.http.get('/mfa').set(access).expect(200);
    expectMatches(documented('/mfa', 'get', 200), status.body, 'mfa');
    const enrolment = await t.http
      .post('/mfa/totp/enroll')
      .set(access)
      .send({ password: DEFAULT_PASSWORD })
      .expect(200);
    expectMatches(documented('/mfa/totp/enroll', 'post', 200), enrolment.body, 'enroll');
    const totp = URI.parse(enrolment.body.otpauthUri as string) as TOTP;
    const step = 30_000;
    const verified = await t.http
      .post('/mfa/totp/verify')
      .set(access)
      .send({ code: totp.generate({ timestamp: Date.now() - step }) })
      .expect(200);
    expectMatches(documented('/mfa/totp/verify', 'post', 200), verified.body, 'verify');
    const stepUp = await t.http.post('/mfa/recovery-codes').set(access).expect(403);
    expectMatches(documented('/mfa/recovery-codes', 'post', 403), stepUp.body, 'step-up 403');

    const required = await t.http
      .post('/signin')
      .send({ email: user.email, password: DEFAULT_PASSWORD })
      .expect(403);
    expectMatches(documented('/signin', 'post', 403), required.body, 'signin 403');
    const second = await t.http
      .post('/signin/mfa')
      .send({ mfa_token: required.body.mfa_token, code: totp.generate({ timestamp: Date.now() }) })
      .expect(200);
    expectMatches(documented('/signin/mfa', 'post', 200), second.body, 'signin/mfa');
    const wrongToken = await t.http
      .post('/signin/mfa')
      .send({ mfa_token: required.body.mfa_token, code: '000000' })
      .expect(401);
    expectMatches(documented('/signin/mfa', 'post', 401), wrongToken.body, 'signin/mfa 401');
    const codes = await t.http
      .post('/mfa/recovery-codes')
      .set(bearer(second.body.access_token as string))
      .expect(200);
    expectMatches(documented('/mfa/recovery-codes', 'post', 200), codes.body, 'recovery codes');
  });

  it('should match the documented admin responses', async () => {
    const admin = await signUp(t.http, `examples-admin-${Date.now()}@example.com`);
    await sql(t.app.get(DataSource), 'UPDATE users SET roles = ? WHERE id = ?', [
      'admin',
      admin.id,
    ]);
    const access = bearer((await signIn(t.http, admin.email)).access_token);
    const user = await signUp(t.http, `examples-user-${Date.now()}@example.com`);
    await signIn(t.http, user.email);

    const list = await t.http.get('/admin/users').query({ limit: 1 }).set(access).expect(200);
    expectMatches(documented('/admin/users', 'get', 200), list.body, 'admin users');
    const detail = await t.http.get(`/admin/users/${user.id}`).set(access).expect(200);
    expectMatches(documented('/admin/users/{id}', 'get', 200), detail.body, 'admin user');
    const disabled = await t.http
      .post(`/admin/users/${user.id}/disable`)
      .set(access)
      .send({ reason: 'examples', until: new Date(Date.now() + 3600_000).toISOString() })
      .expect(200);
    expectMatches(documented('/admin/users/{id}/disable', 'post', 200), disabled.body, 'disable');
    const ended = await t.http.post(`/admin/users/${user.id}/sessions/end`).set(access).expect(200);
    expectMatches(documented('/admin/users/{id}/sessions/end', 'post', 200), ended.body, 'end');
    const audit = await t.http.get('/admin/audit').query({ limit: 3 }).set(access).expect(200);
    expectMatches(documented('/admin/audit', 'get', 200), audit.body, 'audit');
    const missing = await t.http
      .get('/admin/users/00000000-0000-4000-8000-000000000000')
      .set(access)
      .expect(404);
    expectMatches(documented('/admin/users/{id}', 'get', 404), missing.body, 'admin 404');
    const plain = bearer((await signIn(t.http, (await signUp(t.http)).email)).access_token);
    const forbidden = await t.http.get('/admin/audit').set(plain).expect(403);
    expectMatches(documented('/admin/audit', 'get', 403), forbidden.body, 'admin 403');
  });
});
