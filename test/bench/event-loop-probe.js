// Preloaded into the app by the benchmark (node -r): records event-loop delay and, on SIGUSR2,
// writes its percentiles to BENCH_ELD_FILE and starts a new window; on SIGWINCH (with
// --expose-gc) runs a full garbage collection and writes the RSS afterwards to BENCH_RSS_FILE,
// so that a leak check compares retained memory, not a point on the collector's sawtooth. Not
// part of the service.
'use strict';
const { monitorEventLoopDelay } = require('node:perf_hooks');
const { writeFileSync } = require('node:fs');

const file = process.env.BENCH_ELD_FILE;
if (file) {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  process.on('SIGUSR2', () => {
    const ms = (ns) => Math.round((ns / 1e6) * 100) / 100;
    writeFileSync(
      file,
      JSON.stringify({
        p50: ms(histogram.percentile(50)),
        p99: ms(histogram.percentile(99)),
        max: ms(histogram.max),
      }),
    );
    histogram.reset();
  });
}

const rssFile = process.env.BENCH_RSS_FILE;
if (rssFile && typeof global.gc === 'function') {
  process.on('SIGWINCH', () => {
    global.gc();
    writeFileSync(rssFile, JSON.stringify({ rss: process.memoryUsage().rss }));
  });
}
