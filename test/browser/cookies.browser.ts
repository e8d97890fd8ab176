import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser, BrowserContext, Page } from 'playwright-core';
import { BuiltApp, freePort, ROOT, startBuiltApp, stopBuiltApp } from '../helpers/built-app';
import { remint } from '../helpers/tokens';
import { launchChromium } from '../helpers/chromium';
import { DEFAULT_PASSWORD } from '../helpers/test-app';

/** The page's document, in the functions that run in the browser (the suite has no DOM types). */
declare const document: { cookie: string };

const BROWSER_TIMEOUT_MS = 180_000;
const SECRET = randomBytes(48).toString('base64url');
jest.setTimeout(BROWSER_TIMEOUT_MS);

/** The built typed client and its one dependency, as a browser app would load them. */
const MODULES: Record<string, string> = {
  '/client/index.js': join(ROOT, 'client/dist/index.js'),
  '/client/schema.js': join(ROOT, 'client/dist/schema.js'),
  '/vendor/openapi-fetch.mjs': join(ROOT, 'node_modules/openapi-fetch/dist/index.mjs'),
};

const PAGE = `<!doctype html><title>app</title>
<script type="importmap">{"imports": {"openapi-fetch": "/vendor/openapi-fetch.mjs"}}</script>
<script type="module">import { AuthClient } from '/client/index.js'; window.AuthClient = AuthClient;</script>
<h1>app</h1>`;

