import { ChildProcessByStdio, spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { ROOT } from './built-app';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The newest modification time of any file under `dir`. */
function newest(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((latest, entry) => {
    const path = join(dir, entry.name);
    return Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }, 0);
}

/**
 * How to start the CLI as `npm run cli` does: the build when it is newer than every source file
 * (about a second a command), otherwise the source through ts-node (a few seconds, no build).
 */
function entry(): string[] {
  const built = join(ROOT, 'dist/cli.js');
  try {
    if (statSync(built).mtimeMs >= newest(join(ROOT, 'src'))) {
      return [built];
    }
  } catch {
    // Not built.
  }
  return ['-r', 'ts-node/register/transpile-only', join(ROOT, 'src/cli.ts')];
}

/** Starts one CLI command in a child process with `env` (the database, the secrets). */
export function spawnCli(
  args: string[],
  env: Record<string, string>,
): ChildProcessByStdio<null, Readable, Readable> {
  return spawn(process.execPath, [...entry(), ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs one CLI command in a child process and waits for it to end. */
export function runCli(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<CliResult> {
  return new Promise((done, fail) => {
    const child = spawnCli(args, env);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`cli ${args.join(' ')} did not finish in ${timeoutMs} ms:\n${stderr}`));
    }, timeoutMs);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}
