/**
 * `npm run bench`: measures the built service (dist/) in production mode on fresh SQLite files,
 * and on PostgreSQL and Redis, against a bare NestJS app on the same adapter (bare-nest.ts) in
 * the same interleaved rounds. Load comes from wrk on a core of its own. Prints a table and writes
 * bench-results/latest.json. A measurement, never a test: it does not fail on a missed target, it
 * reports it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as argon2 from 'argon2';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import { ARGON2_OPTIONS } from '../../src/auth/passwords/password-hasher.service';
import {
  BuiltApp,
  freePort,
  hasExited,
  ROOT,
  startBuiltApp,
  stopBuiltApp,
} from '../helpers/built-app';
import { TestSmtpServer } from '../helpers/smtp';
import { LoadFigures, LoadRequest, PINNING, repin, requireWrk, wrkLoad } from './wrk';

const PROBE = join(__dirname, 'event-loop-probe.js');
const BARE_APP = join(__dirname, 'bare-nest.ts');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
/** Requests sent before memory is compared with its level after the warm-up (a leak check). */
const LEAK_REQUESTS = Number(process.env.BENCH_LEAK_REQUESTS ?? 1_000_000);
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

/** Interleaved rounds of one group of loads, each reported against the bare app's own round. */
type Rounds = Record<string, LoadFigures>;

