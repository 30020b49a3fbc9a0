// idle: CPU and memory of the supervisor itself while it supervises an idle, running simulator.
//  - ours: `luna-tray serve --no-open` (a separate Node process) with daemon.profile=simulator on free
//    ports, default health/info settings (ping every 2 s, WebSocket status feed at 1 Hz, ComfyUI
//    polling at its default), daemon started with `luna-tray start`;
//  - pm2 7: its God daemon (private PM2_HOME) supervising the same simulator command line.
// Both run AT THE SAME TIME over the same windows (so machine noise hits both alike), after a
// settle period. CPU = the run time of all the supervisor process's threads, summed from
// /proc/<pid>/task/*/schedstat (nanoseconds; never the simulator); the utime+stime figure of
// /proc/<pid>/stat (10-ms ticks, the earlier measure) is printed too. RSS = VmRSS every second.
//
// Settle (BENCH_IDLE_SETTLE_SECONDS, default 30): both processes are a few seconds old when the
// measurement could start, and V8's start-up work (tier-up compilations, the memory reducer's
// full GCs about 8 s after start: ~50 ms of CPU once for `serve`) would land in the first window.
// That is start-up cost, not idle cost: it is reported separately ("start-up" = CPU from process
// start to the first window). Windows: BENCH_RUNS consecutive windows of BENCH_IDLE_SECONDS (60)
// each; the BENCH line has the medians.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  bench,
  cpuSeconds,
  getPort,
  isAlive,
  median,
  r,
  rssBytes,
  RUNS,
  SIM,
  sleep,
  tempDir,
  track,
  waitFor,
} from './lib.mjs';
import { startServe } from './serve.mjs';

const WINDOW_S = Number(process.env.BENCH_IDLE_SECONDS ?? 60);
const SETTLE_MS = Number(process.env.BENCH_IDLE_SETTLE_SECONDS ?? 30) * 1000;

/** CPU seconds of all threads of `pid` (schedstat run time, ns resolution). */
function threadCpuSeconds(pid) {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread exited meanwhile
    }
  }
  return ns / 1e9;
}

const dir = tempDir();
const pm2Home = join(dir, 'pm2-home');
process.env.PM2_HOME = pm2Home;
const pm2 = (await import('pm2')).default;
const p = (fn) => new Promise((res, rej) => fn((err, v) => (err ? rej(err) : res(v))));

let ours = null;
let godPid = null;
let pm2SimPid = null;
try {
  ours = await startServe();
  console.log(`ours: serve PID ${ours.pid}, daemon PID ${ours.daemonPid}`);

  await p((cb) => pm2.connect(cb));
  godPid = Number(readFileSync(join(pm2Home, 'pm2.pid'), 'utf8'));
  track(godPid);
  const simPorts = [await getPort(), await getPort()];
  await p((cb) =>
    pm2.start(
      {
        script: SIM,
        interpreter: 'python3',
        args: ['--port', String(simPorts[0]), '--ws-port', String(simPorts[1])],
        name: 'idle-sim',
        out_file: join(dir, 'pm2.out.log'),
        error_file: join(dir, 'pm2.err.log'),
        merge_logs: true,
      },
      cb,
    ),
  );
  pm2SimPid = (await p((cb) => pm2.describe('idle-sim', cb)))[0]?.pid;
  track(pm2SimPid);
  // The pm2 client keeps a connection to God; disconnect so our polling adds no RPC load.
  pm2.disconnect();
  console.log(`pm2: God PID ${godPid}, simulator PID ${pm2SimPid}`);
  await waitFor(
    () => readFileSync(join(dir, 'pm2.err.log'), 'utf8').includes('Luna Daemon Ready!'),
    'pm2: simulator ready',
  );

  await sleep(SETTLE_MS);
  // Everything both processes used from their start to here: start-up, not idle.
  const startup = { ours: threadCpuSeconds(ours.pid), pm2: threadCpuSeconds(godPid) };
  console.log(
    `start-up (process start → first window, settle ${SETTLE_MS / 1000} s): ours ${r(startup.ours, 3)} CPU-s, pm2 God ${r(startup.pm2, 3)} CPU-s`,
  );
  const windows = [];
  const rss = { ours: [], pm2: [] };
  for (let w = 0; w < RUNS; w++) {
    const c0 = { ours: threadCpuSeconds(ours.pid), pm2: threadCpuSeconds(godPid) };
    const t0 = { ours: cpuSeconds(ours.pid), pm2: cpuSeconds(godPid) };
    for (let s = 0; s < WINDOW_S; s++) {
      await sleep(1000);
      rss.ours.push(rssBytes(ours.pid));
      rss.pm2.push(rssBytes(godPid));
    }
    const win = {
      ours: threadCpuSeconds(ours.pid) - c0.ours,
      pm2: threadCpuSeconds(godPid) - c0.pm2,
      oursTicks: cpuSeconds(ours.pid) - t0.ours,
      pm2Ticks: cpuSeconds(godPid) - t0.pm2,
    };
    windows.push(win);
    console.log(
      `window ${w + 1}/${RUNS} (${WINDOW_S} s): ours ${r(win.ours, 3)} CPU-s, pm2 God ${r(win.pm2, 3)} CPU-s, ` +
        `ratio ${r(win.ours / win.pm2, 2)} (10-ms ticks: ours ${r(win.oursTicks, 2)}, pm2 ${r(win.pm2Ticks, 2)})`,
    );
  }
  if (!isAlive(ours.daemonPid) || !isAlive(pm2SimPid))
    throw new Error('a simulator died during the idle windows');
  const mib = (xs) => median(xs) / 1024 / 1024;
  const o = {
    cpu: median(windows.map((w) => w.ours)),
    rss: mib(rss.ours),
    rssMax: Math.max(...rss.ours) / 1024 / 1024,
  };
  const q = {
    cpu: median(windows.map((w) => w.pm2)),
    rss: mib(rss.pm2),
    rssMax: Math.max(...rss.pm2) / 1024 / 1024,
  };
  console.log(
    `median of ${RUNS} × ${WINDOW_S} s: ours ${r(o.cpu, 3)} CPU-s (${r((100 * o.cpu) / WINDOW_S, 3)} %), RSS median ${r(o.rss, 1)} MiB (max ${r(o.rssMax, 1)}); ` +
      `pm2 God ${r(q.cpu, 3)} CPU-s (${r((100 * q.cpu) / WINDOW_S, 3)} %), RSS median ${r(q.rss, 1)} MiB (max ${r(q.rssMax, 1)})`,
  );
  bench('idle', {
    seconds: WINDOW_S,
    windows: RUNS,
    settle_s: SETTLE_MS / 1000,
    ours_cpu_s: o.cpu,
    pm2_cpu_s: q.cpu,
    cpu_vs_pm2: q.cpu > 0 ? o.cpu / q.cpu : NaN,
    ours_startup_cpu_s: startup.ours,
    pm2_startup_cpu_s: startup.pm2,
    ours_rss_mib: o.rss,
    pm2_rss_mib: q.rss,
    rss_vs_pm2: o.rss / q.rss,
  });
} finally {
  await ours?.stop();
  if (godPid) {
    await p((cb) => pm2.connect(cb)).catch(() => undefined);
    await p((cb) => pm2.killDaemon(cb)).catch(() => undefined);
    pm2.disconnect();
    await waitFor(() => !isAlive(godPid), 'the pm2 daemon to exit', 10_000).catch(() =>
      process.kill(godPid, 'SIGKILL'),
    );
  }
  if (pm2SimPid && isAlive(pm2SimPid)) process.kill(pm2SimPid, 'SIGKILL');
}
process.exit(0);
