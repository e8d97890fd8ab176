import { DataSource } from 'typeorm';
import { normaliseStoredEmails } from '../src/database/migrations/normalise-stored-emails';
import { sql, usingPostgres } from './helpers/database';
import { createTestApp, DEFAULT_PASSWORD, signUp, TestApp } from './helpers/test-app';

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
    const stored = (created.body as { email: string }).email;
    expect(stored).toBe(stored.normalize('NFKC').toLowerCase());
  });

  it('should store the domain in its ASCII form', async () => {
    const response = await signup(`ida-${Date.now()}@b\u00fccher.de`).expect(201);
    expect(response.body.email).toMatch(/@xn--bcher-kva\.de$/);
  });

  it('should rewrite emails stored in other spellings, never merging two accounts', async () => {
    const db = t.app.get(DataSource);
    const suffix = Math.random().toString(36).slice(2, 8);
    // Accounts as an earlier version stored them: only trimmed and lower-cased.
    const decomposed = await signUp(t.http, `placeholder-a-${suffix}@example.com`);
    const unicodeDomain = await signUp(t.http, `placeholder-b-${suffix}@example.com`);
    const clash = await signUp(t.http, `placeholder-c-${suffix}@example.com`);
    const owner = await signUp(t.http, `mia-${suffix}@example.com`);
    const rows: [string, string][] = [
      [decomposed.id, `jose\u0301-${suffix}@example.com`],
      [unicodeDomain.id, `lea-${suffix}@b\u00fccher.de`],
      [clash.id, `\uff4d\uff49\uff41-${suffix}@example.com`], // fullwidth "mia": owner's address
    ];
    for (const [id, email] of rows) {
      await sql(db, 'UPDATE users SET email = ? WHERE id = ?', [email, id]);
    }
    const runner = db.createQueryRunner();
    let skipped: string[];
    try {
      skipped = await normaliseStoredEmails(runner, (n) => (usingPostgres() ? `$${n}` : '?'));
    } finally {
      await runner.release();
    }
    expect(skipped).toEqual([clash.id]);
    const emailOf = async (id: string) =>
      (await sql<{ email: string }[]>(db, 'SELECT email FROM users WHERE id = ?', [id]))[0].email;
    expect(await emailOf(decomposed.id)).toBe(`jos\u00e9-${suffix}@example.com`);
    expect(await emailOf(unicodeDomain.id)).toBe(`lea-${suffix}@xn--bcher-kva.de`);
    expect(await emailOf(clash.id)).toBe(rows[2][1]);
    expect(await emailOf(owner.id)).toBe(owner.email);
    // The rewritten accounts sign in with any spelling of their address.
    for (const email of [`jose\u0301-${suffix}@example.com`, `lea-${suffix}@b\u00fccher.de`]) {
      await t.http.post('/signin').send({ email, password: DEFAULT_PASSWORD }).expect(200);
    }
  });
});
