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
  cluster.on('message', (worker, message: { type?: string; id: number }) => {
    if (message?.type !== REQUEST) {
      return;
    }
    aggregator.clusterMetrics().then(
      (body) => worker.send({ type: REPLY, id: message.id, body } satisfies Reply),
      (error: Error) => worker.send({ type: REPLY, id: message.id, error: error.message }),
    );
  });
}

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
