/**
 * The bench's load generator: wrk (Debian's `wrk`), one thread on a core of its own, with the CPU
 * time it used and the server used during the run, so a report can tell when the load generator
 * and not the server was the limit.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

export interface LoadRequest {
  method?: string;
  path: string;
  body?: string;
  /** Access tokens sent in turn as `Authorization: Bearer`, one per request. */
  tokens?: string[];
}

export interface LoadFigures {
  rps: number;
  /** Latency percentiles in milliseconds. */
  p50: number;
  p99: number;
  /** Answers with status >= 400, and connection errors and timeouts. */
  errors: number;
  requests: number;
  /** CPU used during the run as a fraction of one core: the server's and wrk's. */
  serverCpu: number;
  loadCpu: number;
}

/** Where processes go: the server on the first core and wrk on the second, when there are two. */
export const PINNING = (() => {
  const tasksetWorks = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
  return tasksetWorks && cpus().length >= 2
    ? { server: '0', load: '1', description: 'server on core 0, wrk on core 1 (taskset)' }
    : {
        server: undefined,
        load: undefined,
        description: 'not pinned (taskset or a second core missing)',
      };
})();

/**
 * Moves every thread of a running server to `cores` (taskset's list), or to every core when
 * undefined: sign-ins hash on libuv's thread pool, and pinned to one core those threads would
 * compete with the event loop.
 */
export function repin(pid: number, cores: string | undefined): void {
  if (PINNING.server) {
    const list = cores ?? `0-${cpus().length - 1}`;
    spawnSync('taskset', ['-a', '-p', '-c', list, String(pid)], { stdio: 'ignore' });
  }
}

export function requireWrk(): void {
  if (spawnSync('wrk', ['-v']).error) {
    throw new Error('the bench drives load with wrk: install it first (apt-get install wrk)');
  }
}

const TICKS_PER_SECOND = 100;

/** User plus system CPU time of a process so far, in seconds. */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat; `fields` starts at field 3.
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

const lua = (value: string) => JSON.stringify(value);

function script(request: LoadRequest): string {
  const method = request.method ?? 'GET';
  const headers: Record<string, string> = request.body
    ? { 'Content-Type': 'application/json' }
    : {};
  const formatted = (extra: Record<string, string>) => {
    const all = { ...headers, ...extra };
    const table = Object.entries(all)
      .map(([name, value]) => `[${lua(name)}] = ${lua(value)}`)
      .join(', ');
    return `wrk.format(${lua(method)}, ${lua(request.path)}, { ${table} }, ${request.body ? lua(request.body) : 'nil'})`;
  };
  const variants = (request.tokens ?? [undefined]).map((token) =>
    formatted(token ? { Authorization: `Bearer ${token}` } : {}),
  );
  return `
local requests = {}
local count = 0
local next = 0
init = function(args)
${variants.map((v) => `  count = count + 1; requests[count] = ${v}`).join('\n')}
end
request = function()
  next = next % count + 1
  return requests[next]
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK_RESULT %d %d %d %d %d %d\\n', summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.status, e.connect + e.read + e.write + e.timeout))
end
`;
}

/**
 * Runs wrk against `base` for `seconds` with `connections`, and measures the CPU the server
 * process (`serverPid`) and wrk used meanwhile.
 */
export async function wrkLoad(
  base: string,
  request: LoadRequest,
  options: { connections: number; seconds: number; serverPid: number },
): Promise<LoadFigures> {
  const file = join(tmpdir(), `bench-${process.pid}-${Math.random().toString(36).slice(2)}.lua`);
  writeFileSync(file, script(request));
  const wrk = [
    ...(PINNING.load ? ['taskset', '-c', PINNING.load] : []),
    'wrk',
    '-t1',
    `-c${options.connections}`,
    `-d${options.seconds}s`,
    '--timeout',
    '10s',
    '-s',
    file,
    base,
  ];
  // The shell reads its children's CPU time (wrk's, once it has been waited for) from its own stat.
  const shell = `"$@"; read -r stat < /proc/$$/stat; echo "SHELL_STAT $stat"`;
  const serverBefore = cpuSecondsOf(options.serverPid);
  const started = performance.now();
  try {
    const output = await new Promise<string>((done, fail) => {
      const child = spawn('sh', ['-c', shell, 'sh', ...wrk], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.on('error', fail);
      child.on('exit', (code) =>
        code === 0 ? done(out) : fail(new Error(`wrk failed (${code}): ${out}`)),
      );
    });
    const wall = (performance.now() - started) / 1000;
    const serverCpu = (cpuSecondsOf(options.serverPid) - serverBefore) / wall;
    const result = /WRK_RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)/.exec(output);
    const stat = /SHELL_STAT .*\) (.*)/.exec(output);
    if (!result || !stat) {
      throw new Error(`wrk printed no result: ${output}`);
    }
    const [requests, durationUs, p50Us, p99Us, status, socket] = result.slice(1).map(Number);
    const shellFields = stat[1].trim().split(' ');
    // cutime and cstime are fields 16 and 17 of stat; `shellFields` starts at field 3.
    const loadSeconds = (Number(shellFields[13]) + Number(shellFields[14])) / TICKS_PER_SECOND;
    return {
      rps: requests / (durationUs / 1e6),
      p50: p50Us / 1000,
      p99: p99Us / 1000,
      errors: status + socket,
      requests,
      serverCpu,
      loadCpu: loadSeconds / (durationUs / 1e6),
    };
  } finally {
    rmSync(file, { force: true });
  }
}
