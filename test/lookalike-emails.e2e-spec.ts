import { createTestApp, DEFAULT_PASSWORD, TestApp } from './helpers/test-app';

/** One account per mailbox: look-alike spellings of a registered address are the same account. */
describe('look-alike email addresses', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const signup = (email: string) =>
    t.http.post('/signup').send({ email, password: DEFAULT_PASSWORD });

  it.each([
    ['NFC, then NFD', 'jos\u00e9@example.com', 'jose\u0301@example.com'],
    [
      'ASCII, then fullwidth',
      'anna@example.com',
      '\uff41\uff4e\uff4e\uff41@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com',
    ],
    ['Unicode domain, then its xn-- form', 'lea@b\u00fccher.de', 'lea@xn--bcher-kva.de'],
    ['xn-- form, then the Unicode domain', 'max@xn--mnchen-3ya.de', 'max@M\u00fcnchen.de'],
    ['lower case, then upper case with spaces', 'kim@example.org', '  KIM@EXAMPLE.ORG '],
  ])('should answer 409 email_taken for %s', async (_case, first, lookalike) => {
    const suffix = Math.random().toString(36).slice(2, 8);
    const tag = (email: string) => email.replace('@', `+${suffix}@`);
    const created = await signup(tag(first)).expect(201);
    const second = await signup(tag(lookalike)).expect(409);
    expect(second.body.code).toBe('email_taken');
    // And the look-alike signs in to the one account.
    const signin = await t.http
      .post('/signin')
      .send({ email: tag(lookalike), password: DEFAULT_PASSWORD })
      .expect(200);
    expect(signin.body.access_token).toEqual(expect.any(String));
    expect(created.body.email).toBe(created.body.email.normalize('NFKC').toLowerCase());
  });

  it('should store the domain in its ASCII form', async () => {
    const response = await signup(`ida-${Date.now()}@b\u00fccher.de`).expect(201);
    expect(response.body.email).toMatch(/@xn--bcher-kva\.de$/);
  });
});
