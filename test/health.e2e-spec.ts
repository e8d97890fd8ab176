import { DataSource } from 'typeorm';
import { createTestApp, TestApp } from './helpers/test-app';

describe('GET /health', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  it('should report liveness without a token', async () => {
    const response = await t.http.get('/health/live').expect(200);
    expect(response.body.status).toBe('ok');
  });

  it('should report readiness when the database answers', async () => {
    const response = await t.http.get('/health/ready').expect(200);
    expect(response.body.details.database.status).toBe('up');
  });

  it('should answer 503 service_unavailable once the database is gone', async () => {
    await t.app.get(DataSource).destroy();
    const response = await t.http.get('/health/ready').expect(503);
    expect(response.body.code).toBe('service_unavailable');
    await t.http.get('/health/live').expect(200);
  });
});
