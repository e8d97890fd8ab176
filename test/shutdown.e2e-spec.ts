import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { BuiltApp, exitOf, startBuiltApp, stopBuiltApp } from './helpers/built-app';
import { decodePayload } from './helpers/tokens';
import { DEFAULT_PASSWORD, uniqueEmail } from './helpers/test-app';
import { waitFor } from './helpers/wait-for';

/** Whether a new connection to `port` is accepted (it is closed again at once) or refused. */
function accepts(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

/**
 * A POST whose body is held back: it resolves `headersTaken` once the server has parsed the headers
 * and routed the request (Node answers `Expect: 100-continue` as it hands the request to Fastify),
 * and sends the body only when `sendBody` is called.
 */
function heldPost(base: string, path: string, body: object) {
  const payload = JSON.stringify(body);
  const url = new URL(path, base);
  let headersTaken!: () => void;
  const taken = new Promise<void>((done) => (headersTaken = done));
  const request = httpRequest(url, {
    method: 'POST',
    agent: false,
    headers: {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(payload),
      Expect: '100-continue',
    },
  });
  const answer = new Promise<{ status: number; body: Record<string, unknown> }>((done, fail) => {
    request.once('error', fail);
    request.once('response', (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.once('error', fail);
      response.once('end', () =>
        done({
          status: response.statusCode ?? 0,
          body: JSON.parse(text) as Record<string, unknown>,
        }),
      );
    });
  });
  request.once('continue', headersTaken);
  request.flushHeaders();
  return { taken, answer, sendBody: () => request.end(payload), abort: () => request.destroy() };
}

/** The built service (dist/main.js) as a process manager stops it: SIGTERM. */
describe('SIGTERM on the built app', () => {
  let app: BuiltApp | undefined;

  afterEach(async () => {
    if (app) {
      await stopBuiltApp(app);
    }
  });

  it('should finish a request in flight with its normal answer, then exit with code 0', async () => {
    app = await startBuiltApp('shutdown', {
      DB_PATH: ':memory:',
      DATABASE_URL: '',
      REDIS_URL: '',
      LOG_LEVEL: 'silent',
    });
    const port = Number(new URL(app.base).port);
    const email = uniqueEmail('shutdown');
    const signup = await fetch(`${app.base}/signup`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email, password: DEFAULT_PASSWORD }),
    });
    expect(signup.status).toBe(201);
    const { id } = (await signup.json()) as { id: string };

    const signin = heldPost(app.base, '/signin', { email, password: DEFAULT_PASSWORD });
    try {
      await signin.taken;
      const exited = exitOf(app);
      app.process.kill('SIGTERM');
      // Under way: the listener is closed, so new connections are refused, while the sign-in
      // (headers in, body not yet sent) is still open.
      await waitFor('the app to stop accepting connections', async () => !(await accepts(port)));
      signin.sendBody();
      const answer = await signin.answer;
      expect(answer.status).toBe(200);
      expect(answer.body.token_type).toBe('Bearer');
      expect(decodePayload(answer.body.access_token as string).sub).toBe(id);
      expect(await exited).toEqual({ code: 0, signal: null });
    } finally {
      signin.abort();
    }
  }, 60_000);
});
