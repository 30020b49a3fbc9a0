// idle: CPU and memory of the supervisor itself while it supervises an idle, running simulator.
//  - ours: `luna-tray serve --no-open` (a separate Node process) with daemon.profile=simulator on free
//    ports, default health/info settings (WebSocket status feed with its keep-alive, a protocol ping
//    every 30 s while the feed delivers, ComfyUI polling at its default), daemon started with
//    `luna-tray start`;
//  - ref: bench/ref/minimal-watcher.mjs, a small Node program doing the same idle work and nothing
//    more (spawn the simulator, append its output to a file, hold the feed open with the keep-alive
//    the daemon needs, one protocol ping every 30 s): the target's reference (cpu/rss ≤ 1.3× ref);
//  - pm2 7: its God daemon (private PM2_HOME) supervising the same simulator command line
//    (information only: it does none of the health work).
// All three run AT THE SAME TIME over the same windows (so machine noise hits them alike), after a
// settle period. CPU = the run time of all the supervisor process's threads, summed from
// /proc/<pid>/task/*/schedstat (nanoseconds; never the simulator); the utime+stime figure of
// /proc/<pid>/stat (10-ms ticks, the earlier measure) is printed too. RSS = VmRSS every second.
//
// Settle (BENCH_IDLE_SETTLE_SECONDS, default 30): both processes are a few seconds old when the
// measurement could start, and V8's start-up work (tier-up compilations, the memory reducer's
// full GCs about 8 s after start: ~50 ms of CPU once for `serve`) would land in the first window.
// That is start-up cost, not idle cost: it is reported separately ("start-up" = CPU from process
// start to the first window). Windows: BENCH_RUNS consecutive windows of BENCH_IDLE_SECONDS (60)
// each; the ratios are the medians of the per-window ratios (RSS: of the per-second ratios).
// `--quick` (development only): settle 5 s, windows of 10 s.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
  threadCpuSeconds,
  track,
  waitFor,
} from './lib.mjs';
import { startServe } from './serve.mjs';

const QUICK = process.argv.includes('--quick');
const WINDOW_S = Number(process.env.BENCH_IDLE_SECONDS ?? (QUICK ? 10 : 60));
const SETTLE_MS = Number(process.env.BENCH_IDLE_SETTLE_SECONDS ?? (QUICK ? 5 : 30)) * 1000;
const REF = fileURLToPath(new URL('./ref/minimal-watcher.mjs', import.meta.url));

