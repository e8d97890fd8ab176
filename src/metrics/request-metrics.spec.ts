import { Counter, Histogram, Registry } from 'prom-client';
import { RequestMetrics } from './request-metrics';

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** prom-client's own Counter and Histogram under the same names: the output RequestMetrics must match. */
function reference(): {
  registry: Registry;
  observe: (m: string, r: string, s: number, v: number) => void;
} {
  const registry = new Registry();
  const labelNames = ['method', 'route', 'status'] as const;
  const counter = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by method, route template and status',
    labelNames,
    registers: [registry],
  });
  const histogram = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from receiving a request to answering it, by method, route template and status',
    labelNames,
    buckets: BUCKETS,
    registers: [registry],
  });
  return {
    registry,
    observe: (method, route, status, seconds) => {
      const labels = { method, route, status: String(status) };
      counter.inc(labels);
      histogram.observe(labels, seconds);
    },
  };
}

/** The lines of an exposition, sorted: series order within a metric carries no meaning. */
const lines = async (registry: Registry) => (await registry.metrics()).split('\n').sort();

describe(RequestMetrics.name, () => {
  it('should expose exactly what prom-client would for the same observations', async () => {
    const registry = new Registry();
    const metrics = new RequestMetrics(registry);
    const expected = reference();
    const routes = ['/protected', '/signin', 'unmatched', '/sessions/:id'];
    const methods = ['GET', 'POST', 'DELETE'];
    const statuses = [200, 201, 401, 404, 500];
    // Bucket edges exactly, and values around them, so `le` is inclusive as in prom-client.
    const values = [...BUCKETS, 0, 0.0004, 0.0011, 0.3, 3, 10, 2.5000001];
    for (let i = 0; i < 2000; i++) {
      const route = routes[i % routes.length];
      const method = methods[(i * 7) % methods.length];
      const status = statuses[(i * 13) % statuses.length];
      const seconds = i % 3 === 0 ? values[i % values.length] : Math.random() * 3;
      metrics.observe(method, route, status, seconds);
      expected.observe(method, route, status, seconds);
    }
    expect(await lines(registry)).toEqual(await lines(expected.registry));
  });

  it('should expose an empty metric before the first request, as prom-client does', async () => {
    const registry = new Registry();
    new RequestMetrics(registry);
    expect(await lines(registry)).toEqual(await lines(reference().registry));
  });
});