/** What one run measures; everything is filled in before `report`. */
interface Results {
  date: string;
  machine: string;
  pinning: string;
  settings: {
    seconds: number;
    rounds: number;
    connections: number;
    revokedRows: number;
    leakRequests: number;
  };
  coldStartMs?: number;
  coldStartWithRevokedRowsMs?: number;
  idleRssMb?: number;
  /** bare, live, protected, check (/auth/check), protectedWithRevokedRows */
  sqlite?: Rounds;
  rssAfterLoadMb?: { empty: number; revoked: number };
  leak?: { requests: number; rssAfterWarmUpMb: number; rssAfterMb: number };
  hashMs?: number;
  serverCores?: number;
  signinC1?: LoadFigures;
  signinC20?: LoadFigures;
  eventLoopDelayUnderSigninsMs?: { p50: number; p99: number; max: number };
  protectedUnderSignins?: LoadFigures;
  /** bare, live, protected and check (PostgreSQL + Redis), sqliteProtected; or why not measured. */
  shared?: Rounds | string;
  enumeration?: { unknownEmailMedianMs: number; wrongPasswordMedianMs: number };
  /** POST /password/forgot from one client (c=1): known, unknown address. */
  forgot?: Rounds;
  ratios?: Record<string, number>;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/**
 * Where every app of the bench sends its mail: production refuses to start without SMTP_URL while
 * the email flows are on.
 */
let smtp: TestSmtpServer;

async function startApp(
  name: string,
  dbPath: string,
  extraEnv: Record<string, string> = {},
): Promise<App> {
  const eldFile = `${dbPath}.eld.json`;
  // Production also needs PUBLIC_URL, the base of the links in the mails: the app's own address.
  const port = await freePort();
  const app = await startBuiltApp(
    name,
    {
      NODE_ENV: 'production',
      JWT_SECRET: SECRET,
      DB_PATH: dbPath,
      SMTP_URL: smtp.url,
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      BENCH_ELD_FILE: eldFile,
      BENCH_RSS_FILE: `${dbPath}.rss.json`,
      // The bench measures the work of each request, not the limiter saying no.
      RATE_LIMIT_ENABLED: 'false',
      ...extraEnv,
    },
    // Started on every core, as in production (start-up reads the revoked ids); pinned afterwards.
    { nodeArgs: ['--expose-gc', '-r', PROBE], port },
  );
  repin(app.process.pid!, PINNING.server);
  return { ...app, eldFile, coldStartMs: app.startedInMs };
}

/** The framework's limit: NestJS on the same adapter, one JSON route, nothing else. */
async function startBare(): Promise<App> {
  const app = await startBuiltApp('bare', {}, { script: BARE_APP });
  repin(app.process.pid!, PINNING.server);
  return { ...app, eldFile: '', coldStartMs: app.startedInMs };
}

const stopApp = stopBuiltApp;

function rssMb(app: App): number {
  const status = readFileSync(`/proc/${app.process.pid}/status`, 'utf8');
  return round(Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024, 1);
}

/** RSS after a full garbage collection, in MB (the probe collects on SIGWINCH). */
async function rssAfterGcMb(app: App, dbPath: string): Promise<number> {
  const file = `${dbPath}.rss.json`;
  rmSync(file, { force: true });
  app.process.kill('SIGWINCH');
  for (let i = 0; i < 200; i++) {
    try {
      return round((JSON.parse(readFileSync(file, 'utf8')) as { rss: number }).rss / 2 ** 20, 1);
    } catch {
      await sleep(10);
    }
  }
  throw new Error('the memory probe did not answer');
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
  app: App,
  request: LoadRequest,
  options: { connections?: number; seconds?: number } = {},
): Promise<LoadFigures> {
  if (hasExited(app)) {
    throw new Error(`${app.name} has exited`);
  }
  return wrkLoad(app.base, request, {
    connections: options.connections ?? CONNECTIONS,
    seconds: options.seconds ?? SECONDS,
    serverPid: app.process.pid!,
  });
}

function summarise(runs: LoadFigures[]): LoadFigures {
  const mid = (pick: (figures: LoadFigures) => number, digits = 2) =>
    round(median(runs.map(pick)), digits);
  return {
    rps: mid((r) => r.rps, 0),
    p50: mid((r) => r.p50),
    p99: mid((r) => r.p99),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
    requests: runs.reduce((sum, r) => sum + r.requests, 0),
    serverCpu: mid((r) => r.serverCpu),
    loadCpu: mid((r) => r.loadCpu),
  };
}

/**
 * `loads` one after the other, `ROUNDS` times (so a change in the machine's speed hits them all
 * alike), after a short warm-up of each; medians.
 */
async function interleaved(
  label: string,
  loads: Record<string, () => Promise<LoadFigures>>,
  warmUp: Record<string, () => Promise<LoadFigures>>,
): Promise<Rounds> {
  for (const run of Object.values(warmUp)) {
    await run();
  }
  const runs: Record<string, LoadFigures[]> = {};
  for (let r = 0; r < ROUNDS; r++) {
    const line: string[] = [];
    for (const [name, run] of Object.entries(loads)) {
      const figures = await run();
      (runs[name] ??= []).push(figures);
      line.push(`${name} ${round(figures.rps, 0)}`);
    }
    log(`${label} round ${r + 1}/${ROUNDS}: ${line.join(', ')} req/s`);
  }
  return Object.fromEntries(Object.entries(runs).map(([name, list]) => [name, summarise(list)]));
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

/** The time of one Argon2id hash with the service's parameters, median of ten, in this process. */
async function hashMs(): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 10; i++) {
    const started = performance.now();
    await argon2.hash(PASSWORD, ARGON2_OPTIONS);
    times.push(performance.now() - started);
  }
  return round(median(times));
}

