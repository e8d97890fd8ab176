import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { storeEnv, usingPostgres } from './helpers/database';
import { freePort, ROOT } from './helpers/built-app';
import { DEFAULT_PASSWORD, uniqueEmail } from './helpers/test-app';

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Processes whose parent is `pid`. */
const childrenOf = (pid: number): number[] => {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return []; // pgrep exits 1 when there are none
  }
};

/** `npm run start:cluster` (dist/cluster.js): one worker per core behind one port. */
describe('cluster mode', () => {
  it('should serve from two workers and stop them all on SIGTERM', async () => {
    if (!usingPostgres()) {
      throw new Error('Run this suite with `npm run test:pg`');
    }
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const primary = spawn(process.execPath, [join(ROOT, 'dist/cluster.js')], {
      cwd: ROOT,
      env: {
        ...process.env,
        ...(await storeEnv(':memory:')),
        NODE_ENV: 'production',
        JWT_SECRET: randomBytes(48).toString('base64url'),
        LOG_LEVEL: 'silent',
        WEB_CONCURRENCY: '2',
        PORT: String(port),
        HOST: '127.0.0.1',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const exited = new Promise<number | null>((done) => primary.once('exit', done));
    try {
      for (let i = 0; i < 400; i++) {
        const ready = await fetch(`${base}/health/ready`).then(
          (response) => response.ok,
          () => false,
        );
        if (ready && childrenOf(primary.pid!).length === 2) {
          break;
        }
        await sleep(25);
      }
      const workers = childrenOf(primary.pid!);
      expect(workers).toHaveLength(2);

      const email = uniqueEmail('cluster');
      const post = (path: string, body: object) =>
        fetch(`${base}${path}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        });
      expect((await post('/signup', { email, password: DEFAULT_PASSWORD })).status).toBe(201);
      const signin = await post('/signin', { email, password: DEFAULT_PASSWORD });
      const { access_token } = (await signin.json()) as { access_token: string };
      const statuses = await Promise.all(
        Array.from({ length: 20 }, () =>
          fetch(`${base}/protected`, { headers: { Authorization: `Bearer ${access_token}` } }).then(
            (response) => response.status,
          ),
        ),
      );
      expect(statuses).toEqual(Array(20).fill(200));

      // The workers take turns with connections, so the twenty calls were split between them; any
      // worker that answers a scrape reports the sum of both.
      for (let i = 0; i < 4; i++) {
        const text = await (await fetch(`${base}/metrics`)).text();
        expect(text).toMatch(
          /^http_requests_total\{method="GET",route="\/protected",status="200"\} 20$/m,
        );
      }

      primary.kill('SIGTERM');
      expect(await exited).toBe(0);
      for (const pid of workers) {
        expect(() => process.kill(pid, 0)).toThrow();
      }
    } finally {
      primary.kill('SIGKILL');
    }
  }, 60_000);

  it('should refuse several workers on SQLite', async () => {
    const primary = spawn(process.execPath, [join(ROOT, 'dist/cluster.js')], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: '', WEB_CONCURRENCY: '2', PORT: '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    primary.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const code = await new Promise<number | null>((done) => primary.once('exit', done));
    expect(code).toBe(1);
    expect(output).toContain('WEB_CONCURRENCY above 1 needs DATABASE_URL');
  });
});
