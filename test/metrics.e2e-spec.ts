import {
  bearer,
  createTestApp,
  DEFAULT_PASSWORD,
  signedInUser,
  signIn,
  TestApp,
} from './helpers/test-app';
import { decodePayload } from './helpers/tokens';

/** The value of one sample of the Prometheus text format, or undefined when absent. */
function sample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (
      match?.[1] === name &&
      wanted.every((label) => (match[2] ?? '').split(',').includes(label))
    ) {
      return Number(match[3]);
    }
  }
  return undefined;
}

describe('GET /metrics', () => {
  // Each test counts on an app of its own: no count depends on what another test did before it.
  let t: TestApp;

  beforeEach(async () => {
    t = await createTestApp({ REFRESH_REUSE_GRACE: '0' });
  });

  afterEach(async () => {
    await t.close();
  });

  const scrape = async () => {
    const response = await t.http.get('/metrics').expect(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    return response.text;
  };

  it('should count requests by route template and status, never by raw path', async () => {
    const user = await signedInUser(t.http);
    const sid = decodePayload(user.tokens.access_token).sid as string;
    await t.http.get('/protected').set(bearer(user.tokens.access_token)).expect(200);
    await t.http.delete(`/sessions/${sid}`).set(bearer(user.tokens.access_token)).expect(204);
    const text = await scrape();
    expect(
      sample(text, 'http_requests_total', { method: 'GET', route: '/protected', status: '200' }),
    ).toBe(1);
    expect(
      sample(text, 'http_requests_total', {
        method: 'DELETE',
        route: '/sessions/:id',
        status: '204',
      }),
    ).toBe(1);
    expect(text).not.toContain(sid);
    expect(
      sample(text, 'http_request_duration_seconds_count', { route: '/protected', status: '200' }),
    ).toBe(1);
    expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('should count sign-ins by outcome, refreshes, reuse detections and revocations', async () => {
    const before = await scrape();
    const count = (text: string, name: string, labels: Record<string, string> = {}) =>
      sample(text, name, labels) ?? 0;

    const user = await signedInUser(t.http);
    await t.http
      .post('/signin')
      .send({ email: user.email, password: 'wrong-password' })
      .expect(401);
    const second = await signIn(t.http, user.email);
    await t.http.post('/revoke').set(bearer(second.access_token)).expect(200);
    await t.http.post('/refresh').send({ refresh_token: user.tokens.refresh_token }).expect(200);
    await t.http.post('/refresh').send({ refresh_token: user.tokens.refresh_token }).expect(401);
    const after = await scrape();

    const delta = (name: string, labels: Record<string, string> = {}) =>
      count(after, name, labels) - count(before, name, labels);
    expect(delta('auth_signins_total', { outcome: 'success' })).toBe(2);
    expect(delta('auth_signins_total', { outcome: 'invalid_credentials' })).toBe(1);
    expect(delta('auth_refreshes_total', { outcome: 'success' })).toBe(1);
    expect(delta('auth_refreshes_total', { outcome: 'refresh_token_reused' })).toBe(1);
    expect(delta('auth_refresh_reuse_detected_total')).toBe(1);
    expect(delta('auth_revocations_total', { kind: 'token', reason: 'logout' })).toBe(1);
    expect(delta('auth_revocations_total', { kind: 'session', reason: 'reuse_detected' })).toBe(1);
    // Neither the password nor any token appears in what is scraped.
    expect(after).not.toContain(DEFAULT_PASSWORD);
    expect(after).not.toContain(user.tokens.refresh_token);
  });
});

describe('GET /metrics settings', () => {
  it('should stay out of the OpenAPI document', async () => {
    const t = await createTestApp({ DOCS_ENABLED: 'true' });
    try {
      const document = await t.http.get('/docs-json').expect(200);
      const paths = Object.keys(document.body.paths as object);
      // The document is the real one (it lists the routes), and /metrics is not among them.
      expect(paths).toContain('/signin');
      expect(paths).not.toContain('/metrics');
    } finally {
      await t.close();
    }
  });

  it('should ask for METRICS_TOKEN as a bearer token when one is set', async () => {
    const token = 'scrape-token-0123456789abcdef';
    const t = await createTestApp({ METRICS_TOKEN: token });
    try {
      const missing = await t.http.get('/metrics').expect(401);
      expect(missing.body.code).toBe('token_missing');
      const wrong = await t.http
        .get('/metrics')
        .set(bearer('x'.repeat(token.length)))
        .expect(401);
      expect(wrong.body.code).toBe('invalid_token');
      await t.http.get('/metrics').set(bearer(token)).expect(200);
    } finally {
      await t.close();
    }
  });

  it('should count sign-ins refused by the per-client limit', async () => {
    const t = await createTestApp({ RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_SIGNIN: '2' });
    try {
      const attempt = { email: 'nobody@example.com', password: 'wrong-password-1' };
      await t.http.post('/signin').send(attempt).expect(401);
      await t.http.post('/signin').send(attempt).expect(401);
      await t.http.post('/signin').send(attempt).expect(429);
      const text = (await t.http.get('/metrics').expect(200)).text;
      expect(sample(text, 'auth_signins_total', { outcome: 'invalid_credentials' })).toBe(2);
      expect(sample(text, 'auth_signins_total', { outcome: 'rate_limited' })).toBe(1);
    } finally {
      await t.close();
    }
  });

  it('should answer 404 when METRICS_ENABLED=false', async () => {
    const t = await createTestApp({ METRICS_ENABLED: 'false' });
    try {
      const response = await t.http.get('/metrics').expect(404);
      expect(response.body.code).toBe('not_found');
    } finally {
      await t.close();
    }
  });
});
