// control-api-flood: `GET /luna/daemon/status` with the bearer token against `luna-tray serve` at
// concurrency 50 for 10 s per run (the control-api load generator, its own process), while the
// daemon (the simulator, `--log-rate 20000`) logs 20,000 real-format lines per second, which serve
// captures, stores, writes to its file and pushes to any log subscriber. One WebSocket client follows
// the log stream the way the panel does, so the broadcast path is loaded too. Reports p99 and errors,
// medians over RUNS runs. Target: p99 < 50 ms, no errors. For reference, each run is paired with one
// against a second `serve` whose daemon does not flood (same machine, same minutes): on a shared
// machine its p99 is the floor the flood adds to (`quiet_p99_ms`, `p99_vs_quiet` = median of the
// per-pair ratios).

import WebSocket from 'ws';

import { bench, median, percentile, r, RUNS, sleep } from './lib.mjs';
import { controlApiLoad, startServe, status } from './serve.mjs';

const CONCURRENCY = 50;
const SECONDS = Number(process.env.BENCH_API_SECONDS ?? 10);
const RATE = Number(process.env.BENCH_FLOOD_RATE ?? 20_000);

const srv = await startServe({
  extra: [['daemon.args', JSON.stringify(['--log-rate', String(RATE), '--models-after', '1'])]],
});
const quiet = await startServe();
const p99 = [];
const p50 = [];
const rps = [];
const errors = [];
const quietP99 = [];
const ratios = [];
let pushed = 0;
let ws = null;
try {
  const st = await status(srv.port, srv.token);
  console.log(`serve PID ${srv.pid}; daemon ${st.state} (PID ${st.pid}); flood ${RATE} lines/s`);
  ws = await openLogFollower(srv);
  await sleep(2000); // let the flood reach its rate
  for (let i = 0; i < RUNS; i++) {
    const q = await controlApiLoad(quiet, CONCURRENCY, SECONDS);
    quietP99.push(percentile(q.latencies_ms, 99));
    const before = await logSeq(srv);
    const out = await controlApiLoad(srv, CONCURRENCY, SECONDS);
    const after = await logSeq(srv);
    ratios.push(percentile(out.latencies_ms, 99) / quietP99[i]);
    const captured = (after - before) / out.seconds;
    errors.push(out.errors + out.statusErrors);
    rps.push(out.requests / out.seconds);
    p50.push(percentile(out.latencies_ms, 50));
    p99.push(percentile(out.latencies_ms, 99));
    console.log(
      `run ${i + 1}: ${out.requests} requests = ${r(rps[i], 0)} req/s; p50 ${r(p50[i], 2)} ms, ` +
        `p99 ${r(p99[i], 2)} ms, max ${r(
          out.latencies_ms.reduce((a, b) => Math.max(a, b), 0),
          1,
        )} ms; ` +
        `errors ${out.errors}, non-200 ${out.statusErrors}; lines captured meanwhile ${r(captured, 0)}/s | ` +
        `no flood: p99 ${r(quietP99[i], 2)} ms, ${r(q.requests / q.seconds, 0)} req/s, errors ${q.errors + q.statusErrors}`,
    );
  }
} finally {
  ws?.terminate();
  await srv.stop();
  await quiet.stop();
}
console.log(
  `medians: ${r(median(rps), 0)} req/s, p50 ${r(median(p50), 2)} ms, p99 ${r(median(p99), 2)} ms ` +
    `(target p99 < 50 ms), errors ${errors.reduce((a, b) => a + b, 0)} (target 0); log pushes received ${pushed}; ` +
    `no flood, same minutes: p99 ${r(median(quietP99), 2)} ms`,
);
bench('control-api-flood', {
  concurrency: CONCURRENCY,
  seconds: SECONDS,
  lines_per_s: RATE,
  rps: Math.round(median(rps)),
  p50_ms: median(p50),
  p99_ms: median(p99),
  errors: errors.reduce((a, b) => a + b, 0),
  quiet_p99_ms: median(quietP99),
  p99_vs_quiet: median(ratios),
  runs: RUNS,
});
process.exit(0);

/** The event WebSocket (`/api/events`), followed like the panel does; counts the log pushes. */
async function openLogFollower(s) {
  const sock = new WebSocket(`ws://127.0.0.1:${s.port}/api/events`, {
    headers: { authorization: `Bearer ${s.token}` },
  });
  sock.on('message', (d) => {
    if (d.toString('utf8', 0, 40).includes('"logs:appended"')) pushed++;
  });
  await new Promise((res, rej) => {
    sock.once('open', res);
    sock.once('error', rej);
  });
  return sock;
}

/** The newest log seq serve holds (`GET /luna/daemon/logs?limit=1`). */
async function logSeq(s) {
  const res = await fetch(`http://127.0.0.1:${s.port}/luna/daemon/logs?limit=1`, {
    headers: { authorization: `Bearer ${s.token}` },
  });
  if (!res.ok) throw new Error(`GET /luna/daemon/logs: ${res.status}`);
  const body = await res.json();
  return body.value.lastSeq;
}
