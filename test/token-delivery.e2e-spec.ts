import { constantTimeEqual } from '../src/auth/tokens/token-cookies';
import {
  bearer,
  createTestApp,
  DEFAULT_PASSWORD,
  signUp,
  TestApp,
  uniqueEmail,
} from './helpers/test-app';

const APP_ORIGIN = 'https://app.example.com';

/** Set-Cookie headers by cookie name. */
function cookiesOf(headers: Record<string, unknown>): Record<string, string> {
  const list = (headers['set-cookie'] as string[] | undefined) ?? [];
  return Object.fromEntries(list.map((line) => [line.split('=')[0], line]));
}

const valueOf = (line: string) => line.split(';')[0].split('=').slice(1).join('=');

describe('refresh tokens in cookies (TOKEN_DELIVERY)', () => {
  describe.each(['cookie', 'both'] as const)('TOKEN_DELIVERY=%s', (mode) => {
    let t: TestApp;

    beforeAll(async () => {
      t = await createTestApp({ TOKEN_DELIVERY: mode, CORS_ORIGINS: APP_ORIGIN });
    });

    afterAll(() => t.close());

    async function signedIn() {
      const user = await signUp(t.http, uniqueEmail(mode));
      const response = await t.http
        .post('/signin')
        .send({ email: user.email, password: DEFAULT_PASSWORD })
        .expect(200);
      return { user, response, cookies: cookiesOf(response.headers) };
    }

    const refreshWith = (cookies: Record<string, string>, csrf?: string, origin = APP_ORIGIN) => {
      const request = t.http
        .post('/refresh')
        .set('Origin', origin)
        .set(
          'Cookie',
          `__Secure-refresh_token=${valueOf(cookies['__Secure-refresh_token'])}; csrf_token=${valueOf(cookies.csrf_token)}`,
        );
      return csrf === undefined ? request : request.set('X-CSRF-Token', csrf);
    };

    it('sets the refresh cookie and the CSRF cookie with exact attributes', async () => {
      const { response, cookies } = await signedIn();
      const refresh = cookies['__Secure-refresh_token'];
      expect(refresh).toMatch(
        /^__Secure-refresh_token=[^;]+; Max-Age=\d+; Path=\/refresh; HttpOnly; Secure; SameSite=Strict$/,
      );
      const maxAge = Number(/Max-Age=(\d+)/.exec(refresh)![1]);
      expect(maxAge).toBeGreaterThan(30 * 86400 - 60);
      expect(maxAge).toBeLessThanOrEqual(30 * 86400);
      expect(cookies.csrf_token).toMatch(
        /^csrf_token=[A-Za-z0-9_-]{43}; Max-Age=\d+; Path=\/; Secure; SameSite=Strict$/,
      );
      if (mode === 'cookie') {
        expect(response.body.refresh_token).toBeUndefined();
      } else {
        expect(valueOf(refresh)).toBe(response.body.refresh_token);
      }
      expect(response.body.access_token).toEqual(expect.any(String));
    });

    it('refreshes by cookie with the CSRF header, rotating both cookies', async () => {
      const { cookies } = await signedIn();
      const refreshed = await refreshWith(cookies, valueOf(cookies.csrf_token)).expect(200);
      const next = cookiesOf(refreshed.headers);
      expect(valueOf(next['__Secure-refresh_token'])).not.toBe(
        valueOf(cookies['__Secure-refresh_token']),
      );
      expect(valueOf(next.csrf_token)).not.toBe(valueOf(cookies.csrf_token));
      await t.http.get('/protected').set(bearer(refreshed.body.access_token)).expect(200);
      expect(refreshed.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
      expect(refreshed.headers['access-control-allow-credentials']).toBe('true');
      expect(String(refreshed.headers.vary)).toContain('Origin');
    });

    it('refuses a refresh by cookie without the header, with a wrong one, or from another origin', async () => {
      const { cookies } = await signedIn();
      const csrf = valueOf(cookies.csrf_token);
      for (const attempt of [
        refreshWith(cookies),
        // The right token with its last character changed.
        refreshWith(cookies, `${csrf.slice(0, -1)}${csrf.endsWith('A') ? 'B' : 'A'}`),
        refreshWith(cookies, ''),
        refreshWith(cookies, csrf, 'https://evil.example.net'),
      ]) {
        const refused = await attempt.expect(403);
        expect(refused.body.code).toBe('csrf_failed');
      }
      // None of them spent the token.
      await refreshWith(cookies, csrf).expect(200);
    });

    it('never takes the refresh cookie for an access token (/auth/check, /protected)', async () => {
      const { cookies } = await signedIn();
      const cookie = `__Secure-refresh_token=${valueOf(cookies['__Secure-refresh_token'])}; csrf_token=${valueOf(cookies.csrf_token)}`;
      for (const path of ['/auth/check', '/protected']) {
        const refused = await t.http.get(path).set('Cookie', cookie).expect(401);
        expect(refused.body.code).toBe('token_missing');
      }
    });

    it('keeps a refresh token in the body or the Authorization header working without CSRF', async () => {
      const { cookies } = await signedIn();
      const token = valueOf(cookies['__Secure-refresh_token']);
      const first = await t.http.post('/refresh').send({ refresh_token: token }).expect(200);
      const second = cookiesOf(first.headers);
      await t.http
        .post('/refresh')
        .set(bearer(valueOf(second['__Secure-refresh_token'])))
        .expect(200);
    });

    it('treats a spent cookie as reuse: the session is revoked', async () => {
      const { cookies } = await signedIn();
      const refreshed = await refreshWith(cookies, valueOf(cookies.csrf_token)).expect(200);
      // Two rotations on, the first cookie is an ancestor: reuse, whatever the grace window.
      const next = cookiesOf(refreshed.headers);
      await refreshWith(next, valueOf(next.csrf_token)).expect(200);
      const reused = await refreshWith(cookies, valueOf(cookies.csrf_token)).expect(401);
      expect(reused.body.code).toBe('refresh_token_reused');
      await t.http.get('/protected').set(bearer(refreshed.body.access_token)).expect(401);
    });

    it('clears both cookies at logout, when the current session is ended and at deletion', async () => {
      const { response } = await signedIn();
      const revoked = await t.http
        .post('/revoke')
        .set(bearer(response.body.access_token))
        .expect(200);
      const cleared = cookiesOf(revoked.headers);
      expect(cleared['__Secure-refresh_token']).toMatch(
        /^__Secure-refresh_token=; Max-Age=0; Path=\/refresh;/,
      );
      expect(cleared.csrf_token).toMatch(/^csrf_token=; Max-Age=0; Path=\/;/);

      const other = await signedIn();
      const sessions = await t.http.get('/sessions').set(bearer(other.response.body.access_token));
      const current = (sessions.body as { id: string; current: boolean }[]).find((s) => s.current)!;
      const ended = await t.http
        .delete(`/sessions/${current.id}`)
        .set(bearer(other.response.body.access_token))
        .expect(204);
      expect(cookiesOf(ended.headers).csrf_token).toMatch(/Max-Age=0/);

      const leaving = await signedIn();
      const deleted = await t.http
        .delete('/me')
        .set(bearer(leaving.response.body.access_token))
        .send({ password: DEFAULT_PASSWORD })
        .expect(204);
      expect(cookiesOf(deleted.headers)['__Secure-refresh_token']).toMatch(/Max-Age=0/);
    });
  });

  describe('TOKEN_DELIVERY=body (the default)', () => {
    let t: TestApp;

    beforeAll(async () => {
      t = await createTestApp({ CORS_ORIGINS: APP_ORIGIN });
    });

    afterAll(() => t.close());

    it('sets no cookie, keeps the body as it was, ignores cookies and allows no credentials', async () => {
      const user = await signUp(t.http, uniqueEmail('body'));
      const signin = await t.http
        .post('/signin')
        .set('Origin', APP_ORIGIN)
        .send({ email: user.email, password: DEFAULT_PASSWORD })
        .expect(200);
      expect(signin.headers['set-cookie']).toBeUndefined();
      expect(Object.keys(signin.body).sort()).toEqual([
        'access_token',
        'expires_in',
        'refresh_token',
        'token_type',
      ]);
      expect(signin.headers['access-control-allow-credentials']).toBeUndefined();
      const refused = await t.http
        .post('/refresh')
        .set('Cookie', `__Secure-refresh_token=${signin.body.refresh_token as string}`)
        .expect(401);
      expect(refused.body.code).toBe('token_missing');
      const revoked = await t.http
        .post('/revoke')
        .set(bearer(signin.body.access_token))
        .expect(200);
      expect(revoked.headers['set-cookie']).toBeUndefined();
    });
  });
});

describe('constantTimeEqual', () => {
  it('is true for equal strings only, whatever their lengths', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('', '')).toBe(true);
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
    expect(constantTimeEqual('abc', 'ab')).toBe(false);
    expect(constantTimeEqual('ab', 'abc')).toBe(false);
    expect(constantTimeEqual('é', 'e\u0301')).toBe(false);
    expect(constantTimeEqual('', 'a')).toBe(false);
  });
});
