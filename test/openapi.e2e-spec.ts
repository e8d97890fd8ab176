import { createTestApp, TestApp } from './helpers/test-app';

interface Operation {
  operationId?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  responses: Record<string, { content?: Record<string, unknown> }>;
}

describe('OpenAPI document', () => {
  let t: TestApp;
  let document: {
    paths: Record<string, Record<string, Operation>>;
    components: { securitySchemes: Record<string, { type: string; scheme: string }> };
    tags: { name: string; description: string }[];
  };

  beforeAll(async () => {
    t = await createTestApp();
    document = (await t.http.get('/docs-json').expect(200)).body;
  });

  afterAll(async () => {
    await t.close();
  });

  it('should list the five seed endpoints', () => {
    expect(document.paths['/signup'].post).toBeDefined();
    expect(document.paths['/signin'].post).toBeDefined();
    expect(document.paths['/protected'].get).toBeDefined();
    expect(document.paths['/revoke'].post).toBeDefined();
    expect(document.paths['/refresh'].post).toBeDefined();
  });

  it('should list the account and session operations with the bearer scheme', () => {
    for (const [path, method] of [
      ['/me', 'get'],
      ['/me', 'delete'],
      ['/password', 'post'],
      ['/sessions', 'get'],
      ['/sessions/{id}', 'delete'],
    ]) {
      expect(document.paths[path][method].security).toEqual([{ 'access-token': [] }]);
    }
    expect(document.paths['/sessions/{id}'].delete.responses['404'].content).toHaveProperty(
      'application/problem+json',
    );
    expect(document.paths['/health/live'].get.security).toBeUndefined();
    expect(document.paths['/.well-known/jwks.json'].get.security).toBeUndefined();
  });

  it('should give every operation an id of its own (client generators key on them)', () => {
    const ids = Object.values(document.paths).flatMap((operations) =>
      Object.values(operations).map((operation) => operation.operationId),
    );
    expect(ids.every((id) => typeof id === 'string')).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('should list the admin operations under the admin tag, with 403 and 404 documented', () => {
    expect(document.tags.find((tag) => tag.name === 'admin')?.description).toContain('admin');
    const admin = Object.entries(document.paths).filter(([path]) => path.startsWith('/admin/'));
    expect(admin.map(([path]) => path).sort()).toEqual([
      '/admin/audit',
      '/admin/users',
      '/admin/users/{id}',
      '/admin/users/{id}/disable',
      '/admin/users/{id}/enable',
      '/admin/users/{id}/mfa',
      '/admin/users/{id}/roles',
      '/admin/users/{id}/sessions/end',
      '/admin/users/{id}/unlock',
    ]);
    for (const [path, operations] of admin) {
      for (const operation of Object.values(operations)) {
        expect([path, operation.tags]).toEqual([path, ['admin']]);
        expect(operation.security).toEqual([{ 'access-token': [] }]);
        expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['401', '403']));
        if (path.includes('{id}')) {
          expect(operation.responses['404'].content).toHaveProperty('application/problem+json');
        }
      }
    }
  });

  it('should declare the bearer scheme on protected operations and none on public ones', () => {
    expect(document.components.securitySchemes['access-token']).toMatchObject({
      type: 'http',
      scheme: 'bearer',
    });
    expect(document.paths['/protected'].get.security).toEqual([{ 'access-token': [] }]);
    expect(document.paths['/revoke'].post.security).toEqual([{ 'access-token': [] }]);
    expect(document.paths['/signup'].post.security).toBeUndefined();
    expect(document.paths['/signin'].post.security).toBeUndefined();
  });

  it('should document error statuses with the problem+json body', () => {
    const signup = document.paths['/signup'].post.responses;
    expect(Object.keys(signup)).toEqual(expect.arrayContaining(['201', '400', '409']));
    expect(signup['409'].content).toHaveProperty('application/problem+json');
    expect(document.paths['/protected'].get.responses['401'].content).toHaveProperty(
      'application/problem+json',
    );
  });

  it('should serve the Swagger UI page', async () => {
    const response = await t.http.get('/docs').redirects(1).expect(200);
    expect(response.text).toContain('swagger-ui');
  });
});

describe('docs switch', () => {
  it('should redirect / to /docs when the docs are on', async () => {
    const t = await createTestApp({ DOCS_ENABLED: 'true' });
    try {
      const response = await t.http.get('/').expect(302);
      expect(response.headers.location).toBe('/docs');
    } finally {
      await t.close();
    }
  });

  it('should serve neither the page nor the redirect when DOCS_ENABLED=false', async () => {
    const t = await createTestApp({ DOCS_ENABLED: 'false' });
    try {
      await t.http.get('/docs').expect(404);
      await t.http.get('/docs-json').expect(404);
      await t.http.get('/').expect(404);
    } finally {
      await t.close();
    }
  });
});
