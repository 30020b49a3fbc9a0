// soak (not in CI, not part of `npm run bench`): `node bench/soak.mjs [minutes]` (default 10).
// The in-process Supervisor supervises the simulator flooding its log (--log-rate 3000 lines/s) and
// the daemon is SIGKILLed every 30 s, so it restarts through the policy again and again. Every 10 s
// we sample our RSS, V8 heap, open file descriptors (/proc/self/fd), child processes and the ring
// size. "Flat" = the last-minute median is within 15 % (RSS/heap) and ±3 (fds) of the median of
// the minute after warm-up. Prints a table and one line `BENCH soak …`.
import { readdirSync, readFileSync } from 'node:fs';

import { makeSupervisor } from './harness.mjs';
import { bench, killTracked, median, r, sleep } from './lib.mjs';

const minutes = Number(process.argv[2] ?? 10);
const SAMPLE_MS = 10_000;
const CRASH_EVERY_MS = 30_000;

const fds = () => readdirSync('/proc/self/fd').length;
const children = () =>
  readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]?.split(' ')[1] === String(process.pid);
      } catch {
        return false;
      }
    }).length;

const h = await makeSupervisor((s) => {
  s.daemon.args = ['--log-rate', '3000', '--models-after', '1'];
  s.daemon.restart.initialDelayMs = 200;
  s.daemon.restart.maxDelayMs = 1_000;
  // Each kill happens after a "stable" uptime, so the crash counter resets: no crash loop.
  s.daemon.restart.stableAfterSec = 10;
});
let crashes = 0;
const samples = [];
try {
  const started = await h.sup.start();
  if (!started.ok) throw new Error(`start failed: ${started.message}`);
  const t0 = Date.now();
  let nextCrash = t0 + CRASH_EVERY_MS;
  while (Date.now() - t0 < minutes * 60_000) {
    await sleep(Math.min(SAMPLE_MS, Math.max(0, nextCrash - Date.now())));
    if (Date.now() >= nextCrash) {
      if (h.sup.pid && h.sup.status.state === 'running') {
        process.kill(h.sup.pid, 'SIGKILL');
        crashes++;
      }
      nextCrash += CRASH_EVERY_MS;
      continue;
    }
    const mem = process.memoryUsage();
    const s = {
      t: Math.round((Date.now() - t0) / 1000),
      rssMb: mem.rss / 2 ** 20,
      heapMb: mem.heapUsed / 2 ** 20,
      fds: fds(),
      children: children(),
      ring: h.store.size,
      lastSeq: h.store.lastSeq,
      state: h.sup.status.state,
      restarts: h.sup.restarts,
    };
    samples.push(s);
    console.log(
      `t=${String(s.t).padStart(4)}s rss=${r(s.rssMb, 1)} MiB heap=${r(s.heapMb, 1)} MiB fds=${s.fds} children=${s.children} ring=${s.ring} lines=${s.lastSeq} state=${s.state} restarts=${s.restarts}`,
    );
  }
} finally {
  await h.dispose();
  killTracked();
}

const first = samples.filter((s) => s.t >= 60 && s.t < 120);
const last = samples.filter((s) => s.t >= minutes * 60 - 60);
const m = (xs, k) => median(xs.map((s) => s[k]));
const growth = (k) => m(last, k) / m(first, k) - 1;
const flat =
  growth('rssMb') < 0.15 && growth('heapMb') < 0.15 && Math.abs(m(last, 'fds') - m(first, 'fds')) <= 3;
bench('soak', {
  minutes,
  lines: samples.at(-1)?.lastSeq ?? 0,
  crashes,
  restarts: samples.at(-1)?.restarts ?? 0,
  rss_first_mb: r(m(first, 'rssMb'), 1),
  rss_last_mb: r(m(last, 'rssMb'), 1),
  heap_first_mb: r(m(first, 'heapMb'), 1),
  heap_last_mb: r(m(last, 'heapMb'), 1),
  fds_first: m(first, 'fds'),
  fds_last: m(last, 'fds'),
  max_children: Math.max(...samples.map((s) => s.children)),
  flat: flat ? 'yes' : 'no',
});
process.exit(flat ? 0 : 1);
