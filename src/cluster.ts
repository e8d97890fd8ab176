import cluster, { Worker } from 'node:cluster';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import pino from 'pino';
import { ConfigError } from './config/config.error';
import { loadDatabaseConfig, loadRedisConfig } from './config/configuration';
import { EnvReader } from './config/env-reader';
import { clusterWorkerEnv, serveClusterMetrics } from './metrics/cluster-metrics';

/**
 * `npm run start:cluster`: one worker per core (WEB_CONCURRENCY to choose), all serving the same
 * port through node:cluster. Every worker is a full instance, so the rules of several instances
 * apply: PostgreSQL (DATABASE_URL) is required, and Redis (REDIS_URL) keeps rate limits shared.
 * A worker that dies is replaced; SIGTERM or SIGINT stops every worker gracefully, then the primary.
 */
const logger = pino({ base: { pid: process.pid, context: 'Cluster' } });

/** The same `.env` the workers read (through ConfigModule), so both see the same settings. */
function loadEnvFile(): void {
  if (existsSync('.env') && process.env.NODE_ENV !== 'test') {
    process.loadEnvFile('.env');
  }
}

function workerCount(): number {
  const count = new EnvReader(process.env).int('WEB_CONCURRENCY', availableParallelism(), 1, 256);
  // The loaders are pure: reading them here checks the URLs before any worker starts.
  if (count > 1 && loadDatabaseConfig(process.env).url === undefined) {
    throw new ConfigError(
      'WEB_CONCURRENCY',
      'above 1 needs DATABASE_URL: a SQLite file serves one process, so run `npm start` instead',
    );
  }
  if (count > 1 && loadRedisConfig(process.env).url === undefined) {
    logger.warn('REDIS_URL is not set: each worker keeps its own rate-limit counters');
  }
  return count;
}

function runPrimary(): void {
  let count: number;
  try {
    loadEnvFile();
    count = workerCount();
  } catch (error) {
    logger.error((error as Error).message);
    process.exit(1);
  }
  let stopping = false;
  const fork = (): Worker => cluster.fork(clusterWorkerEnv());
  serveClusterMetrics();
  for (let i = 0; i < count; i++) {
    fork();
  }
  logger.info(`Started ${count} workers`);

  let recentDeaths: number[] = [];
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        logger.info('All workers stopped');
        process.exit(0);
      }
      return;
    }
    logger.error(`Worker ${worker.process.pid} exited (${signal ?? code}); starting another`);
    // A worker that cannot start (bad configuration) would otherwise be restarted for ever.
    const now = Date.now();
    recentDeaths = [...recentDeaths.filter((at) => now - at < 10_000), now];
    if (recentDeaths.length > count * 3) {
      logger.error('Workers keep dying at start-up; giving up');
      process.exit(1);
    }
    fork();
  });

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      return;
    }
    stopping = true;
    logger.info(`${signal}: stopping the workers`);
    for (const worker of Object.values(cluster.workers ?? {})) {
      worker?.process.kill(signal);
    }
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (cluster.isPrimary) {
  runPrimary();
} else {
  void import('./main');
}
