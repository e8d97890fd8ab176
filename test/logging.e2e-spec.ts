import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuiltApp, startBuiltApp, stopBuiltApp } from './helpers/built-app';
import { uniqueEmail } from './helpers/test-app';

interface LogLine {
  req?: { id: string; method: string; path: string };
  res?: { statusCode: number };
}

/**
 * The service as a user starts it (src/main.ts in its own process, stdout captured): one JSON
 * line per request with the request id, and never a password, hash or token.
 */
describe('structured logs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'auth-logs-'));
  let app: BuiltApp;

  beforeAll(async () => {
    app = await startBuiltApp(
      'logs',
      { DB_PATH: join(dir, 'auth.sqlite'), LOG_LEVEL: 'info', DATABASE_URL: '', REDIS_URL: '' },
      { fromSource: true, captureStdout: true },
    );
  }, 60_000);

  afterAll(async () => {
    await stopBuiltApp(app);
    rmSync(dir, { recursive: true, force: true });
  });

  const lines = () =>
    app.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as LogLine);

  it('should log each request as JSON with its id, echo the id, and keep secrets out', async () => {
    const email = uniqueEmail('logs');
    const password = 'a-password-for-the-log-test';
    const post = (path: string, body: object, id: string) =>
      fetch(`${app.base}${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Request-Id': id },
        body: JSON.stringify(body),
      });
    expect((await post('/signup', { email, password }, 'req-signup-1')).status).toBe(201);
    const signin = await post('/signin', { email, password }, 'req-signin-1');
    expect(signin.headers.get('x-request-id')).toBe('req-signin-1');
    const tokens = (await signin.json()) as { access_token: string; refresh_token: string };
    await fetch(`${app.base}/protected`, {
      headers: { Authorization: `Bearer ${tokens.access_token}` },
    });
    await post('/refresh', { refresh_token: tokens.refresh_token }, 'req-refresh-1');
    await post('/signin', { email, password: 'wrong-password-here' }, 'bad id with spaces');

    await new Promise((done) => setTimeout(done, 200)); // let the last lines arrive
    const requests = lines().filter(
      (line): line is Required<LogLine> => line.req !== undefined && line.res !== undefined,
    );
    const signinLine = requests.find((line) => line.req.id === 'req-signin-1');
    expect(signinLine).toMatchObject({
      req: { method: 'POST', path: '/signin' },
      res: { statusCode: 200 },
    });
    // An id that is not acceptable is replaced by a generated one.
    const refused = requests.find((line) => line.res.statusCode === 401);
    expect(refused?.req.id).toMatch(/^[0-9a-f-]{36}$/);
    const protectedLine = requests.find((line) => line.req.path === '/protected');
    expect(protectedLine?.req.id).toMatch(/^[0-9a-f-]{36}$/);

    for (const secret of [password, tokens.access_token, tokens.refresh_token, '$argon2id']) {
      expect(app.stdout).not.toContain(secret);
    }
    expect(app.stdout).not.toMatch(/authorization/i);
  });
});
