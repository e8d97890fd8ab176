import type { Response } from 'supertest';
import TestAgent from 'supertest/lib/agent';
import { bearer, DEFAULT_PASSWORD, TokenPair, uniqueEmail } from './test-app';

/** A signed-in user whose session the checks below use (and never end). */
export interface OutageUser {
  id: string;
  email: string;
  tokens: TokenPair;
}

/** The one answer of every refusal for an unavailable dependency (docs/errors.md): 503 + Retry-After. */
export interface Refusal {
  status: number;
  code: unknown;
  detail: unknown;
  retryAfter: string | undefined;
}

const refusalOf = (response: Response): Refusal => ({
  status: response.status,
  code: (response.body as { code?: unknown }).code,
  detail: (response.body as { detail?: unknown }).detail,
  retryAfter: response.headers['retry-after'],
});

/**
 * Every route that needs the rate-limit store, and so fails closed while it is out of reach: the
 * three routes limited per client address (@RateLimit: signup, signin, refresh) and the two guarded
 * by the failed-password lock (DELETE /me, POST /password). Each request is valid, so that only the
 * store can refuse it, and none of them changes anything when refused.
 */
export function limitedRoutes(http: TestAgent, user: OutageUser) {
  const access = bearer(user.tokens.access_token);
  return {
    'POST /signup': () =>
      http.post('/signup').send({ email: uniqueEmail('outage'), password: DEFAULT_PASSWORD }),
    'POST /signin': () =>
      http.post('/signin').send({ email: user.email, password: DEFAULT_PASSWORD }),
    'POST /refresh': () => http.post('/refresh').send({ refresh_token: user.tokens.refresh_token }),
    'DELETE /me': () => http.delete('/me').set(access).send({ password: DEFAULT_PASSWORD }),
    'POST /password': () =>
      http.post('/password').set(access).send({
        currentPassword: DEFAULT_PASSWORD,
        newPassword: 'an-entirely-new-passphrase-7310',
      }),
  };
}

/** What each route of `routes` answers, one request each, in turn. */
export async function answersOf(
  routes: Record<string, () => PromiseLike<Response>>,
): Promise<Record<string, Refusal>> {
  const answers: Record<string, Refusal> = {};
  for (const [name, send] of Object.entries(routes)) {
    answers[name] = refusalOf(await send());
  }
  return answers;
}

/** The same refusal for every route of `routes`, to compare with `answersOf`. */
export function everyRoute(routes: object, refusal: Refusal): Record<string, Refusal> {
  return Object.fromEntries(Object.keys(routes).map((name) => [name, refusal]));
}

export const LIMITS_UNAVAILABLE: Refusal = {
  status: 503,
  code: 'service_unavailable',
  detail: 'Rate limiting is unavailable at the moment; try again shortly',
  retryAfter: '5',
};

export const DATABASE_UNAVAILABLE: Refusal = {
  status: 503,
  code: 'service_unavailable',
  detail: 'A dependency of the service is unavailable',
  retryAfter: '5',
};

/**
 * Routes that need no rate-limit store and must keep answering while it is away: each is checked
 * for its normal answer, so a refusal, or another user's answer, fails.
 */
export async function expectOpenRoutesWork(http: TestAgent, user: OutageUser): Promise<void> {
  const access = bearer(user.tokens.access_token);
  const me = await http.get('/me').set(access);
  expect({ status: me.status, id: (me.body as { id?: string }).id }).toEqual({
    status: 200,
    id: user.id,
  });
  const protectedAnswer = await http.get('/protected').set(access);
  expect({ status: protectedAnswer.status, body: protectedAnswer.body as unknown }).toEqual({
    status: 200,
    body: {
      message: `Hello, ${user.email}! You have access to this protected route.`,
      user: { id: user.id, email: user.email },
    },
  });
  const sessions = await http.get('/sessions').set(access);
  expect(sessions.status).toBe(200);
  expect((sessions.body as { current: boolean }[]).filter((s) => s.current)).toHaveLength(1);
  await http.get('/health/live').expect(200);
}
