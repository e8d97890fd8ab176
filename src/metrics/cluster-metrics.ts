import cluster from 'node:cluster';
import { AggregatorRegistry, Registry } from 'prom-client';

const REQUEST = 'nest-jwt-auth:metrics-request';
const REPLY = 'nest-jwt-auth:metrics-reply';

interface Reply {
  type: typeof REPLY;
  id: number;
  body?: string;
  error?: string;
}

/**
 * Cluster mode: workers share one port, so a scrape reaches any one of them. The primary therefore
 * gathers every worker's registry (prom-client's AggregatorRegistry, over IPC) and the worker that
 * received the scrape answers with the sum. Called once in the primary.
 */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  // Scrapes that arrive together share one round of collection.
  let collecting: Promise<string> | undefined;
  cluster.on('message', (worker, message: { type?: string; id: number }) => {
    if (message?.type !== REQUEST) {
      return;
    }
    collecting ??= aggregator.clusterMetrics().finally(() => (collecting = undefined));
    const reply = (answer: Omit<Reply, 'type' | 'id'>) => {
      // The asking worker may have exited meanwhile: a failed send is reported to the callback,
      // never thrown at the primary.
      if (worker.isConnected()) {
        worker.send({ type: REPLY, id: message.id, ...answer }, () => undefined);
      }
    };
    collecting.then(
      (body) => reply({ body }),
      (error: Error) => reply({ error: error.message }),
    );
  });
}

/** Set by cluster.ts on the workers it forks (other process managers use node:cluster too). */
const WORKER_FLAG = 'NEST_JWT_AUTH_CLUSTER_WORKER';

/** Environment for a worker forked by cluster.ts. */
export const clusterWorkerEnv = () => ({ [WORKER_FLAG]: '1' });

/** True in a worker of cluster.ts, whose primary answers metrics requests. */
export const inClusterWorker = () => cluster.isWorker && process.env[WORKER_FLAG] === '1';

/** In a worker: answer the primary's collection requests from `registry`. */
export function joinClusterMetrics(registry: Registry): void {
  new AggregatorRegistry(); // installs prom-client's worker-side listener
  AggregatorRegistry.setRegistries([registry]);
}

let nextId = 0;

/** In a worker: the metrics of all workers, summed by the primary. */
export function clusterMetrics(timeoutMs = 6000): Promise<string> {
  const id = ++nextId;
  return new Promise((done, fail) => {
    const timer = setTimeout(() => {
      process.off('message', listen);
      fail(new Error('the cluster primary did not answer'));
    }, timeoutMs);
    const listen = (message: Reply) => {
      if (message?.type !== REPLY || message.id !== id) {
        return;
      }
      clearTimeout(timer);
      process.off('message', listen);
      if (message.body === undefined) {
        fail(new Error(message.error ?? 'no metrics'));
      } else {
        done(message.body);
      }
    };
    process.on('message', listen);
    process.send!({ type: REQUEST, id });
  });
}