async function main(): Promise<void> {
  requireWrk();
  smtp = await TestSmtpServer.start();
  const dir = mkdtempSync(join(tmpdir(), 'auth-bench-'));
  const results: Results = {
    date: new Date().toISOString(),
    machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`,
    pinning: PINNING.description,
    settings: {
      seconds: SECONDS,
      rounds: ROUNDS,
      connections: CONNECTIONS,
      revokedRows: REVOKED_ROWS,
      leakRequests: LEAK_REQUESTS,
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

    const bare = await startBare();
    apps.push(bare);
    const a = await startApp('empty', emptyDb);
    apps.push(a);
    const b = await startApp('revoked', bigDb);
    apps.push(b);
    results.coldStartWithRevokedRowsMs = round(b.coldStartMs, 0);
    log(`load from wrk, ${PINNING.description}`);

    const live = { path: '/health/live' };
    const protectedRoute = { path: '/protected', tokens };
    // A reverse proxy's sub-request: same token checks as /protected, no body.
    const checkRoute = { path: '/auth/check', tokens };
    const warm = { seconds: 2 };
    results.sqlite = await interleaved(
      'SQLite',
      {
        bare: () => load(bare, live),
        live: () => load(a, live),
        protected: () => load(a, protectedRoute),
        check: () => load(a, checkRoute),
        protectedWithRevokedRows: () => load(b, protectedRoute),
      },
      {
        bare: () => load(bare, live, warm),
        live: () => load(a, live, warm),
        protected: () => load(a, protectedRoute, warm),
        check: () => load(a, checkRoute, warm),
        revoked: () => load(b, protectedRoute, warm),
      },
    );
    results.rssAfterLoadMb = { empty: rssMb(a), revoked: rssMb(b) };
    await stopApp(b);

    // Memory after a million requests against memory after the warm-up and the rounds, each after
    // a full collection: what is retained, not where the collector's sawtooth happens to be.
    const rssAfterWarmUpMb = await rssAfterGcMb(a, emptyDb);
    let sent = 0;
    while (sent < LEAK_REQUESTS) {
      sent += (await load(a, protectedRoute, { seconds: 10 })).requests;
      log(`leak check: ${sent} of ${LEAK_REQUESTS} requests`);
    }
    await sleep(1000);
    results.leak = { requests: sent, rssAfterWarmUpMb, rssAfterMb: await rssAfterGcMb(a, emptyDb) };

    log('sign-in throughput');
    // From here on the server may use every core, as it would in production: sign-ins hash on
    // the thread pool.
    repin(a.process.pid!, undefined);
    results.hashMs = await hashMs();
    results.serverCores = cpus().length;
    const signinEmail = `bench-signin-${randomUUID()}@example.com`;
    if (
      (await post(a.base, '/signup', { email: signinEmail, password: PASSWORD })).status !== 201
    ) {
      throw new Error('signup of the sign-in account failed');
    }
    const signin = {
      method: 'POST',
      path: '/signin',
      // An account of its own: its many new sessions push its oldest out (SESSIONS_PER_USER_MAX),
      // and the seeded sessions must stay valid for the rounds still to come.
      body: JSON.stringify({ email: signinEmail, password: PASSWORD }),
    };
    results.signinC1 = await load(a, signin, { connections: 1 });
    results.signinC20 = await load(a, signin, { connections: 20 });

    log('event-loop delay under sign-ins');
    // Event-loop delay and /protected latency while 20 sign-ins run.
    await eventLoopDelay(a);
    const [, protectedUnderSignins] = await Promise.all([
      load(a, signin, { connections: 20 }),
      load(a, protectedRoute, { connections: 1 }),
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
    repin(a.process.pid!, PINNING.server);

    log('forgot password timing');
    // Known address against unknown from one client, interleaved: the request only writes to the
    // outbox; the sender, in the same process, finds out which address has an account (and drops
    // all but one known-address mail a minute), so any difference is its work showing through.
    const forgot = (email: string) => ({
      method: 'POST',
      path: '/password/forgot',
      body: JSON.stringify({ email }),
    });
    const knownForgot = forgot(emails[0]);
    const unknownForgot = forgot(`nobody-${randomUUID()}@example.com`);
    // A warm-up as long as a round: nothing before has run this route's code.
    const forgotLoads = {
      known: () => load(a, knownForgot, { connections: 1 }),
      unknown: () => load(a, unknownForgot, { connections: 1 }),
    };
    results.forgot = await interleaved('forgot password', forgotLoads, forgotLoads);

    results.shared = await benchShared(bare, a, tokens, join(dir, 'shared'));
  } finally {
    await Promise.all(apps.map((app) => stopApp(app)));
    await smtp.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  report(results as Required<Results>);
}

/**
 * `/protected` when state is shared (PostgreSQL and Redis, as with several instances): rounds
 * interleaved with the bare app and the SQLite instance. Reported as not measured when the servers
 * are unreachable.
 */
async function benchShared(
  bare: App,
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
    const app = shared;
    const live = { path: '/health/live' };
    const protectedRoute = { path: '/protected', tokens };
    return await interleaved(
      'shared',
      {
        bare: () => load(bare, live),
        live: () => load(app, live),
        protected: () => load(app, protectedRoute),
        check: () => load(app, { path: '/auth/check', tokens }),
        sqliteProtected: () => load(sqlite, { path: '/protected', tokens: sqliteTokens }),
      },
      {
        protected: () => load(app, protectedRoute, { seconds: 2 }),
        check: () => load(app, { path: '/auth/check', tokens }, { seconds: 2 }),
      },
    );
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
  const within15 = (x: number) => x >= 0.87 && x <= 1.15;
  const pct = (x: number) => `${round(x * 100, 1)}%`;
  const { bare, live, protected: prot, check, protectedWithRevokedRows: revoked } = r.sqlite;
  const hashingLimit = r.serverCores / (r.hashMs / 1000);
  const ratios: Record<string, number> = {
    liveToBare: ratio(live.rps, bare.rps),
    protectedToBare: ratio(prot.rps, bare.rps),
    protectedToLive: ratio(prot.rps, live.rps),
    revokedRowsToEmpty: ratio(revoked.rps, prot.rps),
    protectedP99ToP50: ratio(prot.p99, prot.p50),
    checkToProtected: ratio(check.rps, prot.rps),
    rssAfterLeakCheckToWarmUp: ratio(r.leak.rssAfterMb, r.leak.rssAfterWarmUpMb),
    signinToHashingLimit: ratio(r.signinC20.rps, hashingLimit),
    signinP99C20ToC1: ratio(r.signinC20.p99, r.signinC1.p99),
    enumerationUnknownToWrong: ratio(
      r.enumeration.unknownEmailMedianMs,
      r.enumeration.wrongPasswordMedianMs,
    ),
    forgotKnownToUnknown: ratio(r.forgot.known.p50, r.forgot.unknown.p50),
  };
  const shared = typeof r.shared === 'string' ? undefined : r.shared;
  if (shared) {
    Object.assign(ratios, {
      sharedLiveToBare: ratio(shared.live.rps, shared.bare.rps),
      sharedProtectedToBare: ratio(shared.protected.rps, shared.bare.rps),
      sharedProtectedP99ToP50: ratio(shared.protected.p99, shared.protected.p50),
      sharedProtectedToSqlite: ratio(shared.protected.rps, shared.sqliteProtected.rps),
      sharedCheckToProtected: ratio(shared.check.rps, shared.protected.rps),
    });
  }
  r.ratios = ratios;
  const cpu = (f: LoadFigures) => `cpu server ${pct(f.serverCpu)} / wrk ${pct(f.loadCpu)}`;
  const latency = (f: LoadFigures) => `p50 ${f.p50} ms / p99 ${f.p99} ms`;
  const loadRow = (
    name: string,
    f: LoadFigures,
    target: string,
  ): [string, string, string, string] => [
    name,
    `${f.rps} req/s`,
    `${latency(f)}; ${cpu(f)}`,
    target,
  ];
  const rows: [string, string, string, string][] = [
    loadRow('bare NestJS + Fastify, one JSON route', bare, '1.00 (reference)'),
    loadRow('GET /health/live', live, `${ratios.liveToBare} of bare (target >= 0.60)`),
    loadRow(
      'GET /protected (SQLite)',
      prot,
      `${ratios.protectedToBare} of bare (target >= 0.50); ${pct(ratios.protectedToLive)} of /health/live`,
    ),
    loadRow(
      'GET /auth/check (SQLite), forward auth',
      check,
      `${ratios.checkToProtected} of /protected (target >= 0.95: as fast, within noise)`,
    ),
    [
      'GET /protected p99 / p50',
      `${ratios.protectedP99ToP50}x`,
      `${CONNECTIONS} connections`,
      'target <= 5x',
    ],
    loadRow(
      `GET /protected, ${r.settings.revokedRows} revoked rows`,
      revoked,
      `${pct(ratios.revokedRowsToEmpty)} of empty table (target >= 90%)`,
    ),
    [
      `RSS after ${r.leak.requests} requests`,
      `${r.leak.rssAfterMb} MB`,
      `${r.leak.rssAfterWarmUpMb} MB after warm-up (both after a full GC)`,
      `${ratios.rssAfterLeakCheckToWarmUp}x (target <= 1.20x)`,
    ],
    ['POST /signin, c=1', `${round(r.signinC1.rps, 1)} req/s`, `p99 ${r.signinC1.p99} ms`, ''],
    [
      'POST /signin, c=20',
      `${round(r.signinC20.rps, 1)} req/s`,
      `p99 ${r.signinC20.p99} ms; one hash ${r.hashMs} ms, limit ${round(hashingLimit, 1)}/s on ${r.serverCores} core(s)`,
      `${pct(ratios.signinToHashingLimit)} of the hashing limit; p99 ${ratios.signinP99C20ToC1}x c=1 (target <= 3x)`,
    ],
    [
      'event-loop delay, 20 sign-ins running',
      `p99 ${r.eventLoopDelayUnderSigninsMs.p99} ms`,
      `max ${r.eventLoopDelayUnderSigninsMs.max} ms`,
      'target p99 < 20 ms',
    ],
    [
      'GET /protected, 20 sign-ins running',
      `${round(r.protectedUnderSignins.rps, 0)} req/s`,
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
      'POST /password/forgot known / unknown email, c=1',
      `p50 ${r.forgot.known.p50} / ${r.forgot.unknown.p50} ms`,
      `ratio ${ratios.forgotKnownToUnknown}; p99 ${r.forgot.known.p99} / ${r.forgot.unknown.p99} ms; ${r.forgot.known.rps} / ${r.forgot.unknown.rps} req/s`,
      `target within 15%: ${within15(ratios.forgotKnownToUnknown) ? 'PASS' : 'MISS'}`,
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
      loadRow('shared: bare NestJS', shared.bare, '1.00 (reference)'),
      loadRow('shared: GET /health/live', shared.live, `${ratios.sharedLiveToBare} of bare`),
      loadRow(
        'shared: GET /protected (PostgreSQL + Redis)',
        shared.protected,
        `${ratios.sharedProtectedToBare} of bare (target >= 0.35); ${pct(ratios.sharedProtectedToSqlite)} of SQLite's ${shared.sqliteProtected.rps} req/s; p99 ${ratios.sharedProtectedP99ToP50}x p50`,
      ),
      loadRow(
        'shared: GET /auth/check (PostgreSQL + Redis)',
        shared.check,
        `${ratios.sharedCheckToProtected} of /protected (target >= 0.95)`,
      ),
    );
  } else {
    rows.push(['shared set-up', typeof r.shared === 'string' ? r.shared : 'not measured', '', '']);
  }
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => row[i].length)));
  const line = (row: string[]) => `| ${row.map((cell, i) => cell.padEnd(widths[i])).join(' | ')} |`;
  console.log(
    `\n${r.machine}; ${r.pinning}; ${r.settings.rounds} interleaved rounds of ${r.settings.seconds} s, ${r.settings.connections} connections, medians\n`,
  );
  console.log(line(['measure', 'figure', 'detail', 'ratio / target']));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  rows.forEach((row) => console.log(line(row)));
  const errors = [
    ...Object.values(r.sqlite),
    ...Object.values(shared ?? {}),
    ...Object.values(r.forgot),
    r.signinC1,
    r.signinC20,
  ].reduce((sum, figures) => sum + figures.errors, 0);
  console.log(`\nnon-2xx or failed requests during the runs: ${errors}`);
  const saturated = [...Object.entries(r.sqlite), ...Object.entries(shared ?? {})].filter(
    ([, f]) => f.loadCpu > 0.9 && f.serverCpu < 0.9,
  );
  if (saturated.length > 0) {
    console.log(
      `wrk used its whole core before the server did for: ${saturated.map(([name]) => name).join(', ')} (their figures are wrk's limit, not the server's)`,
    );
  }
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
