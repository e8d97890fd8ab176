import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/chromium';
import { BuiltApp, freePort, ROOT, startBuiltApp, stopBuiltApp } from '../helpers/built-app';
import { TestSmtpServer } from '../helpers/smtp';

/**
 * A password reset link as a person follows it: the mail arrives over SMTP, the link opens in
 * Debian's Chromium, the new password is typed into the page's form. Against the built app on a
 * fresh SQLite database, its PUBLIC_URL the address the browser opens. Screenshots of each step go
 * to test-artifacts/browser/reset-link.
 */
const SHOTS = join(ROOT, 'test-artifacts', 'browser', 'reset-link');
const EMAIL = 'reset-in-a-browser@example.com';
const OLD_PASSWORD = 'abc123-but-longer';
const NEW_PASSWORD = 'a-new-one-typed-in-chromium';
const RESET_SUBJECT = 'Reset your password';
/** Same reasoning as docs.browser.ts: a cold Chromium on a loaded 2-core machine is slow. */
const BROWSER_TIMEOUT_MS = 180_000;
jest.setTimeout(BROWSER_TIMEOUT_MS);

describe('a password reset link in a browser', () => {
  let app: BuiltApp;
  let smtp: TestSmtpServer;
  let browser: Browser;
  let page: Page;
  let dir: string;
  const problems: string[] = [];
  /** Failed loads Chromium logs for answers the current step provokes on purpose. */
  let expectedFailure: RegExp | undefined;
  let step = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'auth-browser-reset-'));
    mkdirSync(SHOTS, { recursive: true });
    smtp = await TestSmtpServer.start();
    // The links in the mails must open this very app: its port is chosen before it starts.
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    app = await startBuiltApp(
      'reset-link',
      {
        DB_PATH: join(dir, 'auth.sqlite'),
        SMTP_URL: smtp.url,
        PUBLIC_URL: base,
        MAIL_POLL_INTERVAL: '1s',
      },
      { port },
    );
    expect(app.base).toBe(base);
    browser = await launchChromium(BROWSER_TIMEOUT_MS / 2);
    page = await browser.newPage({ viewport: { width: 800, height: 600 } });
    page.setDefaultTimeout(60_000);
    page.on('console', (message) => {
      const expected = expectedFailure?.test(message.text()) ?? false;
      if (
        (message.type() === 'error' && !expected) ||
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
    await smtp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function shot(name: string): Promise<void> {
    step += 1;
    await page.screenshot({ path: join(SHOTS, `${String(step).padStart(2, '0')}-${name}.png`) });
  }

  async function post(path: string, body: unknown): Promise<number> {
    const response = await fetch(`${app.base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    await response.arrayBuffer();
    return response.status;
  }

  /** Opens the link as a click in a mail client would, and checks what the page is. */
  async function open(link: string, name: string): Promise<void> {
    const response = await page.goto(link);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toContain("default-src 'none'");
    expect(response?.headers()['cache-control']).toBe('no-store');
    await page.locator('#newPassword').waitFor();
    expect(await page.title()).toBe('Choose a new password');
    await shot(name);
  }

  /**
   * Types the password, presses the button and waits for the page's answer in #result (its class
   * becomes "ok" or "error" once the POST has answered); returns the answer's kind and text.
   */
  async function submit(password: string, name: string): Promise<{ kind: string; text: string }> {
    await page.locator('input[name="newPassword"]').fill(password);
    await page.locator('button[type="submit"]').click();
    const result = page.locator('#result');
    await page.locator('#result.ok, #result.error').waitFor();
    await shot(name);
    return {
      kind: (await result.getAttribute('class')) ?? '',
      text: (await result.innerText()).trim(),
    };
  }

  it('should let a person reset the password from the mailed link, once', async () => {
    expect(await post('/signup', { email: EMAIL, password: OLD_PASSWORD })).toBe(201);
    expect(await post('/password/forgot', { email: EMAIL })).toBe(202);
    const [mail] = await smtp.waitFor(EMAIL, 1, RESET_SUBJECT);
    expect(mail.link).toBeDefined();
    const link = mail.link!;
    expect(link.startsWith(`${app.base}/password/reset?token=`)).toBe(true);

    // Opening the link (a mail scanner, a person who looks twice) spends nothing.
    await open(link, 'opened');
    await page.reload();
    await page.locator('#newPassword').waitFor();
    await open(link, 'opened-again');

    const reset = await submit(NEW_PASSWORD, 'reset');
    expect(reset.text).toContain('Your password has been reset');
    expect(reset.kind).toBe('ok');
    expect(await page.locator('#form').isHidden()).toBe(true);
    expect(problems).toEqual([]);

    expect(await post('/signin', { email: EMAIL, password: NEW_PASSWORD })).toBe(200);
    expect(await post('/signin', { email: EMAIL, password: OLD_PASSWORD })).toBe(401);

    // The same link a second time: the page opens, the POST is refused, and the page says so.
    expectedFailure = /Failed to load resource: .* status of 400/;
    await open(link, 'reopened-after-reset');
    const reused = await submit('yet-another-password-1', 'reused');
    expect(reused.text).toContain('This link is unknown, has expired or has already been used');
    expect(reused.kind).toBe('error');
    expect(await post('/signin', { email: EMAIL, password: NEW_PASSWORD })).toBe(200);

    expect(problems).toEqual([]);
  });
});
