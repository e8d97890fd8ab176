import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  bearer,
  createTestApp,
  DEFAULT_PASSWORD,
  signIn,
  signUp,
  TestApp,
  TokenPair,
} from './helpers/test-app';

/**
 * A deleted account's tokens, access and refresh, of every one of its sessions, stay rejected
 * when the app restarts on the same database (docs/sessions-and-tokens.md, "Account deletion"):
 * the emptied row and the revoked sessions outlive the process, not only its memory.
 */
describe('a deleted account across a restart', () => {
  let dir: string;
  let env: Record<string, string>;
  const apps: TestApp[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'auth-deleted-'));
    env = {
      DB_PATH: join(dir, 'auth.sqlite'),
      REFRESH_REUSE_GRACE: '0',
      JWT_SECRET: randomBytes(48).toString('base64url'),
    };
  });

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(): Promise<TestApp> {
    const app = await createTestApp(env);
    apps.push(app);
    return app;
  }

  async function stop(app: TestApp): Promise<void> {
    apps.splice(apps.indexOf(app), 1);
    await app.close();
  }

  /** Status and code of every way the account's old tokens could still open something. */
  async function whatStillWorks(t: TestApp, pairs: TokenPair[], spentRefresh: string) {
    const seen: Record<string, [number, string]> = {};
    const record = (name: string, response: { status: number; body: { code?: string } }) => {
      seen[name] = [response.status, response.body.code ?? ''];
    };
    for (const [i, pair] of pairs.entries()) {
      record(`protected ${i}`, await t.http.get('/protected').set(bearer(pair.access_token)));
      record(`me ${i}`, await t.http.get('/me').set(bearer(pair.access_token)));
      record(
        `refresh ${i}`,
        await t.http.post('/refresh').send({ refresh_token: pair.refresh_token }),
      );
      record(`exchange ${i}`, await t.http.post('/refresh').set(bearer(pair.access_token)));
    }
    record('spent refresh', await t.http.post('/refresh').send({ refresh_token: spentRefresh }));
    return seen;
  }

  it('should keep every access and refresh token of the deleted account rejected', async () => {
    const first = await start();
    const user = await signUp(first.http);
    const deleting = await signIn(first.http, user.email);
    const other = await signIn(first.http, user.email);
    const otherRefreshed = (
      await first.http.post('/refresh').send({ refresh_token: other.refresh_token }).expect(200)
    ).body as TokenPair;
    await first.http
      .delete('/me')
      .set(bearer(deleting.access_token))
      .send({ password: DEFAULT_PASSWORD })
      .expect(204);
    const pairs = [deleting, otherRefreshed];
    const beforeRestart = await whatStillWorks(first, pairs, other.refresh_token);
    await stop(first);

    const second = await start();
    const afterRestart = await whatStillWorks(second, pairs, other.refresh_token);
    // Nothing opens anything, before the restart or after it, and the answers do not change.
    for (const [name, [status]] of Object.entries(afterRestart)) {
      expect([name, status]).toEqual([name, 401]);
    }
    expect(afterRestart).toEqual(beforeRestart);
    expect(afterRestart).toMatchObject({
      'protected 0': [401, 'token_revoked'],
      'protected 1': [401, 'session_revoked'],
      'refresh 0': [401, 'session_revoked'],
      'refresh 1': [401, 'session_revoked'],
      'spent refresh': [401, 'session_revoked'],
    });
    // The old password opens nothing either.
    const signin = await second.http
      .post('/signin')
      .send({ email: user.email, password: DEFAULT_PASSWORD })
      .expect(401);
    expect(signin.body.code).toBe('invalid_credentials');
  });

  it('should keep them rejected when the email has been registered again', async () => {
    const first = await start();
    const user = await signUp(first.http);
    const old = await signIn(first.http, user.email);
    await first.http
      .delete('/me')
      .set(bearer(old.access_token))
      .send({ password: DEFAULT_PASSWORD })
      .expect(204);
    await stop(first);

    const second = await start();
    const again = await signUp(second.http, user.email);
    expect(again.id).not.toBe(user.id);
    const fresh = await signIn(second.http, user.email);
    await stop(second);

    // One more restart: the new account works, the old one's tokens still do not.
    const third = await start();
    const me = await third.http.get('/me').set(bearer(fresh.access_token)).expect(200);
    expect(me.body.id).toBe(again.id);
    await third.http.get('/protected').set(bearer(old.access_token)).expect(401);
    const refresh = await third.http
      .post('/refresh')
      .send({ refresh_token: old.refresh_token })
      .expect(401);
    expect(refresh.body.code).toBe('session_revoked');
    await third.http.post('/refresh').send({ refresh_token: fresh.refresh_token }).expect(200);
  });
});
