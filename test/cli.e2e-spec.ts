import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'jsonwebtoken';
import { runCli } from './helpers/cli';
import { enrolTotp } from './helpers/mfa';
import { usingPostgres } from './helpers/database';
import {
  bearer,
  createTestApp,
  DEFAULT_PASSWORD,
  signIn,
  signUp,
  TestApp,
  uniqueEmail,
} from './helpers/test-app';

/**
 * The operators' CLI, run as a user runs it (`npm run cli -- <command>`: a child process with the
 * service's configuration) against the suite's database: a SQLite file, which the service holds
 * exclusively, so the app stops while a command runs; or PostgreSQL, beside the running app.
 */
describe('operators CLI', () => {
  let dir: string;
  let t: TestApp;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cli-'));
    t = await createTestApp({ DB_PATH: join(dir, 'auth.db'), ADMIN_REQUIRE_MFA: 'false' });
    env = t.env;
  });

  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the command with the app stopped on SQLite (it holds the file), beside it otherwise. */
  async function cli(...args: string[]) {
    if (usingPostgres()) {
      return runCli(args, env);
    }
    await t.close();
    try {
      return await runCli(args, env);
    } finally {
      t = await createTestApp(env);
    }
  }

  const rolesOf = (token: string) => (decode(token) as { roles?: string[] }).roles;

  it('lists every command in --help, and explains each one', async () => {
    const help = await cli('--help');
    expect(help.code).toBe(0);
    for (const command of [
      'admin:grant <email>',
      'admin:revoke <email>',
      'users:list',
      'users:disable',
      'users:enable <email>',
      'sessions:end <email>',
      'users:unlock <email>',
      'mfa:reset <email>',
      'audit:tail',
    ]) {
      expect(help.stdout).toContain(command);
    }
    const disable = await cli('users:disable', '--help');
    expect(disable.code).toBe(0);
    expect(disable.stdout).toContain('--until <time>');
    expect(disable.stdout).toContain('--reason <text>');
  });

  it('refuses unknown emails, commands and bad arguments with exit code 1', async () => {
    const unknown = await cli('admin:grant', 'nobody@example.com');
    expect(unknown).toMatchObject({ code: 1, stdout: '' });
    expect(unknown.stderr).toContain('error: no account has the email nobody@example.com');
    const user = await signUp(t.http, uniqueEmail('cli-bad'));
    for (const [args, message] of [
      [['users:disable'], "missing required argument 'email'"],
      [['users:disable', user.email, '--until', 'soon'], 'until must be a date-time'],
      [
        ['users:disable', user.email, '--until', '2001-01-01T00:00:00Z'],
        'until must be in the future',
      ],
      [['users:list', '--limit', 'many'], '--limit must be a whole number'],
      [['audit:tail', '--type', 'DROP TABLE'], '--type must be an event type'],
      [['frobnicate'], "unknown command 'frobnicate'"],
    ] as const) {
      const refused = await cli(...args);
      expect([args.join(' '), refused.code]).toEqual([args.join(' '), 1]);
      expect(refused.stderr).toContain(message);
    }
    // Refusals change nothing.
    await signIn(t.http, user.email);
  });

  it('creates the first admin, who can then use the admin API', async () => {
    const admin = await signUp(t.http, uniqueEmail('cli-admin'));
    const before = await signIn(t.http, admin.email);
    await t.http.get('/admin/users').set(bearer(before.access_token)).expect(403);

    // Any spelling of the address names the account.
    const granted = await cli('admin:grant', admin.email.toUpperCase());
    expect(granted.code).toBe(0);
    expect(granted.stdout).toContain(`${admin.email} is an admin`);

    const tokens = await signIn(t.http, admin.email);
    expect(rolesOf(tokens.access_token)).toEqual(['admin']);
    await t.http.get('/admin/users').set(bearer(tokens.access_token)).expect(200);

    expect((await cli('admin:revoke', admin.email)).code).toBe(0);
    await t.http.get('/admin/users').set(bearer(tokens.access_token)).expect(403);
  });

  it('disables and enables an account, and ends its sessions', async () => {
    const user = await signUp(t.http, uniqueEmail('cli-disable'));
    const tokens = await signIn(t.http, user.email);

    const disabled = await cli('users:disable', user.email, '--reason', 'ticket 42');
    expect(disabled).toMatchObject({ code: 0 });
    expect(disabled.stdout).toContain('is disabled until enabled');
    await t.http.get('/protected').set(bearer(tokens.access_token)).expect(401);
    const refused = await t.http
      .post('/signin')
      .send({ email: user.email, password: DEFAULT_PASSWORD })
      .expect(403);
    expect(refused.body.code).toBe('account_disabled');

    expect((await cli('users:enable', user.email)).code).toBe(0);
    const again = await signIn(t.http, user.email);
    const ended = await cli('sessions:end', user.email);
    expect(ended.stdout).toContain('1 session of');
    await t.http.get('/protected').set(bearer(again.access_token)).expect(401);
  });

  it('unlocks an account and resets its second factor', async () => {
    const user = await signUp(t.http, uniqueEmail('cli-mfa'));
    const tokens = await signIn(t.http, user.email);
    await enrolTotp(t.http, tokens.access_token);
    await t.http
      .post('/signin')
      .send({ email: user.email, password: DEFAULT_PASSWORD })
      .expect(403);

    expect((await cli('mfa:reset', user.email)).stdout).toContain('second factor');
    await signIn(t.http, user.email);
    const none = await cli('mfa:reset', user.email);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('error: This account has no second factor');
    expect((await cli('users:unlock', user.email)).code).toBe(0);
  });

  it('lists accounts and prints the audit trail of the commands', async () => {
    const prefix = `cli-list-${Date.now()}`;
    const emails = [`${prefix}-a@example.com`, `${prefix}-b@example.com`];
    for (const email of emails) {
      await signUp(t.http, email);
    }
    await cli('admin:grant', emails[1]);

    const list = await cli('users:list', '--query', prefix);
    expect(list.code).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines.map((line) => line.split('\t')[0])).toEqual(emails);
    expect(lines[1]).toContain('roles=admin');

    const tail = await cli('audit:tail', '--user', emails[1], '--type', 'admin.*');
    expect(tail.code).toBe(0);
    expect(tail.stdout.trim().split('\n')).toHaveLength(1);
    expect(tail.stdout).toContain('admin.roles_changed  success');
    expect(tail.stdout).toContain('"via":"cli"');
  });
});
