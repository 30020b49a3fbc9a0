// multi-daemon: what each added daemon costs `luna-tray serve` (issue 17, "Cost that grows gently").
//  - Three `serve --no-open` processes (the built CLI) supervise 1, 4 and 16 simulators: settings v2
//    `daemons` list, profile simulator, every daemon on free ports, default health/info settings,
//    each started with POST /luna/daemons/<id>/start.
//  - Idle: the three run AT THE SAME TIME over the same windows (machine noise hits them alike),
//    after a settle. CPU = the run time of all of serve's threads (/proc/<pid>/task/*/schedstat,
//    never the simulators); RSS = VmRSS every second. No event client is connected while idle
//    (as bench/idle.mjs: a panel would add its own cost). cpu_per_extra_vs_first for N is
//    (cpu(N) − cpu(1)) / (N − 1) / cpu(1), the median of the per-window values. Target ≤ 0.25.
//  - Crash detection, per daemon: with the event WebSocket (/api/events) connected, SIGKILL one
//    simulator by PID and time until a `daemons:changed` event shows that daemon out of `running`
//    (restart at once: initialDelayMs 0, stableAfterSec 0, so the next kill finds it running
//    again). Every daemon of the fleet is killed at least once (round-robin, ≥ CRASH_KILLS kills).
//    The other daemons must stay running meanwhile (isolation). Target: detect_ms_16 ≈ detect_ms_1.
// Environment: BENCH_MD_SETTLE_SECONDS (10), BENCH_MD_WINDOW_SECONDS (15), BENCH_MD_WINDOWS (5),
// BENCH_MD_KILLS (8). The whole benchmark takes about 3–4 minutes.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import WebSocket from 'ws';

import {
  bench,
  CLI,
  getPort,
  isAlive,
  median,
  r,
  rssBytes,
  run,
  sleep,
  tempDir,
  threadCpuSeconds,
  track,
  waitFor,
} from './lib.mjs';

const COUNTS = [1, 4, 16];
const SETTLE_MS = Number(process.env.BENCH_MD_SETTLE_SECONDS ?? 10) * 1000;
const WINDOW_S = Number(process.env.BENCH_MD_WINDOW_SECONDS ?? 15);
const WINDOWS = Math.max(1, Number(process.env.BENCH_MD_WINDOWS ?? 5));
const CRASH_KILLS = Number(process.env.BENCH_MD_KILLS ?? 8);

