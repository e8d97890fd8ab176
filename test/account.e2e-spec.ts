import {
  bearer,
  createTestApp,
  DEFAULT_PASSWORD,
  signedInUser,
  signIn,
  TestApp,
  TokenPair,
} from './helpers/test-app';
import { decodePayload } from './helpers/tokens';

const sid = (tokens: TokenPair) => decodePayload(tokens.access_token).sid as string;

describe('account and sessions', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ REFRESH_REUSE_GRACE: '0' });
  });

  afterAll(async () => {
    await t.close();
  });

  describe('GET /me', () => {
    it('should return the current user without the hash', async () => {
      const user = await signedInUser(t.http);
      const response = await t.http.get('/me').set(bearer(user.tokens.access_token)).expect(200);
      expect(response.body).toEqual({
        id: user.id,
        email: user.email,
        createdAt: expect.any(String),
        emailVerified: false,
      });
    });

    it('should need a token', async () => {
      await t.http.get('/me').expect(401);
    });
  });

  describe('GET /sessions', () => {
    it('should list both sessions of two sign-ins, exactly one of them current', async () => {
      const user = await signedInUser(t.http);
      const second = (
        await t.http
          .post('/signin')
          .set('User-Agent', 'test-laptop/1.0')
          .send({ email: user.email, password: DEFAULT_PASSWORD })
          .expect(200)
      ).body as TokenPair;
      const response = await t.http.get('/sessions').set(bearer(second.access_token)).expect(200);
      const sessions = response.body as { id: string; current: boolean }[];
      expect(sessions).toHaveLength(2);
      expect(sessions.filter((session) => session.current).map((s) => s.id)).toEqual([sid(second)]);
      expect(sessions.map((s) => s.id).sort()).toEqual([sid(user.tokens), sid(second)].sort());
      expect(sessions.find((s) => s.id === sid(second))).toEqual({
        id: sid(second),
        createdAt: expect.any(String),
        lastUsedAt: expect.any(String),
        expiresAt: expect.any(String),
        userAgent: 'test-laptop/1.0',
        ip: expect.any(String),
        current: true,
        aal: 'aal1',
        amr: ['pwd'],
      });
    });

    it('should not list ended sessions or other users sessions', async () => {
      const user = await signedInUser(t.http);
      const other = await signedInUser(t.http);
      const ended = await signIn(t.http, user.email);
      await t.http.post('/revoke').set(bearer(ended.access_token)).expect(200);
      const response = await t.http
        .get('/sessions')
        .set(bearer(user.tokens.access_token))
        .expect(200);
      const ids = (response.body as { id: string }[]).map((s) => s.id);
      expect(ids).toEqual([sid(user.tokens)]);
      expect(ids).not.toContain(sid(other.tokens));
    });
  });

  describe('DELETE /sessions/:id', () => {
    it("should end that session's refresh and access tokens and leave the caller's alone", async () => {
      const user = await signedInUser(t.http);
      const laptop = await signIn(t.http, user.email);
      await t.http
        .delete(`/sessions/${sid(laptop)}`)
        .set(bearer(user.tokens.access_token))
        .expect(204);
      const access = await t.http.get('/protected').set(bearer(laptop.access_token)).expect(401);
      expect(access.body.code).toBe('session_revoked');
      await t.http.post('/refresh').send({ refresh_token: laptop.refresh_token }).expect(401);
      await t.http.get('/protected').set(bearer(user.tokens.access_token)).expect(200);
      await t.http.post('/refresh').send({ refresh_token: user.tokens.refresh_token }).expect(200);
    });

    it("should answer 404 for someone else's session, and leave it alive", async () => {
      const user = await signedInUser(t.http);
      const victim = await signedInUser(t.http);
      const response = await t.http
        .delete(`/sessions/${sid(victim.tokens)}`)
        .set(bearer(user.tokens.access_token))
        .expect(404);
      expect(response.body.code).toBe('session_not_found');
      await t.http.get('/protected').set(bearer(victim.tokens.access_token)).expect(200);
    });

    it('should answer 404 for an unknown, malformed or already ended id', async () => {
      const user = await signedInUser(t.http);
      const ended = await signIn(t.http, user.email);
      await t.http.post('/revoke').set(bearer(ended.access_token)).expect(200);
      for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid', sid(ended)]) {
        await t.http.delete(`/sessions/${id}`).set(bearer(user.tokens.access_token)).expect(404);
      }
    });

    it('should let a session end itself', async () => {
      const user = await signedInUser(t.http);
      await t.http
        .delete(`/sessions/${sid(user.tokens)}`)
        .set(bearer(user.tokens.access_token))
        .expect(204);
      await t.http.get('/protected').set(bearer(user.tokens.access_token)).expect(401);
    });
  });

  describe('POST /revoke with a scope', () => {
    it('should end only the others with scope "others"', async () => {
      const user = await signedInUser(t.http);
      const a = await signIn(t.http, user.email);
      const b = await signIn(t.http, user.email);
      const response = await t.http
        .post('/revoke')
        .set(bearer(user.tokens.access_token))
        .send({ scope: 'others' })
        .expect(200);
      expect(response.body.message).toBe('All other sessions have been revoked');
      await t.http.get('/protected').set(bearer(user.tokens.access_token)).expect(200);
      await t.http.get('/protected').set(bearer(a.access_token)).expect(401);
      await t.http.get('/protected').set(bearer(b.access_token)).expect(401);
      await t.http.post('/refresh').send({ refresh_token: b.refresh_token }).expect(401);
    });

    it('should end every session with scope "all"', async () => {
      const user = await signedInUser(t.http);
      const a = await signIn(t.http, user.email);
      await t.http
        .post('/revoke')
        .set(bearer(user.tokens.access_token))
        .send({ scope: 'all' })
        .expect(200);
      await t.http.get('/protected').set(bearer(user.tokens.access_token)).expect(401);
      await t.http.get('/protected').set(bearer(a.access_token)).expect(401);
      await t.http.post('/refresh').send({ refresh_token: user.tokens.refresh_token }).expect(401);
      await t.http.post('/refresh').send({ refresh_token: a.refresh_token }).expect(401);
    });

    it('should keep the seed meaning with scope "current" and reject an unknown scope', async () => {
      const user = await signedInUser(t.http);
      const other = await signIn(t.http, user.email);
      await t.http
        .post('/revoke')
        .set(bearer(user.tokens.access_token))
        .send({ scope: 'everything' })
        .expect(400);
      const response = await t.http
        .post('/revoke')
        .set(bearer(user.tokens.access_token))
        .send({ scope: 'current' })
        .expect(200);
      expect(response.body.message).toBe('Token has been revoked');
      await t.http.get('/protected').set(bearer(user.tokens.access_token)).expect(401);
      await t.http.get('/protected').set(bearer(other.access_token)).expect(200);
    });
  });

  describe('POST /password', () => {
    it('should change the password, end every session and open a new one for the caller', async () => {
      const user = await signedInUser(t.http);
      const other = await signIn(t.http, user.email);
      const response = await t.http
        .post('/password')
        .set(bearer(user.tokens.access_token))
        .send({ currentPassword: DEFAULT_PASSWORD, newPassword: 'a-brand-new-password' })
        .expect(200);
      expect(response.headers['cache-control']).toBe('no-store');
      const pair = response.body as TokenPair;
      expect(pair).toEqual({
        message: expect.any(String),
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: expect.any(Number),
        refresh_token: expect.any(String),
      });
      expect(decodePayload(pair.access_token).sid).not.toBe(
        decodePayload(user.tokens.access_token).sid,
      );
      // Whoever shares the caller's old tokens is cut off, as is every other session.
      for (const old of [user.tokens, other]) {
        const protectedAnswer = await t.http.get('/protected').set(bearer(old.access_token));
        expect([protectedAnswer.status, protectedAnswer.body.code]).toEqual([
          401,
          'session_revoked',
        ]);
        const refreshAnswer = await t.http
          .post('/refresh')
          .send({ refresh_token: old.refresh_token });
        expect([refreshAnswer.status, refreshAnswer.body.code]).toEqual([401, 'session_revoked']);
      }
      await t.http.get('/protected').set(bearer(pair.access_token)).expect(200);
      await t.http.post('/refresh').send({ refresh_token: pair.refresh_token }).expect(200);
      await t.http
        .post('/signin')
        .send({ email: user.email, password: DEFAULT_PASSWORD })
        .expect(401);
      await signIn(t.http, user.email, 'a-brand-new-password');
    });

    it('should refuse a wrong current password and change nothing', async () => {
      const user = await signedInUser(t.http);
      const other = await signIn(t.http, user.email);
      const response = await t.http
        .post('/password')
        .set(bearer(user.tokens.access_token))
        .send({ currentPassword: 'not-the-password', newPassword: 'a-brand-new-password' })
        .expect(403);
      expect(response.body.code).toBe('invalid_password');
      await t.http.get('/protected').set(bearer(other.access_token)).expect(200);
      await signIn(t.http, user.email);
    });

    it('should apply the password policy to the new password', async () => {
      const user = await signedInUser(t.http);
      const response = await t.http
        .post('/password')
        .set(bearer(user.tokens.access_token))
        .send({ currentPassword: DEFAULT_PASSWORD, newPassword: 'short' })
        .expect(400);
      expect(response.body.errors).toEqual([
        expect.objectContaining({ field: 'newPassword', rules: ['minLength'] }),
      ]);
    });
  });

  describe('DELETE /me', () => {
    it('should delete the account, kill all its tokens and free the email', async () => {
      const user = await signedInUser(t.http);
      const other = await signIn(t.http, user.email);
      await t.http
        .delete('/me')
        .set(bearer(user.tokens.access_token))
        .send({ password: DEFAULT_PASSWORD })
        .expect(204);
      for (const tokens of [user.tokens, other]) {
        await t.http.get('/protected').set(bearer(tokens.access_token)).expect(401);
        await t.http.get('/me').set(bearer(tokens.access_token)).expect(401);
        await t.http.post('/refresh').send({ refresh_token: tokens.refresh_token }).expect(401);
      }
      await t.http
        .post('/signin')
        .send({ email: user.email, password: DEFAULT_PASSWORD })
        .expect(401);
      const again = await t.http
        .post('/signup')
        .send({ email: user.email, password: DEFAULT_PASSWORD })
        .expect(201);
      expect(again.body.id).not.toBe(user.id);
      // The erased row's placeholder is no email address, so nobody can take it.
      await t.http
        .post('/signup')
        .send({ email: `deleted:${user.id}`, password: DEFAULT_PASSWORD })
        .expect(400);
    });

    it('should refuse a wrong password and keep the account', async () => {
      const user = await signedInUser(t.http);
      const response = await t.http
        .delete('/me')
        .set(bearer(user.tokens.access_token))
        .send({ password: 'not-the-password' })
        .expect(403);
      expect(response.body.code).toBe('invalid_password');
      await t.http.get('/me').set(bearer(user.tokens.access_token)).expect(200);
    });

    it('should need the password field', async () => {
      const user = await signedInUser(t.http);
      const response = await t.http.delete('/me').set(bearer(user.tokens.access_token)).expect(400);
      expect(response.body.errors).toEqual([expect.objectContaining({ field: 'password' })]);
    });
  });
});
