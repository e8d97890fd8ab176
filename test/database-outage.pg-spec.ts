import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import request from 'supertest';
import TestAgent from 'supertest/lib/agent';
import { DataSource } from 'typeorm';
import { sql, storeEnv, TEST_DATABASE_URL, usingPostgres } from './helpers/database';
import {
  answersOf,
  DATABASE_UNAVAILABLE,
  everyRoute,
  expectOpenRoutesWork,
  limitedRoutes,
  OutageUser,
} from './helpers/outage';
import { BuiltApp, startBuiltApp, stopBuiltApp } from './helpers/built-app';
import { startTcpProxy, TcpProxy, throughProxy } from './helpers/tcp-proxy';
import { bearer, createTestApp, DEFAULT_PASSWORD, signedInUser, signUp } from './helpers/test-app';
import { waitFor } from './helpers/wait-for';

const requirePostgres = () => {
  if (!usingPostgres() || TEST_DATABASE_URL === undefined) {
    throw new Error('Run this suite with `npm run test:pg` (it needs PostgreSQL and Redis)');
  }
  return TEST_DATABASE_URL;
};

/**
 * The built service (dist/main.js, its own process: errors of node:net keep their prototype there,
 * unlike in Jest's sandbox) on a real PostgreSQL that becomes unreachable after start-up and comes
 * back: the app reaches it through a relay the test cuts (every pooled connection is reset, new ones
 * are refused). Redis stays reachable.
 */
async function withPostgresBehindProxy(
  env: Record<string, string>,
  test: (http: TestAgent, postgres: TcpProxy) => Promise<void>,
): Promise<void> {
  const url = new URL(requirePostgres());
  const postgres = await startTcpProxy(url.hostname, Number(url.port || 5432));
  let app: BuiltApp | undefined;
  try {
    const store = await storeEnv(':memory:');
    app = await startBuiltApp('postgres-outage', {
      ...store,
      DATABASE_URL: throughProxy(store.DATABASE_URL, postgres),
      NODE_ENV: 'test',
      JWT_SECRET: randomBytes(48).toString('base64url'),
      LOG_LEVEL: 'silent',
      RATE_LIMIT_ENABLED: 'true',
      RATE_LIMIT_SIGNUP: '1000',
      RATE_LIMIT_SIGNIN: '1000',
      RATE_LIMIT_REFRESH: '1000',
      RATE_LIMIT_SIGNIN_FAILURES: '1000',
      ...env,
    });
    await test(request(app.base), postgres);
  } finally {
    if (app) {
      await stopBuiltApp(app);
    }
    await postgres.close();
  }
}

const isReady = async (http: TestAgent) => (await http.get('/health/ready')).status === 200;

/** Every route that needs the database, limited or not, for one user's session. */
const databaseRoutes = (http: TestAgent, user: OutageUser) => {
  const access = bearer(user.tokens.access_token);
  return {
    'GET /protected': () => http.get('/protected').set(access),
    'GET /me': () => http.get('/me').set(access),
    'GET /sessions': () => http.get('/sessions').set(access),
    'POST /revoke': () => http.post('/revoke').set(access).send({}),
    ...limitedRoutes(http, user),
  };
};

describe('PostgreSQL unreachable after start-up', () => {
  it('should answer 503 service_unavailable with Retry-After on every route that needs it, and recover', async () => {
    await withPostgresBehindProxy({}, async (http, postgres) => {
      const user = await signedInUser(http);
      const routes = databaseRoutes(http, user);

      await postgres.cut();
      expect(await answersOf(routes)).toEqual(everyRoute(routes, DATABASE_UNAVAILABLE));
      const ready = await http.get('/health/ready').expect(503);
      expect(ready.body.code).toBe('service_unavailable');
      expect(ready.body.detail).toBe('Not ready: database down');
      expect(ready.headers['retry-after']).toBe('5');
      await http.get('/health/live').expect(200);

      await postgres.restore();
      await waitFor('readiness once PostgreSQL is back', () => isReady(http));
      // Nothing was changed by the refused requests: the session is whole, the password the same.
      await expectOpenRoutesWork(http, user);
      await http
        .post('/signin')
        .send({ email: user.email, password: DEFAULT_PASSWORD })
        .expect(200);
    });
  }, 60_000);

  it('should take back a sign-in attempt that failed because of the database: the failed-sign-in budget is whole afterwards', async () => {
    await withPostgresBehindProxy({ RATE_LIMIT_SIGNIN_FAILURES: '2' }, async (http, postgres) => {
      const user = await signUp(http);
      const wrong = () =>
        http.post('/signin').send({ email: user.email, password: 'wrong-password-1' });

      await postgres.cut();
      // Each of these is counted (reserved in Redis) before the database is asked, then given back.
      const refused = [];
      for (let i = 0; i < 3; i++) {
        const response = await wrong();
        refused.push(`${response.status} ${response.body.code}`);
      }
      expect(refused).toEqual(Array(3).fill('503 service_unavailable'));

      await postgres.restore();
      await waitFor('readiness once PostgreSQL is back', () => isReady(http));
      const answers = [];
      for (let i = 0; i < 3; i++) {
        const response = await wrong();
        answers.push(`${response.status} ${response.body.code}`);
      }
      expect(answers).toEqual([
        '401 invalid_credentials',
        '401 invalid_credentials',
        '429 rate_limited',
      ]);
    });
  }, 60_000);
});

// SQLite's expectation for the same fault is in test/failures.e2e-spec.ts.
describe('server faults on PostgreSQL', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('should fail /protected closed with a 500 without the sessions table (the revocation check reads it)', async () => {
    requirePostgres();
    const t = await createTestApp();
    try {
      expect(t.app.get(DataSource).options.type).toBe('postgres');
      const user = await signedInUser(t.http);
      await t.http.get('/protected').set(bearer(user.tokens.access_token)).expect(200);
      const logged: string[] = [];
      jest
        .spyOn(Logger.prototype, 'error')
        .mockImplementation((message: unknown) => void logged.push(String(message)));
      await sql(t.app.get(DataSource), 'DROP TABLE sessions');
      const response = await t.http
        .get('/protected')
        .set(bearer(user.tokens.access_token))
        .expect(500);
      expect(response.body.code).toBe('internal_error');
      // The query failed (a fault), not the connection: logged as unhandled, not as unavailable.
      expect(logged).toEqual([expect.stringMatching(/^Unhandled \w+ on GET \/protected$/)]);
    } finally {
      await t.close();
    }
  });
});
