import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort, ROOT } from './built-app';

export interface Nginx {
  base: string;
  process: ChildProcess;
  dir: string;
  stop(): Promise<void>;
}

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((path) => existsSync(path));

/**
 * The documented configuration (docs/forward-auth/nginx.conf) with this run's ports, inside an
 * `http` block of the run's own: nginx runs unprivileged-friendly from `dir`, on loopback only.
 */
function configFor(dir: string, ports: { listen: number; auth: number; app: number }): string {
  const documented = readFileSync(join(ROOT, 'docs/forward-auth/nginx.conf'), 'utf8')
    .replace('server 127.0.0.1:3000;', `server 127.0.0.1:${ports.auth};`)
    .replace('server 127.0.0.1:8080;', `server 127.0.0.1:${ports.app};`)
    .replace('listen 8000;', `listen 127.0.0.1:${ports.listen};`);
  if (!documented.includes(`127.0.0.1:${ports.listen}`)) {
    throw new Error('docs/forward-auth/nginx.conf no longer has the lines this test replaces');
  }
  const temp = (name: string) => `${name}_temp_path ${join(dir, name)};`;
  return `daemon off;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 256; }
http {
  access_log off;
  ${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temp).join('\n  ')}
${documented}
}
`;
}

const listening = (port: number) =>
  new Promise<boolean>((done) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });

/**
 * Starts Debian's nginx with the documented forward-auth configuration in front of the service
 * (`authPort`) and the app (`appPort`). Fails, with nginx's own error log, when it cannot start.
 */
export async function startNginx(dir: string, authPort: number, appPort: number): Promise<Nginx> {
  if (!NGINX) {
    throw new Error('nginx is not installed: apt-get install nginx (.ci/run installs it)');
  }
  mkdirSync(dir, { recursive: true });
  const listen = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, configFor(dir, { listen, auth: authPort, app: appPort }));
  const child = spawn(NGINX, ['-c', conf, '-p', dir, '-e', join(dir, 'error.log')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const deadline = Date.now() + 15_000;
  while (!(await listening(listen))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      const log = existsSync(join(dir, 'error.log'))
        ? readFileSync(join(dir, 'error.log'), 'utf8')
        : '';
      throw new Error(`nginx did not start (exit ${child.exitCode}):\n${stderr}\n${log}`);
    }
    await new Promise((done) => setTimeout(done, 50));
  }
  return {
    base: `http://127.0.0.1:${listen}`,
    process: child,
    dir,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) {
          done();
          return;
        }
        child.once('exit', () => done());
        // QUIT: a graceful stop of the master and its worker.
        child.kill('SIGQUIT');
      }),
  };
}
