import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { DataSource } from 'typeorm';
import { bearer, createTestApp, signedInUser, TestApp } from './helpers/test-app';

/** Random and adversarial JSON: nothing may answer 500, and the process must stay up. */
const hostileValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string(),
    fc.string({ unit: 'grapheme', maxLength: 300 }),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.constantFrom(
      '$gt',
      '$ne',
      '{"$ne":null}',
      '__proto__',
      'constructor',
      '\u0000',
      'a'.repeat(5000),
    ),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(
      fc.constantFrom('$gt', '$where', 'password', 'email', 'scope', 'x'),
      tie('value'),
      {
        maxKeys: 3,
      },
    ),
  ),
})).value;

const hostileBody = fc.oneof(
  hostileValue,
  fc.record(
    {
      email: hostileValue,
      password: hostileValue,
      currentPassword: hostileValue,
      newPassword: hostileValue,
      scope: hostileValue,
      refresh_token: hostileValue,
    },
    { requiredKeys: [] },
  ),
);

describe('hostile input', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  const endpoints: [string, string, boolean][] = [
    ['post', '/signup', false],
    ['post', '/signin', false],
    ['post', '/refresh', false],
    ['post', '/revoke', true],
    ['post', '/password', true],
    ['delete', '/me', true],
  ];

  it.each(endpoints)(
    '%s %s should answer every body with a 4xx problem or success',
    async (method, path, auth) => {
      const { tokens } = await signedInUser(t.http);
      const usersBefore = await t.app
        .get(DataSource)
        .query<{ n: number }[]>('SELECT COUNT(*) AS n FROM users');
      await fc.assert(
        fc.asyncProperty(hostileBody, async (body) => {
          let request = t.http[method as 'post' | 'delete'](path).set(
            'Content-Type',
            'application/json',
          );
          if (auth) {
            request = request.set(bearer(tokens.access_token));
          }
          const response = await request.send(JSON.stringify(body) ?? 'null');
          expect(response.status).toBeLessThan(500);
          if (response.status >= 400) {
            expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
            expect(typeof response.body.code).toBe('string');
          }
        }),
        { numRuns: 60 },
      );
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('$gt');
      if (path !== '/signup') {
        const usersAfter = await t.app
          .get(DataSource)
          .query<{ n: number }[]>('SELECT COUNT(*) AS n FROM users');
        expect(usersAfter).toEqual(usersBefore);
      }
      // The caller's session survived every attempt (nothing matched its password or a scope).
      await t.http.get('/health/live').expect(200);
    },
  );

  it('should answer odd session ids and Authorization headers without a 500', async () => {
    const { tokens } = await signedInUser(t.http);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ minLength: 1, maxLength: 200 }), fc.uuid()),
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.constant('Bearer '),
          fc.constant(`Bearer ${'x'.repeat(8000)}`),
        ),
        async (id, authorization) => {
          const safeId = encodeURIComponent(id);
          const own = await t.http.delete(`/sessions/${safeId}`).set(bearer(tokens.access_token));
          expect(own.status).toBeLessThan(500);
          const odd = await t.http
            .get('/sessions')
            .set('Authorization', authorization.replace(/[\r\n]/g, ''));
          expect([401, 400]).toContain(odd.status);
        },
      ),
      { numRuns: 60 },
    );
    await t.http.get('/protected').set(bearer(tokens.access_token)).expect(200);
  });

  it('should answer a 64 KiB Authorization header with a 431 problem, and keep serving', async () => {
    const server = t.app.getHttpServer();
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    try {
      const { port } = server.address() as AddressInfo;
      const response = await new Promise<{ status: number; type: string; body: string }>(
        (done, fail) => {
          const req = request(
            {
              host: '127.0.0.1',
              port,
              path: '/protected',
              headers: { Authorization: `Bearer ${'a'.repeat(64 * 1024)}` },
            },
            (res) => {
              let body = '';
              res.on('data', (chunk: Buffer) => (body += chunk.toString()));
              res.on('end', () =>
                done({
                  status: res.statusCode ?? 0,
                  type: String(res.headers['content-type']),
                  body,
                }),
              );
            },
          );
          req.on('error', fail);
          req.end();
        },
      );
      expect(response.status).toBe(431);
      // Duplicate Authorization and Content-Type headers: a 4xx or the first one wins, never a 500.
      for (const headers of [
        { Authorization: ['Bearer first', 'Bearer second'] },
        { 'Content-Type': ['application/json', 'text/plain'], 'Content-Length': '2' },
      ]) {
        const status = await new Promise<number>((done, fail) => {
          const req = request(
            { host: '127.0.0.1', port, path: '/protected', method: 'GET', headers },
            (res) => {
              res.resume();
              res.on('end', () => done(res.statusCode ?? 0));
            },
          );
          req.on('error', fail);
          req.end(headers['Content-Length'] ? '{}' : undefined);
        });
        expect(status).toBeGreaterThanOrEqual(400);
        expect(status).toBeLessThan(500);
      }
      expect(response.type).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(response.body)).toMatchObject({ code: 'headers_too_large', status: 431 });
    } finally {
      await new Promise<void>((done) => server.close(() => done()));
    }
    await t.http.get('/health/live').expect(200);
  });
});
