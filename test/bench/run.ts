/**
 * `npm run bench`: measures the built service (dist/) in production mode on fresh SQLite files.
 * Prints a table and writes bench-results/latest.json. A measurement, never a test: it does not
 * fail on a missed target, it reports it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import { BuiltApp, hasExited, ROOT, startBuiltApp, stopBuiltApp } from '../helpers/built-app';

const PROBE = join(__dirname, 'event-loop-probe.js');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const USERS = 100;
const SESSIONS_PER_USER = 2;
const REVOKED_ROWS = Number(process.env.BENCH_REVOKED_ROWS ?? 1_000_000);
const PASSWORD = 'bench-password-123';
const SECRET = randomBytes(48).toString('base64url');
const SHARED_DATABASE_URL =
  process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SHARED_REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

interface App extends BuiltApp {
  eldFile: string;
  coldStartMs: number;
}

/** What one run measures; everything is filled in before `report`. */
interface Results {
  date: string;
  machine: string;
  settings: { seconds: number; rounds: number; connections: number; revokedRows: number };
  coldStartMs?: number;
  coldStartWithRevokedRowsMs?: number;
  idleRssMb?: number;
  rssAfterLoadMb?: { empty: number; revoked: number };
  control?: LoadFigures;
  protected?: LoadFigures;
  protectedWithRevokedRows?: LoadFigures;
  signinC1?: LoadFigures;
  signinC20?: LoadFigures;
  eventLoopDelayUnderSigninsMs?: { p50: number; p99: number; max: number };
  protectedUnderSignins?: LoadFigures;
  /** One instance on PostgreSQL and Redis, measured against the SQLite instance in the same rounds. */
  shared?: { control: LoadFigures; protected: LoadFigures; sqliteProtected: LoadFigures } | string;
  enumeration?: { unknownEmailMedianMs: number; wrongPasswordMedianMs: number };
  ratios?: Record<string, number>;
}