/** A single-page app's origin: a page (and the client's modules) served on a port of its own. */
async function pageServer(): Promise<{ server: Server; origin: string }> {
  const server = createServer((request, response) => {
    const module = MODULES[request.url ?? ''];
    if (module) {
      response.writeHead(200, { 'Content-Type': 'text/javascript' });
      response.end(readFileSync(module));
      return;
    }
    response.writeHead(200, { 'Content-Type': 'text/html' });
    response.end(PAGE);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { server, origin: `http://localhost:${(server.address() as AddressInfo).port}` };
}

interface FetchResult {
  status: number;
  body: Record<string, unknown>;
}

/**
 * Cookie delivery as a browser app lives it, in Debian's Chromium: pages on other origins (other
 * ports of localhost, a secure context) call the built service with `credentials: 'include'`.
 */
describe('refresh tokens in cookies, in a browser', () => {
  let dir: string;
  let app: BuiltApp;
  let api: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let allowed: { server: Server; origin: string };
  let other: { server: Server; origin: string };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'auth-cookies-'));
    allowed = await pageServer();
    other = await pageServer();
    const port = await freePort();
    api = `http://localhost:${port}`;
    app = await startBuiltApp(
      'cookies',
      {
        DB_PATH: join(dir, 'auth.sqlite'),
        JWT_SECRET: SECRET,
        TOKEN_DELIVERY: 'cookie',
        CORS_ORIGINS: allowed.origin,
        EMAIL_FLOWS: 'off',
        LOG_LEVEL: 'warn',
      },
      { port },
    );
    browser = await launchChromium(BROWSER_TIMEOUT_MS / 2);
    context = await browser.newContext();
    page = await context.newPage();
    await page.goto(allowed.origin);
  });

  afterAll(async () => {
    await browser?.close();
    if (app) {
      await stopBuiltApp(app);
    }
    await Promise.all(
      [allowed, other].map(({ server }) => new Promise((done) => server.close(done))),
    );
    rmSync(dir, { recursive: true, force: true });
  });

  /** fetch() from the page, with its cookies; `csrf` sends the csrf_token cookie's value. */
  const call = (
    on: Page,
    path: string,
    options: { body?: object; csrf?: string; token?: string } = {},
  ): Promise<FetchResult> =>
    on.evaluate(
      async ({ url, body, csrf, token }) => {
        const fromCookie = /(?:^|; )csrf_token=([^;]*)/.exec(document.cookie)?.[1];
        const headers: Record<string, string> = {};
        if (body) {
          headers['Content-Type'] = 'application/json';
        }
        if (csrf !== undefined) {
          headers['X-CSRF-Token'] = csrf === 'cookie' ? (fromCookie ?? '') : csrf;
        }
        if (token) {
          headers.Authorization = `Bearer ${token}`;
        }
        const response = await fetch(url, {
          method: 'POST',
          credentials: 'include',
          headers,
          body: body ? JSON.stringify(body) : undefined,
        });
        const text = await response.text();
        return { status: response.status, body: text ? JSON.parse(text) : {} };
      },
      { url: `${api}${path}`, ...options },
    );

  const refreshCookie = async () =>
    (await context.cookies(`${api}/refresh`)).find(
      (cookie) => cookie.name === '__Secure-refresh_token',
    );

  let email: string;

  it('signs in across origins: the refresh cookie is set, and invisible to scripts', async () => {
    email = `browser-${Date.now()}@example.com`;
    expect(
      (await call(page, '/signup', { body: { email, password: DEFAULT_PASSWORD } })).status,
    ).toBe(201);
    const signin = await call(page, '/signin', { body: { email, password: DEFAULT_PASSWORD } });
    expect(signin.status).toBe(200);
    expect(signin.body.refresh_token).toBeUndefined();

    const cookie = await refreshCookie();
    expect(cookie).toMatchObject({
      httpOnly: true,
      secure: true,
      sameSite: 'Strict',
      path: '/refresh',
    });
    const visible = await page.evaluate(() => document.cookie);
    expect(visible).toMatch(/csrf_token=[A-Za-z0-9_-]{43}/);
    expect(visible).not.toContain('refresh_token');
    expect(visible).not.toContain(cookie!.value);
  });

  it('refreshes with the CSRF header, rotating the cookie', async () => {
    const before = (await refreshCookie())!.value;
    const refreshed = await call(page, '/refresh', { csrf: 'cookie' });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refresh_token).toBeUndefined();
    const after = (await refreshCookie())!.value;
    expect(after).not.toBe(before);
  });

  it('refuses a refresh without the header or with a wrong one (403 csrf_failed)', async () => {
    for (const csrf of [undefined, 'not-the-token']) {
      const refused = await call(page, '/refresh', { csrf });
      expect(refused).toMatchObject({ status: 403, body: { code: 'csrf_failed' } });
    }
  });

  it('lets no page of an origin outside CORS_ORIGINS refresh', async () => {
    const before = (await refreshCookie())!.value;
    const stranger = await context.newPage();
    await stranger.goto(other.origin);
    // Same site, so the browser would send the cookie; the preflight of the CSRF header fails.
    await expect(call(stranger, '/refresh', { csrf: 'cookie' })).rejects.toThrow(/Failed to fetch/);
    await stranger.close();
    expect((await refreshCookie())!.value).toBe(before);
    expect((await call(page, '/refresh', { csrf: 'cookie' })).status).toBe(200);
  });

  it('revokes the session when an old cookie value comes back', async () => {
    const stolen = (await refreshCookie())!;
    expect((await call(page, '/refresh', { csrf: 'cookie' })).status).toBe(200);
    expect((await call(page, '/refresh', { csrf: 'cookie' })).status).toBe(200);
    const current = (await refreshCookie())!;
    await context.addCookies([{ ...stolen }]);
    const reused = await call(page, '/refresh', { csrf: 'cookie' });
    expect(reused).toMatchObject({ status: 401, body: { code: 'refresh_token_reused' } });
    await context.addCookies([{ ...current }]);
    expect((await call(page, '/refresh', { csrf: 'cookie' })).status).toBe(401);
  });

  it('clears both cookies at logout', async () => {
    const signin = await call(page, '/signin', { body: { email, password: DEFAULT_PASSWORD } });
    expect(await refreshCookie()).toBeDefined();
    const revoked = await call(page, '/revoke', { token: signin.body.access_token as string });
    expect(revoked.status).toBe(200);
    expect(await refreshCookie()).toBeUndefined();
    expect(await page.evaluate(() => document.cookie)).not.toContain('csrf_token');
  });

  it('runs the typed client in the page: cookie mode, one refresh for concurrent expired calls', async () => {
    const address = `client-${Date.now()}@example.com`;
    await page.waitForFunction(() => 'AuthClient' in globalThis);
    const signedIn = await page.evaluate(
      async ({ url, email, password }) => {
        // Loaded by the page's module script, as an app's bundle would be.
        const { AuthClient } = globalThis as unknown as {
          AuthClient: new (options: object) => {
            signUp(email: string, password: string): Promise<unknown>;
            signIn(email: string, password: string): Promise<{ status: string }>;
            me(): Promise<{ email: string }>;
            tokens: { accessToken?: string; refreshToken?: string };
          };
        };
        const refreshes: string[] = [];
        const client = new AuthClient({
          baseUrl: url,
          delivery: 'cookie',
          fetch: (input: Request) => {
            if (new URL(input.url).pathname === '/refresh') {refreshes.push(input.url);}
            return fetch(input);
          },
        });
        (globalThis as Record<string, unknown>).client = client;
        (globalThis as Record<string, unknown>).refreshes = refreshes;
        await client.signUp(email, password);
        const result = await client.signIn(email, password);
        return { status: result.status, tokens: client.tokens, me: (await client.me()).email };
      },
      { url: api, email: address, password: DEFAULT_PASSWORD },
    );
    expect(signedIn).toMatchObject({ status: 'signed-in', me: address });
    expect(signedIn.tokens.refreshToken).toBeUndefined();

    const expired = remint(signedIn.tokens.accessToken as string, SECRET, {
      jti: randomUUID(),
      iat: Math.floor(Date.now() / 1000) - 120,
      exp: Math.floor(Date.now() / 1000) - 60,
    });
    const outcome = await page.evaluate(async (token) => {
      const { client, refreshes } = globalThis as unknown as {
        client: { setTokens(t: object): void; protected(): Promise<{ user: { email: string } }> };
        refreshes: string[];
      };
      client.setTokens({ accessToken: token });
      const answers = await Promise.all(Array.from({ length: 10 }, () => client.protected()));
      return { emails: answers.map((answer) => answer.user.email), refreshes: refreshes.length };
    }, expired);
    expect(outcome.emails).toEqual(Array(10).fill(address));
    expect(outcome.refreshes).toBe(1);
  });
});
