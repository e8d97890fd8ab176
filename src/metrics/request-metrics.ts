import type {
  Metric,
  MetricObjectWithValues,
  MetricValue,
  MetricValueWithName,
  Registry,
} from 'prom-client';

/** Latency buckets of `http_request_duration_seconds`, in seconds. */
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const;

interface Series {
  labels: { method: string; route: string; status: string };
  count: number;
  sum: number;
  /** Observations per bucket (not cumulative); the last one is +Inf. */
  buckets: Float64Array;
}

/**
 * `http_requests_total` and `http_request_duration_seconds`, kept as plain numbers per
 * (route, method, status) and turned into prom-client's form only when scraped. prom-client's own
 * Counter and Histogram build a label hash string (and an object) on every observation; here a
 * request costs three map lookups and a few additions, and a series' label object is made once,
 * the first time its route, method and status are seen. Routes are templates and statuses are
 * numbers, so the number of series is bounded by the app's routes.
 */
export class RequestMetrics {
  /** route → method → status → series */
  private readonly series = new Map<string, Map<string, Map<number, Series>>>();

  constructor(registry: Registry) {
    registry.registerMetric(
      this.metric(
        'http_requests_total',
        'counter',
        'HTTP requests answered, by method, route template and status',
        () => this.all().map((s) => ({ labels: s.labels, value: s.count })),
      ),
    );
    registry.registerMetric(
      this.metric(
        'http_request_duration_seconds',
        'histogram',
        'Time from receiving a request to answering it, by method, route template and status',
        () => this.all().flatMap((s) => histogramValues('http_request_duration_seconds', s)),
      ),
    );
  }

  observe(method: string, route: string, status: number, seconds: number): void {
    let byMethod = this.series.get(route);
    if (byMethod === undefined) {
      byMethod = new Map();
      this.series.set(route, byMethod);
    }
    let byStatus = byMethod.get(method);
    if (byStatus === undefined) {
      byStatus = new Map();
      byMethod.set(method, byStatus);
    }
    let series = byStatus.get(status);
    if (series === undefined) {
      series = {
        labels: { method, route, status: String(status) },
        count: 0,
        sum: 0,
        buckets: new Float64Array(BUCKETS.length + 1),
      };
      byStatus.set(status, series);
    }
    series.count += 1;
    series.sum += seconds;
    let bucket = 0;
    while (bucket < BUCKETS.length && seconds > BUCKETS[bucket]) {
      bucket += 1;
    }
    series.buckets[bucket] += 1;
  }

  private all(): Series[] {
    const all: Series[] = [];
    for (const byMethod of this.series.values()) {
      for (const byStatus of byMethod.values()) {
        all.push(...byStatus.values());
      }
    }
    return all;
  }

  /** What prom-client's registry (and the cluster aggregator) asks of a metric. */
  private metric(
    name: string,
    type: 'counter' | 'histogram',
    help: string,
    values: () => (MetricValue<string> | MetricValueWithName<string>)[],
  ): Metric {
    const metric = {
      name,
      help,
      type,
      aggregator: 'sum',
      get: (): MetricObjectWithValues<MetricValue<string>> =>
        ({ name, help, type, aggregator: 'sum', values: values() }) as never,
      reset: () => this.series.clear(),
    };
    return metric as unknown as Metric;
  }
}

/** A series as Prometheus' cumulative buckets (`le`), `_sum` and `_count`. */
function histogramValues(name: string, series: Series): MetricValueWithName<string>[] {
  const values: MetricValueWithName<string>[] = [];
  let cumulative = 0;
  for (let i = 0; i <= BUCKETS.length; i++) {
    cumulative += series.buckets[i];
    values.push({
      metricName: `${name}_bucket`,
      labels: { le: i < BUCKETS.length ? BUCKETS[i] : '+Inf', ...series.labels },
      value: cumulative,
    });
  }
  values.push({ metricName: `${name}_sum`, labels: series.labels, value: series.sum });
  values.push({ metricName: `${name}_count`, labels: series.labels, value: series.count });
  return values;
}
