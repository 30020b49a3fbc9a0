// The headless Luna Tray (`node out/cli/index.js serve`) as a separate process, configured through
// the CLI (`config set`) on the simulator profile with free ports, then started with `start`.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { CLI, getPort, isAlive, run, sleep, tempDir, track, waitFor } from './lib.mjs';

/**
 * Start `serve --no-open` and (unless `startDaemon` is false) the daemon. `extra` are additional
 * `config set` pairs. Returns the server's PID, port, data dir, token, panel URL, the daemon PID
 * and `stop()` (SIGINT, which stops the daemon, then a PID check on both).
 */
export async function startServe({ startDaemon = true, extra = [] } = {}) {
  const dataDir = tempDir('luna-bench-serve-');
  const port = await getPort();
  const daemonPort = await getPort();
  const wsPort = await getPort();
  const pairs = [
    ['daemon.profile', 'simulator'],
    ['daemon.port', String(daemonPort)],
    ['daemon.wsPort', String(wsPort)],
    ...extra,
  ];
  for (const [k, v] of pairs) {
    const res = await run(process.execPath, [CLI, 'config', 'set', k, v, '--data-dir', dataDir]);
    if (res.code !== 0)
      throw new Error(`config set ${k} ${v} failed (${res.code}): ${res.stderr}${res.stdout}`);
  }
  // BENCH_SERVE_NODE_ARGS: extra Node flags for serve alone, e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`
  // to profile it under a benchmark's load.
  const nodeArgs = (process.env.BENCH_SERVE_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const proc = spawn(
    process.execPath,
    [...nodeArgs, CLI, 'serve', '--no-open', '--data-dir', dataDir, '--port', String(port)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  track(proc.pid);
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const panelUrl = await waitFor(
    () => {
      if (proc.exitCode !== null) throw new Error(`serve exited ${proc.exitCode}: ${out}`);
      return /Panel: (http\S+)/.exec(out)?.[1];
    },
    'serve to print its panel URL',
    30_000,
  );
  const token = readFileSync(join(dataDir, 'control-token'), 'utf8').trim();
  let daemonPid = null;
  if (startDaemon) {
    const res = await run(process.execPath, [CLI, 'start', '--data-dir', dataDir, '--port', String(port)]);
    if (res.code !== 0) throw new Error(`luna-tray start failed (${res.code}): ${res.stderr}${res.stdout}`);
    const st = await status(port, token);
    daemonPid = st.pid ?? null;
    track(daemonPid);
  }
  async function stop() {
    if (proc.exitCode === null) {
      proc.kill('SIGINT');
      await waitFor(() => proc.exitCode !== null, 'serve to exit after SIGINT', 20_000).catch(() =>
        proc.kill('SIGKILL'),
      );
    }
    if (daemonPid && isAlive(daemonPid)) {
      await sleep(500);
      if (isAlive(daemonPid)) {
        console.log(`warning: the daemon (PID ${daemonPid}) outlived serve; killing it`);
        process.kill(daemonPid, 'SIGKILL');
      }
    }
  }
  return {
    proc,
    pid: proc.pid,
    port,
    daemonPort,
    wsPort,
    dataDir,
    token,
    panelUrl,
    daemonPid,
    output: () => out,
    stop,
  };
}

/** `GET /api/status`-like: the daemon status through the CLI's JSON output. */
export async function status(port, token) {
  const res = await fetch(`http://127.0.0.1:${port}/luna/daemon/status`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (!res.ok) throw new Error(`GET /luna/daemon/status: ${res.status}`);
  return res.json();
}

const LOAD = fileURLToPath(new URL('./control-api-load.mjs', import.meta.url));

/**
 * One run of the control-API load generator (bench/control-api-load.mjs, its own process) against
 * `srv`: `GET /luna/daemon/status` at `concurrency` for `seconds`. Resolves with its JSON result
 * ({requests, errors, statusErrors, seconds, latencies_ms}).
 */
export async function controlApiLoad(srv, concurrency, seconds) {
  const res = await run(process.execPath, [
    LOAD,
    `http://127.0.0.1:${srv.port}`,
    srv.token,
    String(concurrency),
    String(seconds),
  ]);
  if (res.code !== 0) throw new Error(`load generator failed: ${res.stderr}`);
  return JSON.parse(res.stdout.trim().split('\n').pop());
}
