import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import {
  answersOf,
  everyRoute,
  expectOpenRoutesWork,
  limitedRoutes,
  LIMITS_UNAVAILABLE,
  OutageUser,
} from './helpers/outage';
import { createTestApp, signedInUser, TestApp } from './helpers/test-app';

/** Nothing listens there: Redis configured but never reachable. */
const UNREACHABLE_REDIS = 'redis://127.0.0.1:1';

/** Starts an app for one test and always closes it, even when the test fails. */
async function withApp(env: Record<string, string>, test: (t: TestApp) => Promise<void>) {
  const t = await createTestApp(env);
  try {
    await test(t);
  } finally {
    await t.close();
  }
}

// Readiness with Redis reachable needs a real Redis: test/redis-outage.pg-spec.ts.
describe('GET /health', () => {
  it('should report liveness without a token', async () => {
    await withApp({}, async (t) => {
      const response = await t.http.get('/health/live').expect(200);
      expect(response.body.status).toBe('ok');
    });
  });

  it('should report readiness from the database alone when no Redis is configured', async () => {
    await withApp({ REDIS_URL: '' }, async (t) => {
      const response = await t.http.get('/health/ready').expect(200);
      expect(response.body.status).toBe('ok');
      expect(response.body.details).toEqual({ database: { status: 'up' } });
    });
  });

  it('should answer 503 service_unavailable with Retry-After once the database is gone', async () => {
    await withApp({}, async (t) => {
      await t.http.get('/health/ready').expect(200);
      await t.app.get(DataSource).destroy();
      const response = await t.http.get('/health/ready').expect(503);
      expect(response.body.code).toBe('service_unavailable');
      expect(response.body.detail).toBe('Not ready: database down');
      expect(response.headers['retry-after']).toBe('5');
      await t.http.get('/health/live').expect(200);
    });
  });
});

describe('GET /health/ready with Redis configured but unreachable', () => {
  it('should answer 503 with Retry-After and name Redis as down', async () => {
    await withApp({ REDIS_URL: UNREACHABLE_REDIS, RATE_LIMIT_ENABLED: 'true' }, async (t) => {
      const response = await t.http.get('/health/ready').expect(503);
      expect(response.body.code).toBe('service_unavailable');
      expect(response.body.detail).toBe('Not ready: redis down');
      expect(response.headers['retry-after']).toBe('5');
    });
  });
});

describe('rate limits while Redis is unreachable', () => {
  it('should refuse every limited route with 503 (failing closed) and keep the others working', async () => {
    // The user signs in on an app without Redis; the same database and secret then serve an app
    // whose Redis never answers (on PostgreSQL, the same DB_PATH maps to the same schema).
    const dir = mkdtempSync(join(tmpdir(), 'auth-redis-down-'));
    const shared = {
      DB_PATH: join(dir, 'auth.sqlite'),
      JWT_SECRET: randomBytes(48).toString('base64url'),
    };
    try {
      let user!: OutageUser;
      await withApp({ ...shared, REDIS_URL: '' }, async (t) => {
        user = await signedInUser(t.http);
      });
      await withApp(
        { ...shared, REDIS_URL: UNREACHABLE_REDIS, RATE_LIMIT_ENABLED: 'true' },
        async (t) => {
          const routes = limitedRoutes(t.http, user);
          expect(await answersOf(routes)).toEqual(everyRoute(routes, LIMITS_UNAVAILABLE));
          await expectOpenRoutesWork(t.http, user);
        },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('GET /health/ready with rate limits off', () => {
  it('should neither use nor check Redis, even when REDIS_URL is set', async () => {
    await withApp({ REDIS_URL: UNREACHABLE_REDIS, RATE_LIMIT_ENABLED: 'false' }, async (t) => {
      const response = await t.http.get('/health/ready').expect(200);
      expect(response.body.details).toEqual({ database: { status: 'up' } });
    });
  });
});
