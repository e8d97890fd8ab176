// The typed client against the built service (dist/main.js), in Node: the seed workflow, sessions,
// second-factor sign-in's first step and the automatic refresh. Run with `npm run client:test`.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Secret, TOTP } from 'otpauth';
import { AuthClient, AuthError } from '../dist/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const SECRET = randomBytes(48).toString('base64url');
const PASSWORD = 'correct-horse-battery';

const freePort = () =>
  new Promise((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });

let service;
let baseUrl;
let dir;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'client-'));
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  service = spawn(process.execPath, [join(ROOT, 'dist/main.js')], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'development',
      PORT: String(port),
      HOST: '127.0.0.1',
      DB_PATH: join(dir, 'auth.sqlite'),
      DATABASE_URL: '',
      REDIS_URL: '',
      JWT_SECRET: SECRET,
      JWT_ISSUER: 'client-test',
      JWT_AUDIENCE: 'client-test',
      EMAIL_FLOWS: 'off',
      LOG_LEVEL: 'warn',
      RATE_LIMIT_SIGNIN: '100000',
      RATE_LIMIT_REFRESH: '100000',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${baseUrl}/health/live`)).ok) {
        break;
      }
    } catch {
      // Not listening yet.
    }
    if (i > 300 || service.exitCode !== null) {
      throw new Error('the built service did not start');
    }
    await new Promise((done) => setTimeout(done, 100));
  }
});

after(() => {
  service?.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

/** An access token of `claims`' session that expired a minute ago, signed with the service's key. */
function expiredLike(token) {
  const [header, payload] = token.split('.').slice(0, 2);
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
  const now = Math.floor(Date.now() / 1000);
  const body = Buffer.from(
    JSON.stringify({ ...claims, jti: randomUUID(), iat: now - 120, exp: now - 60 }),
  ).toString('base64url');
  const signature = createHmac('sha256', SECRET).update(`${header}.${body}`).digest('base64url');
  return `${header}.${body}.${signature}`;
}

/** A fetch that counts what it sends, by method and path. */
function counting() {
  const counts = new Map();
  const counted = (request) => {
    const key = `${request.method} ${new URL(request.url).pathname}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    return fetch(request);
  };
  return { counts, fetch: counted };
}

describe('the typed client, in Node', () => {
  it('runs the seed workflow: sign up, sign in, protected, refresh, revoke', async () => {
    const client = new AuthClient({ baseUrl });
    const email = `client-${randomUUID()}@example.com`;
    const user = await client.signUp(email, PASSWORD);
    assert.equal(user.email, email);

    const result = await client.signIn(email, PASSWORD);
    assert.equal(result.status, 'signed-in');
    assert.equal((await client.protected()).user.email, email);
    assert.equal((await client.me()).id, user.id);

    const before = client.tokens;
    await client.refresh();
    assert.notEqual(client.tokens.refreshToken, before.refreshToken);
    assert.equal((await client.protected()).user.id, user.id);

    await client.revoke();
    assert.equal(client.tokens.accessToken, undefined);
    await assert.rejects(client.protected(), (error) => {
      assert.ok(error instanceof AuthError);
      assert.equal(error.status, 401);
      assert.equal(error.code, 'token_missing');
      return true;
    });
  });

  it('surfaces problem answers as AuthError with code, status and detail', async () => {
    const client = new AuthClient({ baseUrl });
    await assert.rejects(client.signIn(`nobody-${randomUUID()}@example.com`, PASSWORD), (error) => {
      assert.ok(error instanceof AuthError);
      assert.equal(error.status, 401);
      assert.equal(error.code, 'invalid_credentials');
      assert.match(error.detail, /incorrect/);
      return true;
    });
    await assert.rejects(client.signUp('not-an-email', 'short'), (error) => {
      assert.equal(error.code, 'validation_failed');
      assert.ok(Array.isArray(error.problem.errors));
      return true;
    });
  });

  it('lists and ends sessions', async () => {
    const email = `client-${randomUUID()}@example.com`;
    const first = new AuthClient({ baseUrl });
    await first.signUp(email, PASSWORD);
    await first.signIn(email, PASSWORD);
    const second = new AuthClient({ baseUrl });
    await second.signIn(email, PASSWORD);

    const sessions = await first.sessions();
    assert.equal(sessions.length, 2);
    const other = sessions.find((session) => !session.current);
    await first.endSession(other.id);
    await assert.rejects(second.protected(), (error) => error.code === 'session_revoked');
    assert.equal((await first.sessions()).length, 1);
  });

  it('refreshes once for ten concurrent calls with an expired access token, then retries them', async () => {
    const email = `client-${randomUUID()}@example.com`;
    const { counts, fetch: counted } = counting();
    const client = new AuthClient({ baseUrl, fetch: counted });
    await client.signUp(email, PASSWORD);
    await client.signIn(email, PASSWORD);
    client.setTokens({ accessToken: expiredLike(client.tokens.accessToken) });

    const answers = await Promise.all(Array.from({ length: 10 }, () => client.protected()));
    assert.equal(answers.length, 10);
    for (const answer of answers) {
      assert.equal(answer.user.email, email);
    }
    assert.equal(counts.get('POST /refresh'), 1);
    // Ten calls that got 401 token_expired, then ten retries.
    assert.equal(counts.get('GET /protected'), 20);
  });

  it('reports the second step of a sign-in with a second factor', async () => {
    const email = `client-${randomUUID()}@example.com`;
    const client = new AuthClient({ baseUrl });
    await client.signUp(email, PASSWORD);
    await client.signIn(email, PASSWORD);
    const enroll = await client.api.POST('/mfa/totp/enroll', { body: { password: PASSWORD } });
    assert.equal(enroll.response.status, 200);
    const secret = enroll.data.secret;
    const code = new TOTP({ secret: Secret.fromBase32(secret) }).generate();
    const verify = await client.api.POST('/mfa/totp/verify', { body: { code } });
    assert.equal(verify.response.status, 200);

    const next = new AuthClient({ baseUrl });
    const result = await next.signIn(email, PASSWORD);
    assert.equal(result.status, 'mfa-required');
    await assert.rejects(
      next.signInWithSecondFactor(result.mfaToken, { code: '000000' }),
      (error) => ['invalid_code'].includes(error.code),
    );
    const pair = await next.signInWithSecondFactor(result.mfaToken, {
      recoveryCode: verify.data.recoveryCodes[0],
    });
    assert.ok(pair.access_token);
    assert.equal((await next.protected()).user.email, email);
  });
});
