import { createTestApp, TestApp } from './helpers/test-app';

describe('error responses', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  it('should answer an unknown path with a 404 problem', async () => {
    const response = await t.http.get('/does-not-exist?token=abc').expect(404);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body).toEqual({
      type: 'urn:nest-jwt-auth:problem:not_found',
      title: 'Not found',
      status: 404,
      detail: expect.any(String),
      code: 'not_found',
      instance: '/does-not-exist',
    });
  });

  it.each([
    ['GET', '/signup', 'POST'],
    ['DELETE', '/protected', 'GET, HEAD'],
    ['PUT', '/refresh', 'POST'],
    ['GET', '/revoke', 'POST'],
  ])('should answer %s %s with 405 and Allow: %s', async (method, path, allow) => {
    const response =
      await t.http[method.toLowerCase() as 'get' | 'put' | 'delete'](path).expect(405);
    expect(response.headers.allow).toBe(allow);
    expect(response.body.code).toBe('method_not_allowed');
  });

  it('should send no X-Powered-By header', async () => {
    const response = await t.http.get('/protected');
    expect(response.headers['x-powered-by']).toBeUndefined();
  });

  it('should never answer 500 to odd requests', async () => {
    const requests = [
      t.http
        .post('/signin')
        .set('Content-Type', 'application/json')
        .send('{"email":{"$gt":""},"password":{"$ne":null}}'),
      t.http
        .post('/signin')
        .set('Content-Type', 'application/json')
        .send('{"constructor":{"prototype":{"x":1}}}'),
      t.http
        .post('/signin')
        .set('Content-Type', 'application/json')
        .send(`${'['.repeat(5000)}${']'.repeat(5000)}`),
      t.http.post('/refresh').set('Content-Type', 'application/json').send('{"refresh_token":123}'),
      t.http.post('/signup').set('Content-Type', 'application/json; charset=latin1').send('{}'),
      t.http.get('/%E0%A4%A'),
    ];
    for (const response of await Promise.all(requests)) {
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(typeof response.body.code).toBe('string');
    }
  });
});
