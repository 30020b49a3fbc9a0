// Shared helpers of the benchmarks (bench/README in docs/benchmarks.md): statistics, the BENCH line,
// free ports, PID-tracked child processes, /proc sampling and on-the-fly bundling of TypeScript
// sources with esbuild (into a temp dir, dependencies inlined, so nothing is written to the repo).
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import * as esbuild from 'esbuild';
import getPort from 'get-port';

/** Repository root. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The Luna daemon simulator. */
export const SIM = join(ROOT, 'sim', 'luna_daemon_sim.py');
/** The built CLI (`npm run build`). */
export const CLI = join(ROOT, 'out', 'cli', 'index.js');
/** How many repetitions a benchmark runs unless told otherwise (`BENCH_RUNS`). */
export const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 5));

export { getPort };

// ---- statistics ------------------------------------------------------------------------------

/** Median of numbers (mean of the two middle ones for an even count). */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))];
}

/** Round to `d` decimals (for printing). */
export function r(x, d = 2) {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

/** Print the one machine-readable summary line of a benchmark. */
export function bench(name, fields) {
  const kv = Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? r(v, 3) : String(v).replace(/\s+/g, '_')}`)
    .join(' ');
  console.log(`BENCH ${name} ${kv}`);
}

export function sleep(ms) {
  return new Promise((res) => setTimeout(res, ms));
}

/** Poll `fn` until truthy or throw after `timeoutMs`. */
export async function waitFor(fn, what, timeoutMs = 15_000, stepMs = 10) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(stepMs);
  }
}

// ---- processes -------------------------------------------------------------------------------

const tracked = new Set();

/** Remember a PID so {@link killTracked} can clean it up whatever happens. */
export function track(pid) {
  if (pid) tracked.add(pid);
  return pid;
}

/** True while the PID exists. */
export function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/** SIGKILL every tracked PID (and its group when it leads one). */
export function killTracked() {
  for (const pid of tracked) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // gone already, or not a group leader
      }
    }
  }
  tracked.clear();
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    killTracked();
    process.exit(130);
  });
}
process.on('exit', killTracked);

/** Spawn the simulator with `args` (ports included by the caller); the child is tracked. */
export function spawnSim(args, opts = {}) {
  const child = spawn('python3', [SIM, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  track(child.pid);
  return child;
}

/** Resolve once `child` has exited. */
export function exited(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((res) => child.once('exit', () => res()));
}

/** Run a command to completion; resolves with {code, stdout, stderr}. */
export function run(cmd, args, opts = {}) {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    track(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', rej);
    child.on('exit', (code) => {
      tracked.delete(child.pid);
      res({ code, stdout, stderr });
    });
  });
}

// ---- /proc -----------------------------------------------------------------------------------

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) is 100 on every Linux Node supports.

/** utime+stime of a PID in seconds (from /proc/<pid>/stat). */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** CPU seconds of all threads of `pid` (schedstat run time, ns resolution). */
export function threadCpuSeconds(pid) {
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

/** Resident set size of a PID in bytes (VmRSS). */
export function rssBytes(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Our own CPU seconds (user+system) from process.cpuUsage. */
export function ownCpuSeconds() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

// ---- TypeScript sources ----------------------------------------------------------------------

let bundleDir = null;

/**
 * Bundle a TypeScript module of src/ (with its dependencies inlined) into a temp dir and import it.
 * `createRequire` is provided so CommonJS dependencies (ws) work inside the ESM bundle.
 */
export async function importTs(relPath) {
  if (!bundleDir) {
    bundleDir = mkdtempSync(join(tmpdir(), 'luna-bench-'));
    process.on('exit', () => rmSync(bundleDir, { recursive: true, force: true }));
  }
  const outfile = join(bundleDir, relPath.replace(/[\\/]/g, '_').replace(/\.ts$/, '.mjs'));
  await esbuild.build({
    entryPoints: [join(ROOT, relPath)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'error',
    absWorkingDir: ROOT,
    define: { LUNA_TRAY_VERSION: '"bench"' },
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
  });
  return import(pathToFileURL(outfile).href);
}

/** A fresh temp dir, removed at exit. */
export function tempDir(prefix = 'luna-bench-') {
  const d = mkdtempSync(join(tmpdir(), prefix));
  process.on('exit', () => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** Machine description for the report. */
export function machine() {
  const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '?';
  const mem = /MemTotal:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1];
  return { cpu, memGiB: mem ? Number(mem) / 1024 / 1024 : NaN };
}
