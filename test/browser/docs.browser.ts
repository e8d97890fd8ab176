import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser, Locator, Page } from 'playwright-core';
import { launchChromium } from '../helpers/chromium';
import { BuiltApp, ROOT, startBuiltApp, stopBuiltApp } from '../helpers/built-app';

/**
 * The docs page as a person uses it: in Debian's Chromium, with clicks and typing, against the
 * built app on a fresh SQLite database. Screenshots of each step go to test-artifacts/browser.
 */
const SHOTS = join(ROOT, 'test-artifacts', 'browser');
const EMAIL = 'abc@abc.com';
const PASSWORD = 'abc123-but-longer';
/**
 * A cold Chromium on a loaded 2-core machine can take tens of seconds to start and to render the
 * first page; the suite's own limit is far above that instead of the 30 s every other suite has.
 */
const BROWSER_TIMEOUT_MS = 180_000;
jest.setTimeout(BROWSER_TIMEOUT_MS);

describe('the /docs page in a browser', () => {
  let app: BuiltApp;
  let browser: Browser;
  let page: Page;
  let dir: string;
  const problems: string[] = [];
  let step = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'auth-browser-'));
    mkdirSync(SHOTS, { recursive: true });
    app = await startBuiltApp('docs', { DB_PATH: join(dir, 'auth.sqlite') });
    browser = await launchChromium(BROWSER_TIMEOUT_MS / 2);
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    page.setDefaultTimeout(60_000);
    page.on('console', (message) => {
      // The 401s this test provokes on purpose are logged by Chromium as failed loads.
      const expected401 = /Failed to load resource: .* status of 401/.test(message.text());
      if (
        (message.type() === 'error' && !expected401) ||
        /Content Security Policy/i.test(message.text())
      ) {
        problems.push(`console: ${message.text()}`);
      }
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  });

  afterAll(async () => {
    await browser?.close();
    if (app) {
      await stopBuiltApp(app);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  async function shot(name: string): Promise<void> {
    step += 1;
    await page.screenshot({ path: join(SHOTS, `${String(step).padStart(2, '0')}-${name}.png`) });
  }

  function operation(id: string): Locator {
    return page.locator(`[id="operations-${id}"]`);
  }

  /** Opens an operation, types its body if any, presses Execute and reads the response. */
  async function execute(id: string, body?: unknown): Promise<{ status: number; body: string }> {
    const block = operation(id);
    if (!(await block.locator('.execute').isVisible())) {
      await block.locator('.opblock-summary').first().click();
    }
    const clear = block.locator('button.btn-clear');
    if (await clear.isVisible()) {
      await clear.click();
    }
    if (body !== undefined) {
      const editor = block.locator('textarea.body-param__text');
      await editor.click();
      await editor.fill(JSON.stringify(body, null, 2));
    }
    await block.locator('button.execute').click();
    const status = block.locator('.live-responses-table .response .response-col_status').first();
    await status.waitFor();
    const text = (
      await block.locator('.live-responses-table .response-col_description pre').first().innerText()
    ).trim();
    await block.scrollIntoViewIfNeeded();
    return { status: Number((await status.innerText()).trim()), body: text };
  }

  async function authorize(scheme: string, token: string): Promise<void> {
    await page.locator('.auth-wrapper button.authorize').click();
    const dialog = page.locator('.dialog-ux');
    const container = dialog.locator('.auth-container').filter({ hasText: scheme });
    const logout = container.locator('button', { hasText: 'Logout' });
    if (await logout.isVisible()) {
      await logout.click();
    }
    await container.locator('input').fill(token);
    await container.locator('button.authorize').click();
    await shot(`authorize-${scheme}`);
    await dialog.locator('button.btn-done').first().click();
  }

  it('should let a person sign up, sign in, authorize, call, refresh and revoke', async () => {
    const response = await page.goto(`${app.base}/`);
    expect(response?.ok()).toBe(true);
    expect(page.url()).toBe(`${app.base}/docs`);
    await page.locator('.opblock').first().waitFor();
    await shot('loaded');

    const signup = await execute('auth-AuthController_signUp', {
      email: EMAIL,
      password: PASSWORD,
    });
    await shot('signup');
    expect(signup.status).toBe(201);
    expect(JSON.parse(signup.body)).toMatchObject({ email: EMAIL });

    const signin = await execute('auth-AuthController_signIn', {
      email: EMAIL,
      password: PASSWORD,
    });
    await shot('signin');
    expect(signin.status).toBe(200);
    const tokens = JSON.parse(signin.body) as { access_token: string; refresh_token: string };

    await authorize('access-token', tokens.access_token);
    const granted = await execute('auth-AuthController_getProtected');
    await shot('protected-200');
    expect(granted.status).toBe(200);
    expect(JSON.parse(granted.body).message).toBe(
      `Hello, ${EMAIL}! You have access to this protected route.`,
    );

    const refreshed = await execute('auth-AuthController_refresh', {
      refresh_token: tokens.refresh_token,
    });
    await shot('refresh-200');
    expect(refreshed.status).toBe(200);
    const next = JSON.parse(refreshed.body) as { refresh_token: string };

    const revoked = await execute('auth-AuthController_revoke', { scope: 'current' });
    await shot('revoke');
    expect(revoked.status).toBe(200);

    const refused = await execute('auth-AuthController_getProtected');
    await shot('protected-401');
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.body)).toMatchObject({ status: 401, code: 'token_revoked' });

    const dead = await execute('auth-AuthController_refresh', {
      refresh_token: next.refresh_token,
    });
    await shot('refresh-after-revoke');
    expect(dead.status).toBe(401);
    expect(JSON.parse(dead.body).code).toBe('session_revoked');

    expect(problems).toEqual([]);
  });
});
