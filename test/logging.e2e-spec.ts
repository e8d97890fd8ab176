import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuiltApp, exitOf, startBuiltApp, stopBuiltApp } from './helpers/built-app';
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

  /** The complete lines so far (a line still being written has no newline yet). */
  const lines = () =>
    app.stdout
      .split('\n')
      .slice(0, -1)
      .filter(Boolean)
      .map((line) => JSON.parse(line) as LogLine);

  /** The lines of answered requests, but for the probes of /health/live that start-up sent. */
  const requestLines = () =>
    lines().filter(
      (line): line is Required<LogLine> =>
        line.req !== undefined && line.res !== undefined && line.req.path !== '/health/live',
    );

  /** The request lines once there are `count` of them, polling until a deadline. */
  async function linesOfRequests(count: number, deadlineMs = 10_000): Promise<Required<LogLine>[]> {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      const found = requestLines();
      if (found.length >= count) {
        return found;
      }
      if (Date.now() > deadline) {
        throw new Error(`only ${found.length} of ${count} request lines within ${deadlineMs} ms`);
      }
      await new Promise((done) => setTimeout(done, 10));
    }
  }

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
    const protectedAnswer = await fetch(`${app.base}/protected`, {
      headers: { Authorization: `Bearer ${tokens.access_token}` },
    });
    expect(protectedAnswer.status).toBe(200);
    expect(
      (await post('/refresh', { refresh_token: tokens.refresh_token }, 'req-refresh-1')).status,
    ).toBe(200);
    expect(
      (await post('/signin', { email, password: 'wrong-password-here' }, 'bad id with spaces'))
        .status,
    ).toBe(401);

    // The line of a request is written once its answer has gone out; wait until all five are in.
    const requests = await linesOfRequests(5);
    const signinLine = requests.find((line) => line.req.id === 'req-signin-1');
    expect(signinLine).toMatchObject({
      req: { method: 'POST', path: '/signin' },
      res: { statusCode: 200 },
    });
    expect(requests.map((line) => [line.req.method, line.req.path, line.res.statusCode])).toEqual([
      ['POST', '/signup', 201],
      ['POST', '/signin', 200],
      ['GET', '/protected', 200],
      ['POST', '/refresh', 200],
      ['POST', '/signin', 401],
    ]);
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

  it('should log and count a request whose client went away before its answer', async () => {
    // A sign-in hashes for tens of milliseconds: the client hangs up long before the answer.
    const body = JSON.stringify({ email: uniqueEmail('gone'), password: 'a-password-nobody-has' });
    const socket = connect(Number(new URL(app.base).port), '127.0.0.1');
    await new Promise((done) => socket.once('connect', done));
    socket.write(
      `POST /signin HTTP/1.1\r\nHost: x\r\nX-Request-Id: req-gone-1\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    await new Promise((done) => setTimeout(done, 5));
    socket.destroy();
    const deadline = Date.now() + 10_000;
    let aborted: (LogLine & { msg?: string }) | undefined;
    while (!aborted && Date.now() < deadline) {
      aborted = (lines() as (LogLine & { msg?: string })[]).find(
        (line) => line.req?.id === 'req-gone-1',
      );
      await new Promise((done) => setTimeout(done, 10));
    }
    expect(aborted).toMatchObject({
      msg: 'request aborted',
      req: { method: 'POST', path: '/signin' },
    });
    const metrics = await (await fetch(`${app.base}/metrics`)).text();
    expect(metrics).toMatch(/^http_requests_aborted_total\{method="POST",route="\/signin"\} 1$/m);
  });
});

/**
 * Lines are queued and written out in the background; none may be lost when the process stops.
 * The built service, as in production: the requests answered just before SIGTERM have their lines
 * in the output once the process has exited.
 */
describe('log lines at shutdown', () => {
  const dir = mkdtempSync(join(tmpdir(), 'auth-logs-exit-'));

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('should write the line of every request answered before SIGTERM', async () => {
    const app = await startBuiltApp(
      'logs-exit',
      {
        DB_PATH: join(dir, 'auth.sqlite'),
        LOG_LEVEL: 'info',
        NODE_ENV: 'production',
        EMAIL_FLOWS: 'off',
        JWT_SECRET: randomBytes(48).toString('base64url'),
        DATABASE_URL: '',
        REDIS_URL: '',
      },
      { captureStdout: true },
    );
    try {
      const ids = Array.from({ length: 25 }, (_, i) => `last-request-${i}`);
      for (const id of ids) {
        const response = await fetch(`${app.base}/protected`, { headers: { 'X-Request-Id': id } });
        expect(response.status).toBe(401);
      }
      const exited = exitOf(app);
      // 'close' comes once the process has exited and its stdout has been read to the end.
      const closed = new Promise((done) => app.process.once('close', done));
      app.process.kill('SIGTERM');
      expect(await exited).toEqual({ code: 0, signal: null });
      await closed;
      const logged = app.stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as LogLine)
        .map((line) => line.req?.id);
      expect(ids.filter((id) => !logged.includes(id))).toEqual([]);
    } finally {
      await stopBuiltApp(app);
    }
  });
});
