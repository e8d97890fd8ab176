import { DataSource } from 'typeorm';
import { usingPostgres } from './helpers/database';
import { createTestApp, TestApp } from './helpers/test-app';

describe('GET /health', () => {
  let t: TestApp;

  beforeAll(async () => {
    // Rate limits on, so that Redis (used for them only) is in use under test:pg.
    t = await createTestApp({ RATE_LIMIT_ENABLED: 'true' });
  });

  afterAll(async () => {
    await t.close();
  });

  it('should report liveness without a token', async () => {
    const response = await t.http.get('/health/live').expect(200);
    expect(response.body.status).toBe('ok');
  });

  it('should report readiness when the database (and Redis, when configured) answers', async () => {
    const response = await t.http.get('/health/ready').expect(200);
    expect(response.body.details.database.status).toBe('up');
    expect(response.body.details.redis?.status).toBe(usingPostgres() ? 'up' : undefined);
  });

  it('should answer 503 service_unavailable once the database is gone', async () => {
    await t.app.get(DataSource).destroy();
    const response = await t.http.get('/health/ready').expect(503);
    expect(response.body.code).toBe('service_unavailable');
    expect(response.body.detail).toBe('Not ready: database down');
    await t.http.get('/health/live').expect(200);
  });
});

describe('GET /health/ready with Redis configured but unreachable', () => {
  it('should answer 503 and name Redis as down', async () => {
    const t = await createTestApp({ REDIS_URL: 'redis://127.0.0.1:1', RATE_LIMIT_ENABLED: 'true' });
    try {
      const response = await t.http.get('/health/ready').expect(503);
      expect(response.body.code).toBe('service_unavailable');
      expect(response.body.detail).toBe('Not ready: redis down');
    } finally {
      await t.close();
    }
  });
});

describe('rate limits while Redis is unreachable', () => {
  it('should refuse limited routes with 503 (failing closed) and keep the others working', async () => {
    const t = await createTestApp({ REDIS_URL: 'redis://127.0.0.1:1', RATE_LIMIT_ENABLED: 'true' });
    try {
      const response = await t.http
        .post('/signin')
        .send({ email: 'someone@example.com', password: 'some-password' })
        .expect(503);
      expect(response.body.code).toBe('service_unavailable');
      expect(response.headers['retry-after']).toBe('5');
      await t.http.get('/health/live').expect(200);
    } finally {
      await t.close();
    }
  });
});

describe('GET /health/ready with rate limits off', () => {
  it('should neither use nor check Redis, even when REDIS_URL is set', async () => {
    const t = await createTestApp({
      REDIS_URL: 'redis://127.0.0.1:1',
      RATE_LIMIT_ENABLED: 'false',
    });
    try {
      const response = await t.http.get('/health/ready').expect(200);
      expect(response.body.details.redis).toBeUndefined();
    } finally {
      await t.close();
    }
  });
});
