// crash-detection: how fast the Supervisor notices the daemon dying or hanging.
//  - crash: SIGKILL the simulator → our `status` event `backoff`; 50 runs (the restart policy is set
//    to restart at once: initialDelayMs 0, stableAfterSec 0), measured from just before
//    process.kill to the event. Target: median < 20 ms.
//  - hang: SIGSTOP the simulator → `unresponsive`, with health.intervalSec 0.5 ×
//    failuresBeforeUnresponsive 2 and pingTimeoutMs 250. A ping is sent every interval (none while
//    one is pending), so the second failure lands between (failures-1)·interval + timeout and
//    failures·interval + timeout after the stop, depending on the phase of the ping timer.
import { bench, median, percentile, r, RUNS, sleep } from './lib.mjs';
import { makeSupervisor } from './harness.mjs';

const CRASH_RUNS = Number(process.env.BENCH_CRASH_RUNS ?? 50);
const HANG_RUNS = Math.max(RUNS, 5);
const INTERVAL_S = 0.5;
const FAILURES = 2;
const PING_TIMEOUT_MS = 250;

const h = await makeSupervisor((s) => {
  s.daemon.restart.initialDelayMs = 0;
  s.daemon.restart.stableAfterSec = 0;
  s.daemon.restart.maxQuickCrashes = 100;
  s.daemon.health.intervalSec = INTERVAL_S;
  s.daemon.health.failuresBeforeUnresponsive = FAILURES;
  s.daemon.health.pingTimeoutMs = PING_TIMEOUT_MS;
});
const { sup, nextStatus } = h;

try {
  const started = await sup.start();
  if (!started.ok) throw new Error(`start failed: ${started.message}`);

  // ---- crash ----
  const crash = [];
  for (let i = 0; i < CRASH_RUNS; i++) {
    if (sup.status.state !== 'running') await nextStatus((s) => s.state === 'running');
    await sleep(100); // let the watchers (health timer, WS feed) settle, as in real life
    const pid = sup.pid;
    const backoff = nextStatus((s) => s.state === 'backoff' || s.state === 'failed');
    const t0 = performance.now();
    process.kill(pid, 'SIGKILL');
    const ev = await backoff;
    if (ev.status.state !== 'backoff') throw new Error(`expected backoff, got ${ev.status.state}`);
    crash.push(ev.at - t0);
  }
  const cMed = median(crash);
  const cP99 = percentile(crash, 99);
  console.log(
    `crash → backoff over ${CRASH_RUNS} runs: median ${r(cMed, 1)} ms, p99 ${r(cP99, 1)} ms, ` +
      `min ${r(Math.min(...crash), 1)}, max ${r(Math.max(...crash), 1)} ms (target median < 20 ms)`,
  );

  // ---- hang ----
  const hang = [];
  const lo = (FAILURES - 1) * INTERVAL_S * 1000 + PING_TIMEOUT_MS;
  const hi = FAILURES * INTERVAL_S * 1000 + PING_TIMEOUT_MS;
  for (let i = 0; i < HANG_RUNS; i++) {
    if (sup.status.state !== 'running') await nextStatus((s) => s.state === 'running');
    // A random phase relative to the ping timer, so the runs sample the whole expected window.
    await sleep(200 + Math.random() * INTERVAL_S * 1000);
    const pid = sup.pid;
    const unresponsive = nextStatus(
      (s) => s.state === 'unresponsive' || s.state === 'backoff' || s.state === 'failed',
    );
    const t0 = performance.now();
    process.kill(pid, 'SIGSTOP');
    const ev = await unresponsive;
    hang.push(ev.at - t0);
    if (ev.status.state !== 'unresponsive')
      console.log(`  hang run ${i + 1}: got ${ev.status.state} instead of unresponsive`);
    // restartUnresponsive kills it (SIGKILL works on a stopped process) and restarts it; make sure.
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // already killed by the supervisor
    }
  }
  const hMed = median(hang);
  console.log(
    `hang (SIGSTOP) → unresponsive over ${HANG_RUNS} runs: ${hang.map((x) => r(x, 0)).join(', ')} ms; median ${r(hMed, 0)} ms; ` +
      `expected ${lo}–${hi} ms (interval ${INTERVAL_S} s × ${FAILURES} failures, ping timeout ${PING_TIMEOUT_MS} ms)`,
  );
  const inWindow = hang.filter((x) => x >= lo - 5 && x <= hi + 50).length;
  bench('crash-detection', {
    crash_median_ms: cMed,
    crash_p99_ms: cP99,
    crash_runs: CRASH_RUNS,
    hang_median_ms: hMed,
    hang_max_ms: Math.max(...hang),
    hang_expected_lo_ms: lo,
    hang_expected_hi_ms: hi,
    hang_in_window: `${inWindow}/${HANG_RUNS}`,
  });
} finally {
  await h.dispose();
}
process.exit(0);
