import { decode } from 'jsonwebtoken';
import { DataSource } from 'typeorm';
import { sql } from './helpers/database';
import { createTestApp, signedInUser, signIn, TestApp } from './helpers/test-app';

/** Roles live on the user; access tokens carry them, from the next refresh or sign-in on. */
describe('roles in access tokens', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(() => t.close());

  const rolesOf = (token: string) => (decode(token) as { roles?: string[] }).roles;

  it('omits the claim without roles, and carries a change from the next refresh', async () => {
    const user = await signedInUser(t.http);
    expect(rolesOf(user.tokens.access_token)).toBeUndefined();

    await sql(t.app.get(DataSource), 'UPDATE users SET roles = ? WHERE id = ?', [
      'admin,support',
      user.id,
    ]);
    // The token already issued is as it was.
    expect(rolesOf(user.tokens.access_token)).toBeUndefined();
    const refreshed = await t.http
      .post('/refresh')
      .send({ refresh_token: user.tokens.refresh_token })
      .expect(200);
    expect(rolesOf(refreshed.body.access_token)).toEqual(['admin', 'support']);
    expect(rolesOf((await signIn(t.http, user.email)).access_token)).toEqual(['admin', 'support']);

    await sql(t.app.get(DataSource), 'UPDATE users SET roles = ? WHERE id = ?', ['', user.id]);
    const dropped = await t.http
      .post('/refresh')
      .send({ refresh_token: refreshed.body.refresh_token })
      .expect(200);
    expect(rolesOf(dropped.body.access_token)).toBeUndefined();
  });
});
