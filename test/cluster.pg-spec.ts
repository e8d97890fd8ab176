import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { storeEnv, usingPostgres } from './helpers/database';
import { freePort, ROOT } from './helpers/built-app';
import { getWithOwner } from './helpers/socket-owner';
import { DEFAULT_PASSWORD, uniqueEmail } from './helpers/test-app';
import { waitFor } from './helpers/wait-for';

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
  let running: ChildProcess | undefined;

  // Here rather than in the test's finally, so that it runs even when the test times out: the
  // workers (the primary's children, so surely ours) go first, then the primary; a worker whose
  // primary is gone exits on its own (node:cluster).
  afterEach(() => {
    if (running && running.exitCode === null && running.signalCode === null) {
      for (const pid of childrenOf(running.pid!)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // exited meanwhile
        }
      }
      running.kill('SIGKILL');
    }
    running = undefined;
  });

  it('should be ready on every worker, serve from both, sum their metrics, replace a dead worker and stop on SIGTERM', async () => {
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
        EMAIL_FLOWS: 'off',
        JWT_SECRET: randomBytes(48).toString('base64url'),
        LOG_LEVEL: 'silent',
        WEB_CONCURRENCY: '2',
        PORT: String(port),
        HOST: '127.0.0.1',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    running = primary;
    const exited = new Promise<number | null>((done) => primary.once('exit', done));
    const workersNow = () => childrenOf(primary.pid!);
    /** A GET on a fresh connection, with the worker that answered it. */
    const ask = (path: string, headers: Record<string, string> = {}) =>
      getWithOwner(base, path, workersNow(), headers).catch(() => undefined); // not listening yet
    /** Waits until every pid of `pids()` has answered `path` with 200 (fresh connections). */
    const untilEachAnswered = async (
      what: string,
      path: string,
      pids: () => number[],
      headers = {},
    ) => {
      const answered = new Set<number>();
      await waitFor(
        what,
        async () => {
          const answer = await ask(path, headers);
          if (answer?.status === 200 && answer.answeredBy !== undefined) {
            answered.add(answer.answeredBy);
          }
          const expected = pids();
          return expected.length > 0 && expected.every((pid) => answered.has(pid));
        },
        60_000,
      );
    };
    // Ready means every worker is: both are forked and each has answered /health/ready itself.
    await untilEachAnswered('both workers to be ready', '/health/ready', () => {
      const pids = workersNow();
      return pids.length === 2 ? pids : [];
    });
    const workers = workersNow();
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
    const auth = { Authorization: `Bearer ${access_token}` };

    // Twenty calls, each on its own connection: the primary hands connections to the workers in
    // turn, and each answer names the worker that wrote it.
    const served = new Map<number, number>();
    for (let i = 0; i < 20; i++) {
      const answer = await getWithOwner(base, '/protected', workers, auth);
      expect(answer.status).toBe(200);
      expect(workers).toContain(answer.answeredBy);
      served.set(answer.answeredBy!, (served.get(answer.answeredBy!) ?? 0) + 1);
    }
    expect([...served.keys()].sort()).toEqual([...workers].sort());

    // Neither worker counted twenty on its own, so a scrape answering 20 (on either worker) is
    // the sum of both.
    const scraped = new Map<number, string>();
    await waitFor(
      'a scrape answered by each worker',
      async () => {
        const answer = await getWithOwner(base, '/metrics', workers);
        if (answer.status === 200 && answer.answeredBy !== undefined) {
          scraped.set(answer.answeredBy, answer.body);
        }
        return scraped.size === 2;
      },
      30_000,
    );
    for (const text of scraped.values()) {
      expect(text).toMatch(
        /^http_requests_total\{method="GET",route="\/protected",status="200"\} 20$/m,
      );
    }

    // A worker that dies is replaced, and the newcomer serves.
    const [victim, survivor] = workers;
    process.kill(victim, 'SIGKILL');
    const replacement = () => workersNow().filter((pid) => pid !== survivor && pid !== victim);
    await untilEachAnswered('a new worker to be ready', '/health/ready', () => {
      const pids = workersNow();
      return pids.length === 2 && !pids.includes(victim) && replacement().length === 1 ? pids : [];
    });
    expect(workersNow()).toEqual(expect.arrayContaining([survivor, ...replacement()]));
    await untilEachAnswered('the new worker to serve /protected', '/protected', replacement, auth);

    const last = workersNow();
    primary.kill('SIGTERM');
    expect(await exited).toBe(0);
    for (const pid of last) {
      expect(() => process.kill(pid, 0)).toThrow();
    }
  }, 120_000);

  it('should refuse several workers on SQLite', async () => {
    const primary = spawn(process.execPath, [join(ROOT, 'dist/cluster.js')], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: '', WEB_CONCURRENCY: '2', PORT: '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    running = primary;
    let output = '';
    primary.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const code = await new Promise<number | null>((done) => primary.once('exit', done));
    expect(code).toBe(1);
    expect(output).toContain('WEB_CONCURRENCY above 1 needs DATABASE_URL');
  });
});