interface LoadFigures {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function startApp(
  name: string,
  dbPath: string,
  extraEnv: Record<string, string> = {},
): Promise<App> {
  const eldFile = `${dbPath}.eld.json`;
  const app = await startBuiltApp(
    name,
    {
      NODE_ENV: 'production',
      JWT_SECRET: SECRET,
      DB_PATH: dbPath,
      BENCH_ELD_FILE: eldFile,
      // The bench measures the work of each request, not the limiter saying no.
      RATE_LIMIT_ENABLED: 'false',
      ...extraEnv,
    },
    { nodeArgs: ['-r', PROBE] },
  );
  return { ...app, eldFile, coldStartMs: app.startedInMs };
}

const stopApp = stopBuiltApp;

function rssMb(app: App): number {
  const status = readFileSync(`/proc/${app.process.pid}/status`, 'utf8');
  return round(Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024, 1);
}

async function eventLoopDelay(app: App): Promise<{ p50: number; p99: number; max: number }> {
  if (hasExited(app)) {
    throw new Error(`${app.name} has exited`);
  }
  rmSync(app.eldFile, { force: true });
  app.process.kill('SIGUSR2');
  for (let i = 0; i < 200; i++) {
    try {
      return JSON.parse(readFileSync(app.eldFile, 'utf8')) as {
        p50: number;
        p99: number;
        max: number;
      };
    } catch {
      await sleep(10);
    }
  }
  throw new Error('the event-loop probe did not answer');
}

async function post(
  base: string,
  path: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function inBatches<T>(
  count: number,
  width: number,
  task: (i: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = [];
  for (let start = 0; start < count; start += width) {
    const batch = Array.from({ length: Math.min(width, count - start) }, (_, k) => task(start + k));
    results.push(...(await Promise.all(batch)));
  }
  return results;
}

/** Users and sessions: returns one access token per session. */
async function seed(app: App): Promise<{ emails: string[]; tokens: string[] }> {
  const emails = Array.from({ length: USERS }, (_, i) => `bench-${i}-${randomUUID()}@example.com`);
  await inBatches(USERS, 8, async (i) => {
    const { status } = await post(app.base, '/signup', { email: emails[i], password: PASSWORD });
    if (status !== 201) {
      throw new Error(`signup answered ${status}`);
    }
  });
  const tokens = await inBatches(USERS * SESSIONS_PER_USER, 8, async (i) => {
    const { status, json } = await post(app.base, '/signin', {
      email: emails[i % USERS],
      password: PASSWORD,
    });
    if (status !== 200) {
      throw new Error(`signin answered ${status}`);
    }
    return json.access_token as string;
  });
  return { emails, tokens };
}

function load(
  base: string,
  request: { method?: string; path: string; body?: string; tokens?: string[] },
  options: { connections?: number; seconds?: number } = {},
): Promise<LoadFigures> {
  let next = 0;
  const { tokens } = request;
  return new Promise((done, fail) => {
    autocannon(
      {
        url: base,
        connections: options.connections ?? CONNECTIONS,
        duration: options.seconds ?? SECONDS,
        requests: [
          {
            method: (request.method ?? 'GET') as 'GET',
            path: request.path,
            body: request.body,
            headers: request.body ? { 'content-type': 'application/json' } : {},
            ...(tokens
              ? {
                  setupRequest: (req: autocannon.Request) => {
                    req.headers = {
                      ...req.headers,
                      authorization: `Bearer ${tokens[next++ % tokens.length]}`,
                    };
                    return req;
                  },
                }
              : {}),
          },
        ],
      },
      (error, result) => {
        if (error) {
          fail(error instanceof Error ? error : new Error(String(error)));
          return;
        }
        done({
          rps: result.requests.average,
          p50: result.latency.p50,
          p99: result.latency.p99,
          errors: result.errors + result.timeouts + result.non2xx,
        });
      },
    );
  });
}

function summarise(runs: LoadFigures[]): LoadFigures {
  return {
    rps: round(median(runs.map((r) => r.rps)), 0),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
  };
}

function addRevokedRows(dbPath: string, rows: number): void {
  const db = new Database(dbPath);
  db.pragma('synchronous = OFF');
  const prefix = randomUUID().slice(0, 24);
  const sessionId = randomUUID();
  const insert = db.prepare(
    'INSERT INTO revoked_tokens (jti, session_id, reason, revoked_at, expires_at) VALUES (?, ?, ?, ?, ?)',
  );
  const now = new Date().toISOString().replace('T', ' ').replace('Z', '');
  const later = new Date(Date.now() + 3600_000).toISOString().replace('T', ' ').replace('Z', '');
  const batch = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      insert.run(`${prefix}${i.toString(16).padStart(12, '0')}`, sessionId, 'logout', now, later);
    }
  });
  for (let done = 0; done < rows; done += 100_000) {
    batch(done, Math.min(done + 100_000, rows));
  }
  db.close();
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'auth-bench-'));
  const results: Results = {
    date: new Date().toISOString(),
    machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`,
    settings: {
      seconds: SECONDS,
      rounds: ROUNDS,
      connections: CONNECTIONS,
      revokedRows: REVOKED_ROWS,
    },
  };
  const apps: App[] = [];
  try {
    // Cold start and idle memory on fresh databases (migrations included).
    const starts: number[] = [];
    const idle: number[] = [];
    for (let i = 0; i < 3; i++) {
      const app = await startApp(`cold-${i}`, join(dir, `cold-${i}.sqlite`));
      starts.push(app.coldStartMs);
      await sleep(1000);
      idle.push(rssMb(app));
      await stopApp(app);
    }
    results.coldStartMs = round(median(starts), 0);
    results.idleRssMb = median(idle);
    log(`cold start ${results.coldStartMs} ms, idle RSS ${results.idleRssMb} MB`);

    // Seed one database, then copy it and add the revoked rows to the copy.
    const emptyDb = join(dir, 'empty.sqlite');
    const seeding = await startApp('seed', emptyDb);
    const { emails, tokens } = await seed(seeding);
    await stopApp(seeding);
    const bigDb = join(dir, 'revoked.sqlite');
    copyFileSync(emptyDb, bigDb);
    const t0 = performance.now();
    addRevokedRows(bigDb, REVOKED_ROWS);
    log(
      `seeded ${USERS} users, ${tokens.length} sessions; ${REVOKED_ROWS} revoked rows in ${round((performance.now() - t0) / 1000, 1)} s`,
    );

    const a = await startApp('empty', emptyDb);
    apps.push(a);
    const b = await startApp('revoked', bigDb);
    apps.push(b);
    results.coldStartWithRevokedRowsMs = round(b.coldStartMs, 0);

    // Warm-up, then interleaved rounds: control, protected, protected on the big table.
    await load(a.base, { path: '/health/live' }, { seconds: 2 });
    await load(a.base, { path: '/protected', tokens }, { seconds: 2 });
    await load(b.base, { path: '/protected', tokens }, { seconds: 2 });
    const control: LoadFigures[] = [];
    const protectedRuns: LoadFigures[] = [];
    const bigRuns: LoadFigures[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      control.push(await load(a.base, { path: '/health/live' }));
      protectedRuns.push(await load(a.base, { path: '/protected', tokens }));
      bigRuns.push(await load(b.base, { path: '/protected', tokens }));
      log(
        `round ${r + 1}/${ROUNDS}: control ${round(control[r].rps, 0)}, protected ${round(protectedRuns[r].rps, 0)}, protected (1M revoked) ${round(bigRuns[r].rps, 0)} req/s`,
      );
    }
    results.control = summarise(control);
    results.protected = summarise(protectedRuns);
    results.protectedWithRevokedRows = summarise(bigRuns);
    results.rssAfterLoadMb = { empty: rssMb(a), revoked: rssMb(b) };
    await stopApp(b);

    log('sign-in throughput');
    // Sign-in: c=1 then c=20.
    const signinBody = JSON.stringify({ email: emails[0], password: PASSWORD });
    results.signinC1 = await load(
      a.base,
      { method: 'POST', path: '/signin', body: signinBody },
      { connections: 1 },
    );
    results.signinC20 = await load(
      a.base,
      { method: 'POST', path: '/signin', body: signinBody },
      { connections: 20 },
    );

    log('event-loop delay under sign-ins');
    // Event-loop delay and /protected latency while 20 sign-ins run.
    await eventLoopDelay(a);
    const [, protectedUnderSignins] = await Promise.all([
      load(a.base, { method: 'POST', path: '/signin', body: signinBody }, { connections: 20 }),
      load(a.base, { path: '/protected', tokens }, { connections: 1 }),
    ]);
    results.eventLoopDelayUnderSigninsMs = await eventLoopDelay(a);
    results.protectedUnderSignins = protectedUnderSignins;
    await sleep(1000); // let sign-ins abandoned by the load generator finish

    log('enumeration timing');
    // Enumeration: unknown email vs wrong password, interleaved.
    const unknown: number[] = [];
    const wrong: number[] = [];
    for (let i = 0; i < 30; i++) {
      for (const [email, bucket] of [
        [`nobody-${i}@example.com`, unknown],
        [emails[i % USERS], wrong],
      ] as const) {
        const started = performance.now();
        const { status } = await post(a.base, '/signin', { email, password: 'wrong-password-1' });
        bucket.push(performance.now() - started);
        if (status !== 401) {
          throw new Error(`enumeration probe answered ${status}`);
        }
      }
    }
    results.enumeration = {
      unknownEmailMedianMs: round(median(unknown)),
      wrongPasswordMedianMs: round(median(wrong)),
    };

    results.shared = await benchShared(a, tokens, join(dir, 'shared'));
  } finally {
    await Promise.all(apps.map(stopApp));
    rmSync(dir, { recursive: true, force: true });
  }
  report(results as Required<Results>);
}

/**
 * `/protected` when state is shared (PostgreSQL and Redis, as with several instances): the same
 * rounds against the same kind of instance on SQLite. Reported as not measured when the servers
 * are unreachable.
 */
async function benchShared(
  sqlite: App,
  sqliteTokens: string[],
  dbPath: string,
): Promise<Results['shared']> {
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const admin = new Client({
    connectionString: SHARED_DATABASE_URL,
    connectionTimeoutMillis: 3000,
  });
  try {
    await admin.connect();
    await admin.query(`CREATE SCHEMA "${schema}"`);
  } catch (error) {
    log(`PostgreSQL not reachable, shared set-up not measured (${String(error)})`);
    await admin.end().catch(() => undefined);
    return 'not measured: PostgreSQL unreachable';
  }
  let shared: App | undefined;
  try {
    shared = await startApp('shared', dbPath, {
      DATABASE_URL: SHARED_DATABASE_URL,
      DATABASE_SCHEMA: schema,
      REDIS_URL: SHARED_REDIS_URL,
      REDIS_KEY_PREFIX: `${schema}:`,
    });
    const { tokens } = await seed(shared);
    log('shared set-up: PostgreSQL and Redis');
    await load(shared.base, { path: '/protected', tokens }, { seconds: 2 });
    const control: LoadFigures[] = [];
    const protectedRuns: LoadFigures[] = [];
    const sqliteRuns: LoadFigures[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      control.push(await load(shared.base, { path: '/health/live' }));
      protectedRuns.push(await load(shared.base, { path: '/protected', tokens }));
      sqliteRuns.push(await load(sqlite.base, { path: '/protected', tokens: sqliteTokens }));
      log(
        `shared round ${r + 1}/${ROUNDS}: control ${round(control[r].rps, 0)}, protected ${round(protectedRuns[r].rps, 0)}, SQLite protected ${round(sqliteRuns[r].rps, 0)} req/s`,
      );
    }
    return {
      control: summarise(control),
      protected: summarise(protectedRuns),
      sqliteProtected: summarise(sqliteRuns),
    };
  } finally {
    if (shared) {
      await stopApp(shared);
    }
    await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
    await admin.end();
  }
}

function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

function report(r: Required<Results>): void {
  const ratio = (a: number, b: number) => round(a / b, 3);
  const ratios = {
    protectedToControl: ratio(r.protected.rps, r.control.rps),
    revokedRowsToEmpty: ratio(r.protectedWithRevokedRows.rps, r.protected.rps),
    signinP99C20ToC1: ratio(r.signinC20.p99, r.signinC1.p99),
    enumerationUnknownToWrong: ratio(
      r.enumeration.unknownEmailMedianMs,
      r.enumeration.wrongPasswordMedianMs,
    ),
  };
  const shared = typeof r.shared === 'string' ? undefined : r.shared;
  if (shared) {
    Object.assign(ratios, {
      sharedProtectedToControl: ratio(shared.protected.rps, shared.control.rps),
      sharedProtectedToSqlite: ratio(shared.protected.rps, shared.sqliteProtected.rps),
    });
  }
  r.ratios = ratios;
  const pct = (x: number) => `${round(x * 100, 1)}%`;
  const rows: [string, string, string, string][] = [
    [
      'control GET /health/live',
      `${r.control.rps} req/s`,
      `p50 ${r.control.p50} ms / p99 ${r.control.p99} ms`,
      '',
    ],
    [
      'GET /protected',
      `${r.protected.rps} req/s`,
      `p50 ${r.protected.p50} ms / p99 ${r.protected.p99} ms`,
      `${pct(ratios.protectedToControl)} of control (target >= 60%)`,
    ],
    [
      `GET /protected, ${r.settings.revokedRows} revoked rows`,
      `${r.protectedWithRevokedRows.rps} req/s`,
      `p50 ${r.protectedWithRevokedRows.p50} ms / p99 ${r.protectedWithRevokedRows.p99} ms`,
      `${pct(ratios.revokedRowsToEmpty)} of empty table (target >= 90%)`,
    ],
    ['POST /signin, c=1', `${r.signinC1.rps} req/s`, `p99 ${r.signinC1.p99} ms`, ''],
    [
      'POST /signin, c=20',
      `${r.signinC20.rps} req/s`,
      `p99 ${r.signinC20.p99} ms`,
      `p99 ${ratios.signinP99C20ToC1}x c=1 (target <= 3x)`,
    ],
    [
      'event-loop delay, 20 sign-ins running',
      `p99 ${r.eventLoopDelayUnderSigninsMs.p99} ms`,
      `max ${r.eventLoopDelayUnderSigninsMs.max} ms`,
      'target p99 < 20 ms',
    ],
    [
      'GET /protected, 20 sign-ins running',
      `${r.protectedUnderSignins.rps} req/s`,
      `p99 ${r.protectedUnderSignins.p99} ms`,
      '',
    ],
    [
      'signin unknown email / wrong password',
      `${r.enumeration.unknownEmailMedianMs} / ${r.enumeration.wrongPasswordMedianMs} ms`,
      `ratio ${ratios.enumerationUnknownToWrong}`,
      'target within 15%',
    ],
    [
      'cold start',
      `${r.coldStartMs} ms`,
      `${r.coldStartWithRevokedRowsMs} ms with revoked rows`,
      'target < 2000 ms',
    ],
    [
      'idle RSS',
      `${r.idleRssMb} MB`,
      `after load ${r.rssAfterLoadMb.empty} MB / ${r.rssAfterLoadMb.revoked} MB`,
      'target < 150 MB',
    ],
  ];
  if (shared) {
    rows.push(
      [
        'shared: control GET /health/live',
        `${shared.control.rps} req/s`,
        `p50 ${shared.control.p50} ms / p99 ${shared.control.p99} ms`,
        '',
      ],
      [
        'shared: GET /protected (PostgreSQL)',
        `${shared.protected.rps} req/s`,
        `p50 ${shared.protected.p50} ms / p99 ${shared.protected.p99} ms`,
        `${pct((ratios as Record<string, number>).sharedProtectedToControl)} of its control, ${pct((ratios as Record<string, number>).sharedProtectedToSqlite)} of SQLite's ${shared.sqliteProtected.rps} req/s`,
      ],
    );
  } else {
    rows.push(['shared set-up', typeof r.shared === 'string' ? r.shared : 'not measured', '', '']);
  }
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => row[i].length)));
  const line = (row: string[]) => `| ${row.map((cell, i) => cell.padEnd(widths[i])).join(' | ')} |`;
  console.log(
    `\n${r.machine}; ${r.settings.rounds} rounds of ${r.settings.seconds} s, ${r.settings.connections} connections, medians\n`,
  );
  console.log(line(['measure', 'figure', 'detail', 'ratio / target']));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  rows.forEach((row) => console.log(line(row)));
  const errors = [
    r.control,
    r.protected,
    r.protectedWithRevokedRows,
    r.signinC1,
    r.signinC20,
  ].reduce((sum, figures) => sum + figures.errors, 0);
  console.log(`\nnon-2xx or failed requests during the runs: ${errors}`);
  mkdirSync(join(ROOT, 'bench-results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench-results', 'latest.json'), `${JSON.stringify(r, null, 2)}\n`);
  console.log('figures written to bench-results/latest.json');
}

process.on('beforeExit', () => {
  // A promise that can never settle (e.g. waiting on a process that is gone) must not pass as success.
  if (!finished) {
    console.error('bench: stopped before finishing');
    process.exitCode = 1;
  }
});
let finished = false;

main().then(
  () => {
    finished = true;
  },
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