/** Start the reference watcher with its own simulator; resolves once its feed has delivered. */
async function startRef(logFile) {
  const ports = [await getPort(), await getPort()];
  const proc = spawn(process.execPath, [REF, SIM, String(ports[0]), String(ports[1]), logFile], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  track(proc.pid);
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  await waitFor(
    () => {
      if (proc.exitCode !== null) throw new Error(`the reference watcher exited ${proc.exitCode}`);
      return out.includes('ready');
    },
    'the reference watcher to get its first status',
    30_000,
  );
  return {
    pid: proc.pid,
    async stop() {
      proc.kill('SIGTERM'); // it SIGKILLs its simulator, then exits
      await waitFor(
        () => proc.exitCode !== null || proc.signalCode !== null,
        'the reference to exit',
        10_000,
      ).catch(() => proc.kill('SIGKILL'));
    },
  };
}

const dir = tempDir();
const pm2Home = join(dir, 'pm2-home');
process.env.PM2_HOME = pm2Home;
const pm2 = (await import('pm2')).default;
const p = (fn) => new Promise((res, rej) => fn((err, v) => (err ? rej(err) : res(v))));

let ours = null;
let ref = null;
let godPid = null;
let pm2SimPid = null;
try {
  ours = await startServe();
  console.log(`ours: serve PID ${ours.pid}, daemon PID ${ours.daemonPid}`);
  ref = await startRef(join(dir, 'ref-daemon.log'));
  console.log(`ref: minimal watcher PID ${ref.pid}`);

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
  const pids = { ours: ours.pid, ref: ref.pid, pm2: godPid };
  const cpuAll = () => ({
    ours: threadCpuSeconds(pids.ours),
    ref: threadCpuSeconds(pids.ref),
    pm2: threadCpuSeconds(pids.pm2),
  });
  // Everything the processes used from their start to here: start-up, not idle.
  const startup = cpuAll();
  console.log(
    `start-up (process start → first window, settle ${SETTLE_MS / 1000} s): ours ${r(startup.ours, 3)} CPU-s, ` +
      `ref ${r(startup.ref, 3)} CPU-s, pm2 God ${r(startup.pm2, 3)} CPU-s`,
  );
  const windows = [];
  const rss = { ours: [], ref: [], pm2: [], oursVsRef: [] };
  for (let w = 0; w < RUNS; w++) {
    const c0 = cpuAll();
    const t0 = { ours: cpuSeconds(pids.ours), pm2: cpuSeconds(pids.pm2) };
    for (let s = 0; s < WINDOW_S; s++) {
      await sleep(1000);
      const now = { ours: rssBytes(pids.ours), ref: rssBytes(pids.ref), pm2: rssBytes(pids.pm2) };
      rss.ours.push(now.ours);
      rss.ref.push(now.ref);
      rss.pm2.push(now.pm2);
      rss.oursVsRef.push(now.ours / now.ref);
    }
    const c1 = cpuAll();
    const win = {
      ours: c1.ours - c0.ours,
      ref: c1.ref - c0.ref,
      pm2: c1.pm2 - c0.pm2,
      oursTicks: cpuSeconds(pids.ours) - t0.ours,
      pm2Ticks: cpuSeconds(pids.pm2) - t0.pm2,
    };
    windows.push(win);
    console.log(
      `window ${w + 1}/${RUNS} (${WINDOW_S} s): ours ${r(win.ours, 3)} CPU-s, ref ${r(win.ref, 3)} CPU-s ` +
        `(ours/ref ${r(win.ours / win.ref, 2)}), pm2 God ${r(win.pm2, 3)} CPU-s (ours/pm2 ${r(win.ours / win.pm2, 2)}) ` +
        `(10-ms ticks: ours ${r(win.oursTicks, 2)}, pm2 ${r(win.pm2Ticks, 2)})`,
    );
  }
  if (!isAlive(ours.daemonPid) || !isAlive(pm2SimPid))
    throw new Error('a simulator died during the idle windows');
  const mib = (xs) => median(xs) / 1024 / 1024;
  const fig = (key) => ({
    cpu: median(windows.map((w) => w[key])),
    rss: mib(rss[key]),
    rssMax: Math.max(...rss[key]) / 1024 / 1024,
  });
  const o = fig('ours');
  const f = fig('ref');
  const q = fig('pm2');
  const cpuVsRef = median(windows.map((w) => w.ours / w.ref));
  const rssVsRef = median(rss.oursVsRef);
  const line = (name, x) =>
    `${name} ${r(x.cpu, 3)} CPU-s (${r((100 * x.cpu) / WINDOW_S, 3)} %), RSS median ${r(x.rss, 1)} MiB (max ${r(x.rssMax, 1)})`;
  console.log(
    `median of ${RUNS} × ${WINDOW_S} s: ${line('ours', o)}; ${line('ref', f)}; ${line('pm2 God', q)}; ` +
      `ours/ref CPU ${r(cpuVsRef, 2)}, RSS ${r(rssVsRef, 2)} (targets ≤ 1.3)${QUICK ? ' [--quick: not a recorded figure]' : ''}`,
  );
  bench('idle', {
    seconds: WINDOW_S,
    windows: RUNS,
    settle_s: SETTLE_MS / 1000,
    ours_cpu_s: o.cpu,
    ref_cpu_s: f.cpu,
    cpu_vs_ref: cpuVsRef,
    ours_rss_mib: o.rss,
    ref_rss_mib: f.rss,
    rss_vs_ref: rssVsRef,
    pm2_cpu_s: q.cpu,
    cpu_vs_pm2: median(windows.map((w) => w.ours / w.pm2)),
    pm2_rss_mib: q.rss,
    rss_vs_pm2: median(rss.ours.map((x, i) => x / rss.pm2[i])),
    ours_startup_cpu_s: startup.ours,
    ref_startup_cpu_s: startup.ref,
    quick: QUICK,
  });
} finally {
  await ours?.stop();
  await ref?.stop();
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
