#!/usr/bin/env node
// cli-startup: how long `luna-tray status` takes, process start to exit, against `pm2 jlist` (the
// pm2 client asking its running God daemon for the process list) measured in the same run, on the
// same machine. Both talk to an already running supervisor over loopback/a socket. The target
// (docs/benchmarks.md) is vs_pm2 ≤ 1.2. Medians of BENCH_RUNS × 2 alternating runs each.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

import { startServe } from './serve.mjs';
import { CLI, ROOT, RUNS, bench, median, r, tempDir } from './lib.mjs';

const PM2 = join(ROOT, 'node_modules', 'pm2', 'bin', 'pm2');
const pm2Home = tempDir('luna-bench-pm2-');
const pm2Env = { ...process.env, PM2_HOME: pm2Home };

/** Wall-clock milliseconds of one run of `node args…`; throws unless it exits 0. */
function timed(args, env) {
  const t0 = process.hrtime.bigint();
  const res = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (res.status !== 0) throw new Error(`${args.join(' ')} exited ${res.status}: ${res.stderr}`);
  return ms;
}

const serve = await startServe({ startDaemon: false });
try {
  // pm2's God daemon up first (like our running server): `pm2 ping` starts it.
  timed([PM2, 'ping'], pm2Env);
  const ours = [];
  const pm2 = [];
  const statusArgs = [CLI, 'status', '--data-dir', serve.dataDir, '--port', String(serve.port)];
  // Warm-up (disk cache), then alternate so drift in machine load hits both equally.
  timed(statusArgs, process.env);
  timed([PM2, 'jlist'], pm2Env);
  for (let i = 0; i < RUNS * 2; i++) {
    ours.push(timed(statusArgs, process.env));
    pm2.push(timed([PM2, 'jlist'], pm2Env));
  }
  const a = median(ours);
  const b = median(pm2);
  console.log(`luna-tray status: median ${r(a, 1)} ms (${ours.map((x) => r(x, 0)).join(', ')})`);
  console.log(`pm2 jlist:        median ${r(b, 1)} ms (${pm2.map((x) => r(x, 0)).join(', ')})`);
  bench('cli-startup', { status_ms: a, pm2_jlist_ms: b, vs_pm2: a / b, runs: ours.length });
} finally {
  spawnSync(process.execPath, [PM2, 'kill'], { env: pm2Env, stdio: 'ignore' });
  await serve.stop();
}
