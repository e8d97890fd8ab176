import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';

export const ROOT = resolve(__dirname, '../..');

/** The built service (dist/main.js) running in its own process, as a user starts it. */
export interface BuiltApp {
  name: string;
  process: ChildProcess;
  base: string;
  /** From spawning the process to the first answer of /health/live. */
  startedInMs: number;
  /** What it wrote to stdout so far, when started with `captureStdout`. */
  stdout: string;
}

/** A port the OS considers free right now. */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => done(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

export const hasExited = (app: BuiltApp) =>
  app.process.exitCode !== null || app.process.signalCode !== null;

export interface StartOptions {
  nodeArgs?: string[];
  /** Run src/main.ts through ts-node instead of the build (slower to start, needs no build). */
  fromSource?: boolean;
  /** Another entry point than the service, e.g. the bench's bare framework app (.ts via ts-node). */
  script?: string;
  /** Keep what the process writes to stdout (its logs) in `BuiltApp.stdout`. */
  captureStdout?: boolean;
  /** Cores the process may run on (taskset's list, e.g. "0"): the bench pins servers. */
  cpus?: string;
  /** How long start-up may take before the process is killed and the start fails. */
  deadlineMs?: number;
  /**
   * The port to listen on, when the caller must know it before the start (e.g. for PUBLIC_URL:
   * take one from `freePort()`); a free one otherwise.
   */
  port?: number;
}

/** Generous for a cold ts-node start on a loaded 2-core machine; a hung start still fails. */
const START_DEADLINE_MS = 60_000;

/** Starts dist/main.js with `env` on a free port (or `options.port`) and waits until it answers. */
export async function startBuiltApp(
  name: string,
  env: Record<string, string>,
  options: StartOptions = {},
): Promise<BuiltApp> {
  const port = options.port ?? (await freePort());
  const started = performance.now();
  const script = options.script ?? (options.fromSource ? join(ROOT, 'src/main.ts') : undefined);
  const entry = script
    ? [...(script.endsWith('.ts') ? ['-r', 'ts-node/register/transpile-only'] : []), script]
    : [join(ROOT, 'dist/main.js')];
  const args = [...(options.nodeArgs ?? []), ...entry];
  // taskset replaces itself with node, so the child's pid is node's.
  const [command, commandArgs] = options.cpus
    ? ['taskset', ['-c', options.cpus, process.execPath, ...args]]
    : [process.execPath, args];
  const child = spawn(command, commandArgs, {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', options.captureStdout ? 'pipe' : 'ignore', 'inherit'],
  });
  const app: BuiltApp = {
    name,
    process: child,
    base: `http://127.0.0.1:${port}`,
    startedInMs: 0,
    stdout: '',
  };
  child.stdout?.on('data', (chunk: Buffer) => (app.stdout += chunk.toString('utf8')));
  const deadline = started + (options.deadlineMs ?? START_DEADLINE_MS);
  for (;;) {
    if (hasExited(app)) {
      throw new Error(`${name} exited during start-up (${child.exitCode ?? child.signalCode})`);
    }
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(
        `${name} did not answer /health/live within ${options.deadlineMs ?? START_DEADLINE_MS} ms`,
      );
    }
    try {
      if ((await fetch(`${app.base}/health/live`)).ok) {
        break;
      }
    } catch {
      // not listening yet
    }
    await sleep(5);
  }
  app.startedInMs = performance.now() - started;
  return app;
}

/** The process's exit, as the code or the signal that ended it. */
export function exitOf(app: BuiltApp): Promise<{ code: number | null; signal: string | null }> {
  if (hasExited(app)) {
    return Promise.resolve({ code: app.process.exitCode, signal: app.process.signalCode });
  }
  return new Promise((done) => app.process.once('exit', (code, signal) => done({ code, signal })));
}

/**
 * SIGTERM, then SIGKILL if the process is still there after `graceMs`: a test that fails half-way
 * never leaves a process behind when its `finally` or `afterAll` calls this.
 */
export async function stopBuiltApp(app: BuiltApp, graceMs = 15_000): Promise<void> {
  if (hasExited(app)) {
    return;
  }
  const exited = exitOf(app);
  app.process.kill('SIGTERM');
  const timer = setTimeout(() => app.process.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
