// control-api: `GET /luna/daemon/status` with the bearer token against `luna-tray serve` (daemon
// running on the simulator), at concurrency 50 for 10 s per run, from a separate load-generator
// process (bench/control-api-load.mjs, undici Pool). Reports requests/s and p99 latency, medians
// over RUNS runs. Target: p99 < 20 ms.

import { bench, median, percentile, r, RUNS } from './lib.mjs';
import { controlApiLoad, startServe, status } from './serve.mjs';

const CONCURRENCY = 50;
const SECONDS = Number(process.env.BENCH_API_SECONDS ?? 10);

const srv = await startServe();
const rps = [];
const p50 = [];
const p99 = [];
try {
  const st = await status(srv.port, srv.token);
  console.log(`serve PID ${srv.pid}; daemon ${st.state} (PID ${st.pid})`);
  for (let i = 0; i < RUNS; i++) {
    const out = await controlApiLoad(srv, CONCURRENCY, SECONDS);
    if (out.errors > 0 || out.statusErrors > 0)
      console.log(`  run ${i + 1}: ${out.errors} errors, ${out.statusErrors} non-200`);
    rps.push(out.requests / out.seconds);
    p50.push(percentile(out.latencies_ms, 50));
    p99.push(percentile(out.latencies_ms, 99));
    console.log(
      `run ${i + 1}: ${out.requests} requests in ${r(out.seconds, 2)} s = ${r(rps[i], 0)} req/s; ` +
        `p50 ${r(p50[i], 2)} ms, p99 ${r(p99[i], 2)} ms, max ${r(
          out.latencies_ms.reduce((a, b) => Math.max(a, b), 0),
          1,
        )} ms`,
    );
  }
} finally {
  await srv.stop();
}
console.log(
  `medians: ${r(median(rps), 0)} req/s, p50 ${r(median(p50), 2)} ms, p99 ${r(median(p99), 2)} ms (target p99 < 20 ms)`,
);
bench('control-api', {
  concurrency: CONCURRENCY,
  seconds: SECONDS,
  rps: Math.round(median(rps)),
  p50_ms: median(p50),
  p99_ms: median(p99),
  runs: RUNS,
});
process.exit(0);
