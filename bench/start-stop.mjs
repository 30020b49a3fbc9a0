// start-stop: the Supervisor starting and stopping the simulator.
//  - ready → running: from the moment the simulator's `Luna Daemon Ready!` entry reaches our log
//    store to the `running` status event (target < 150 ms median);
//  - total start: from sup.start() to `running` (pre-flight probe, python check, spawn, readiness ping);
//  - graceful stop: from sup.stop() to the `stopped` status (protocol shutdown, wait for exit and for
//    the port to be released), against the daemon's OWN shutdown measured in the same run: a bare
//    simulator sent `shutdown` directly (LunaClient), timed until its process exits.
//    Target: ours < own + 200 ms.
import { performance } from 'node:perf_hooks';

import { bench, exited, getPort, median, r, RUNS, sleep, spawnSim, waitFor } from './lib.mjs';
import { LunaClient, makeSupervisor } from './harness.mjs';

async function ownShutdown() {
  const port = await getPort();
  const child = spawnSim(['--port', String(port), '--ws-port', String(await getPort())]);
  let out = '';
  child.stderr.on('data', (d) => (out += d));
  await waitFor(() => out.includes('Luna Daemon Ready!'), 'the bare simulator to be ready');
  await sleep(200);
  const gone = exited(child);
  const t0 = performance.now();
  await new LunaClient({ host: '127.0.0.1', port }).shutdown({ timeoutMs: 5_000 });
  await gone;
  return performance.now() - t0;
}

const h = await makeSupervisor();
const { sup, store, nextStatus } = h;
let readyAt = null;
store.subscribe((entries) => {
  if (readyAt === null && entries.some((e) => e.text.includes('Luna Daemon Ready!')))
    readyAt = performance.now();
});

const readyToRunning = [];
const totalStart = [];
const stopWall = [];
const own = [];
try {
  for (let i = 0; i < RUNS; i++) {
    readyAt = null;
    const running = nextStatus((s) => s.state === 'running' || s.state === 'failed');
    const t0 = performance.now();
    const res = await sup.start();
    const ev = await running;
    if (!res.ok || ev.status.state !== 'running') throw new Error(`start failed: ${res.message}`);
    readyToRunning.push(ev.at - readyAt);
    totalStart.push(ev.at - t0);
    await sleep(300);
    const stopped = nextStatus((s) => s.state === 'stopped' || s.state === 'failed');
    const t1 = performance.now();
    const st = await sup.stop();
    const sev = await stopped;
    if (!st.ok || sev.status.state !== 'stopped') throw new Error(`stop failed: ${st.message}`);
    stopWall.push(sev.at - t1);
    own.push(await ownShutdown());
    console.log(
      `run ${i + 1}: ready→running ${r(readyToRunning[i], 1)} ms, total start ${r(totalStart[i], 0)} ms, ` +
        `stop ${r(stopWall[i], 0)} ms (${st.message}), daemon's own shutdown ${r(own[i], 0)} ms`,
    );
  }
} finally {
  await h.dispose();
}
const rr = median(readyToRunning);
const ts = median(totalStart);
const sw = median(stopWall);
const ow = median(own);
console.log(
  `medians: ready→running ${r(rr, 1)} ms (target < 150), total start ${r(ts, 0)} ms, ` +
    `stop ${r(sw, 0)} ms vs daemon's own ${r(ow, 0)} ms: +${r(sw - ow, 0)} ms (target < +200 ms)`,
);
bench('start-stop', {
  ready_to_running_ms: rr,
  total_start_ms: ts,
  stop_ms: sw,
  own_shutdown_ms: ow,
  stop_overhead_ms: sw - ow,
  runs: RUNS,
});
process.exit(0);