/** `serve` over `n` simulators on free ports, all started and running. */
async function startFleet(n) {
  const dataDir = tempDir(`luna-bench-md${n}-`);
  const port = await getPort();
  const daemons = [];
  for (let i = 0; i < n; i++) {
    daemons.push({
      id: i === 0 ? 'default' : `d${i}`,
      name: `Daemon ${i}`,
      profile: 'simulator',
      port: await getPort(),
      wsPort: await getPort(),
      // The simulator's start-up delay (importing torch) only slows the set-up and the restarts.
      args: ['--startup-delay', '0'],
      restart: { initialDelayMs: 0, stableAfterSec: 0, maxQuickCrashes: 100 },
    });
  }
  const cfg = await run(process.execPath, [
    CLI,
    'config',
    'set',
    'daemons',
    JSON.stringify(daemons),
    '--data-dir',
    dataDir,
  ]);
  if (cfg.code !== 0) throw new Error(`config set daemons failed (${cfg.code}): ${cfg.stderr}${cfg.stdout}`);

  const nodeArgs = (process.env.BENCH_SERVE_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const proc = spawn(
    process.execPath,
    [...nodeArgs, CLI, 'serve', '--no-open', '--data-dir', dataDir, '--port', String(port)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  track(proc.pid);
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  await waitFor(
    () => {
      if (proc.exitCode !== null) throw new Error(`serve exited ${proc.exitCode}: ${out}`);
      return /Panel: (http\S+)/.test(out);
    },
    'serve to print its panel URL',
    30_000,
  );
  const token = readFileSync(join(dataDir, 'control-token'), 'utf8').trim();
  const list = async () => {
    const res = await fetch(`http://127.0.0.1:${port}/luna/daemons`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (!res.ok) throw new Error(`GET /luna/daemons: ${res.status}`);
    return (await res.json()).daemons;
  };
  // Each daemon is started through its own control route (POST /luna/daemons/<id>/start).
  // Four at a time: sixteen pre-flight `python3 -c …` checks at once through pyenv's shims were seen
  // to print nothing under load ("not Python 3 (version unknown)").
  const startOne = async (d) => {
    const res = await fetch(`http://127.0.0.1:${port}/luna/daemons/${d.id}/start`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    if (!res.ok) throw new Error(`n=${n}: starting ${d.id} failed (${res.status}): ${await res.text()}`);
  };
  let running;
  try {
    for (let i = 0; i < daemons.length; i += 4) await Promise.all(daemons.slice(i, i + 4).map(startOne));
    running = await waitFor(
      async () => {
        const ds = await list();
        return ds.length === n && ds.every((d) => d.state === 'running' && d.pid) ? ds : null;
      },
      `${n} daemons running`,
      60_000,
      200,
    );
  } catch (e) {
    // The daemons serve started live in their own process groups: a SIGKILL of serve at exit
    // would leave them behind, so serve stops them (SIGINT) before the error goes on.
    proc.kill('SIGINT');
    await waitFor(() => proc.exitCode !== null, 'serve to exit after SIGINT', 30_000).catch(() =>
      proc.kill('SIGKILL'),
    );
    throw e;
  }
  for (const d of running) track(d.pid);
  return {
    n,
    pid: proc.pid,
    port,
    token,
    list,
    async stop() {
      const pids = (await list().catch(() => [])).map((d) => d.pid).filter(Boolean);
      if (proc.exitCode === null) {
        proc.kill('SIGINT'); // serve stops its daemons on the way out
        await waitFor(() => proc.exitCode !== null, 'serve to exit after SIGINT', 30_000).catch(() =>
          proc.kill('SIGKILL'),
        );
      }
      for (const pid of pids) {
        if (isAlive(pid)) {
          console.log(`warning: daemon PID ${pid} outlived serve (n=${n}); killing it`);
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone meanwhile
          }
        }
      }
    },
  };
}

/**
 * Kill daemons of `fleet` one at a time (round-robin, every daemon at least once) and time each
 * kill until a `daemons:changed` event shows that daemon out of `running`.
 */
async function crashDetection(fleet) {
  const ws = new WebSocket(`ws://127.0.0.1:${fleet.port}/api/events`, {
    headers: { authorization: `Bearer ${fleet.token}` },
  });
  await new Promise((res, rej) => {
    ws.once('open', res);
    ws.once('error', rej);
  });
  let latest = null; // the last daemons list seen, by id
  const waiters = new Set();
  ws.on('message', (raw) => {
    const at = performance.now();
    const m = JSON.parse(raw.toString('utf8'));
    if (m.type !== 'daemons:changed') return;
    latest = new Map(m.data.daemons.map((d) => [d.id, d]));
    for (const w of waiters) w(latest, at);
  });
  const next = (pred) =>
    new Promise((res) => {
      const w = (ds, at) => {
        if (pred(ds)) {
          waiters.delete(w);
          res({ ds, at });
        }
      };
      waiters.add(w);
    });
  const times = [];
  let bystanderHit = 0;
  try {
    const ids = (await fleet.list()).map((d) => d.id);
    const kills = Math.max(CRASH_KILLS, ids.length);
    for (let k = 0; k < kills; k++) {
      const id = ids[k % ids.length];
      // Running again (after the previous kill's restart), and every watcher settled.
      const all = await waitFor(
        async () => {
          const ds = await fleet.list();
          return ds.every((d) => d.state === 'running' && d.pid) ? ds : null;
        },
        `n=${fleet.n}: every daemon running before kill ${k + 1}`,
        30_000,
        50,
      );
      for (const d of all) track(d.pid);
      await sleep(150 + Math.random() * 500); // a random phase relative to the 1 Hz feed
      const pid = all.find((d) => d.id === id).pid;
      const seen = next((ds) => ds.get(id) && ds.get(id).state !== 'running');
      const t0 = performance.now();
      process.kill(pid, 'SIGKILL');
      const { ds, at } = await Promise.race([
        seen,
        sleep(10_000).then(() => {
          throw new Error(`n=${fleet.n}: no event for daemon ${id} 10 s after killing PID ${pid}`);
        }),
      ]);
      times.push(at - t0);
      if ([...ds.values()].some((d) => d.id !== id && d.state !== 'running')) bystanderHit++;
    }
  } finally {
    ws.terminate();
  }
  return { times, bystanderHit };
}

const fleets = [];
try {
  for (const n of COUNTS) {
    const t0 = Date.now();
    const f = await startFleet(n);
    fleets.push(f);
    console.log(
      `n=${n}: serve PID ${f.pid}, ${n} daemon(s) running (set-up ${r((Date.now() - t0) / 1000, 1)} s)`,
    );
  }
  await sleep(SETTLE_MS);

  const windows = [];
  const rss = Object.fromEntries(COUNTS.map((n) => [n, []]));
  for (let w = 0; w < WINDOWS; w++) {
    const c0 = fleets.map((f) => threadCpuSeconds(f.pid));
    for (let s = 0; s < WINDOW_S; s++) {
      await sleep(1000);
      for (const f of fleets) rss[f.n].push(rssBytes(f.pid));
    }
    const cpu = Object.fromEntries(fleets.map((f, i) => [f.n, threadCpuSeconds(f.pid) - c0[i]]));
    windows.push(cpu);
    console.log(
      `window ${w + 1}/${WINDOWS} (${WINDOW_S} s): ` +
        COUNTS.map((n) => `n=${n} ${r(cpu[n], 3)} CPU-s`).join(', ') +
        `; per extra vs first: n=4 ${r((cpu[4] - cpu[1]) / 3 / cpu[1], 3)}, n=16 ${r((cpu[16] - cpu[1]) / 15 / cpu[1], 3)}`,
    );
  }
  for (const f of fleets) {
    const ds = await f.list();
    if (!ds.every((d) => d.state === 'running'))
      throw new Error(`n=${f.n}: a daemon left running during the idle windows`);
  }
  const cpuMed = Object.fromEntries(COUNTS.map((n) => [n, median(windows.map((w) => w[n]))]));
  const rssMed = Object.fromEntries(COUNTS.map((n) => [n, median(rss[n]) / 1024 / 1024]));
  const perExtra = (n) => median(windows.map((w) => (w[n] - w[1]) / (n - 1) / w[1]));
  for (const n of COUNTS) {
    console.log(
      `idle n=${n}: median ${r(cpuMed[n], 3)} CPU-s / ${WINDOW_S} s (${r((100 * cpuMed[n]) / WINDOW_S, 3)} %), ` +
        `RSS median ${r(rssMed[n], 1)} MiB (max ${r(Math.max(...rss[n]) / 1024 / 1024, 1)})`,
    );
  }
  console.log(
    `each extra daemon vs the first (median of per-window ratios): n=4 ${r(perExtra(4), 3)}, n=16 ${r(perExtra(16), 3)} (target ≤ 0.25); ` +
      `RSS per extra daemon: n=4 ${r((rssMed[4] - rssMed[1]) / 3, 2)} MiB, n=16 ${r((rssMed[16] - rssMed[1]) / 15, 2)} MiB`,
  );

  const detect = {};
  for (const f of fleets) {
    const { times, bystanderHit } = await crashDetection(f);
    detect[f.n] = { median: median(times), max: Math.max(...times), runs: times.length, bystanderHit };
    console.log(
      `crash → daemons:changed, n=${f.n}: ${times.map((x) => r(x, 1)).join(', ')} ms; median ${r(median(times), 1)}, ` +
        `max ${r(Math.max(...times), 1)} ms; other daemons out of running at the event: ${bystanderHit}/${times.length}`,
    );
  }

  bench('multi-daemon', {
    daemons: COUNTS.join(','),
    window_s: WINDOW_S,
    windows: WINDOWS,
    settle_s: SETTLE_MS / 1000,
    cpu_s_1: cpuMed[1],
    cpu_s_4: cpuMed[4],
    cpu_s_16: cpuMed[16],
    cpu_per_extra_vs_first: perExtra(16),
    cpu_per_extra_vs_first_4: perExtra(4),
    rss_mib_1: rssMed[1],
    rss_mib_4: rssMed[4],
    rss_mib_16: rssMed[16],
    detect_ms_1: detect[1].median,
    detect_ms_4: detect[4].median,
    detect_ms_16: detect[16].median,
    detect_max_ms_16: detect[16].max,
    bystanders_hit: COUNTS.map((n) => detect[n].bystanderHit).reduce((a, b) => a + b, 0),
  });
} finally {
  for (const f of fleets) await f.stop();
}
process.exit(0);
