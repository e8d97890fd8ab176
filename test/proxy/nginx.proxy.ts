import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuiltApp, startBuiltApp, stopBuiltApp } from '../helpers/built-app';
import { runCli } from '../helpers/cli';
import { Nginx, startNginx } from '../helpers/nginx';
import { DEFAULT_PASSWORD, TokenPair, uniqueEmail } from '../helpers/test-app';

interface Echo {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A real nginx (Debian's, with auth_request) running the documented configuration
 * (docs/forward-auth/nginx.conf) in front of an upstream app that echoes what reaches it, with the
 * built service deciding who gets through.
 */
describe('behind nginx (auth_request)', () => {
  let dir: string;
  let env: Record<string, string>;
  let service: BuiltApp;
  let nginx: Nginx;
  let upstream: Server;
  const received: Echo[] = [];
  let user: { id: string; email: string; tokens: TokenPair };
  let admin: { email: string; tokens: TokenPair };

  const direct = async (path: string, body?: object, token?: string) => {
    const response = await fetch(`${service.base}${path}`, {
      method: body ? 'POST' : 'GET',
      headers: {
        ...(body ? { 'Content-Type': 'application/json' } : {}),
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    return {
      status: response.status,
      body: (await response.json().catch(() => ({}))) as TokenPair & { code?: string },
    };
  };

  const account = async () => {
    const email = uniqueEmail('nginx');
    expect((await direct('/signup', { email, password: DEFAULT_PASSWORD })).status).toBe(201);
    const signin = await direct('/signin', { email, password: DEFAULT_PASSWORD });
    expect(signin.status).toBe(200);
    return { email, id: idOf(signin.body.access_token), tokens: signin.body };
  };

  const idOf = (token: string) =>
    (JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as { sub: string }).sub;

  const through = (path: string, init: RequestInit = {}) => fetch(`${nginx.base}${path}`, init);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nginx-'));
    env = {
      NODE_ENV: 'development',
      DB_PATH: join(dir, 'auth.sqlite'),
      DATABASE_URL: '',
      REDIS_URL: '',
      JWT_SECRET: randomBytes(48).toString('base64url'),
      EMAIL_FLOWS: 'off',
      LOG_LEVEL: 'warn',
      ADMIN_REQUIRE_MFA: 'false',
    };
    upstream = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        const echo = { method: request.method!, url: request.url!, headers: request.headers, body };
        received.push(echo);
        response.writeHead(200, { 'Content-Type': 'application/json' });
        response.end(JSON.stringify(echo));
      });
    });
    await new Promise<void>((done) => upstream.listen(0, '127.0.0.1', done));

    // The admin is made as operators make the first one: with the CLI, the service stopped
    // (it holds the SQLite file).
    service = await startBuiltApp('service', env);
    const first = await account();
    await stopBuiltApp(service);
    const granted = await runCli(['admin:grant', first.email], env);
    expect(granted.code).toBe(0);
    service = await startBuiltApp('service', env);
    const signin = await direct('/signin', { email: first.email, password: DEFAULT_PASSWORD });
    admin = { email: first.email, tokens: signin.body };
    user = await account();

    nginx = await startNginx(
      join(dir, 'nginx'),
      Number(new URL(service.base).port),
      (upstream.address() as AddressInfo).port,
    );
  }, 120_000);

  afterAll(async () => {
    await nginx?.stop();
    if (service) {
      await stopBuiltApp(service);
    }
    await new Promise((done) => upstream?.close(done));
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 401 from the service, problem body included, without reaching the app', async () => {
    const before = received.length;
    const response = await through('/orders');
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm=/);
    expect(((await response.json()) as { code: string }).code).toBe('token_missing');
    expect(received.length).toBe(before);
  });

  it('passes a request with a valid token to the app, with the caller set by nginx', async () => {
    const response = await through('/orders?page=2', {
      headers: { Authorization: `Bearer ${user.tokens.access_token}` },
    });
    expect(response.status).toBe(200);
    const echo = (await response.json()) as Echo;
    expect(echo.url).toBe('/orders?page=2');
    expect(echo.headers).toMatchObject({
      'x-auth-user-id': user.id,
      'x-auth-email': user.email,
      'x-auth-aal': 'aal1',
    });
    expect(echo.headers['x-auth-session-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(echo.headers['x-auth-roles']).toBeUndefined();
  });

  it('never lets a client-sent X-Auth-* header reach the app', async () => {
    const forged = {
      'X-Auth-User-Id': 'someone-else',
      'X-Auth-Email': 'ceo@example.com',
      'X-Auth-Roles': 'admin',
      'X-Auth-Aal': 'aal2',
    };
    const response = await through('/orders', {
      headers: { ...forged, Authorization: `Bearer ${user.tokens.access_token}` },
    });
    const echo = (await response.json()) as Echo;
    expect(echo.headers['x-auth-user-id']).toBe(user.id);
    expect(echo.headers['x-auth-email']).toBe(user.email);
    expect(echo.headers['x-auth-roles']).toBeUndefined();
    expect(echo.headers['x-auth-aal']).toBe('aal1');

    const before = received.length;
    expect((await through('/orders', { headers: forged })).status).toBe(401);
    expect(received.length).toBe(before);
  });

  it('passes the method and body on to the app: the check reads neither', async () => {
    const response = await through('/orders', {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${user.tokens.access_token}`,
        'Content-Type': 'text/plain',
      },
      body: 'one coffee',
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ method: 'POST', body: 'one coffee' });
  });

  it('refuses a revoked token at the very next request', async () => {
    const tokens = (await direct('/signin', { email: user.email, password: DEFAULT_PASSWORD }))
      .body;
    const auth = { Authorization: `Bearer ${tokens.access_token}` };
    expect((await through('/orders', { headers: auth })).status).toBe(200);
    const revoked = await fetch(`${service.base}/revoke`, { method: 'POST', headers: auth });
    expect(revoked.status).toBe(200);
    const after = await through('/orders', { headers: auth });
    expect(after.status).toBe(401);
    expect(((await after.json()) as { code: string }).code).toBe('token_revoked');
  });

  it('keeps /admin/ to admins: 403 for a plain user, 200 with the roles for an admin', async () => {
    const refused = await through('/admin/reports', {
      headers: { Authorization: `Bearer ${user.tokens.access_token}` },
    });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { code: string }).code).toBe('forbidden');

    const admitted = await through('/admin/reports', {
      headers: { Authorization: `Bearer ${admin.tokens.access_token}` },
    });
    expect(admitted.status).toBe(200);
    const echo = (await admitted.json()) as Echo;
    expect(echo.headers['x-auth-roles']).toBe('admin');
    expect(echo.headers['x-auth-email']).toBe(admin.email);
  });
});
