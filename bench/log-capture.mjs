// log-capture: the simulator writes 1,000,000 log lines (~100 bytes each) as fast as it can
// (`--log-lines`), and we measure how fast they are FULLY captured by
//   (a) ours: the real capture path of src/core/logs — createLogCapture on the child's stdout/stderr:
//       split, ANSI-stripped, level-parsed, numbered into a 50,000-entry LogStore ring and written to a
//       10 MB × 5 rotating file (the clock stops after the file flush);
//   (b) pm2 7 (programmatic API, private PM2_HOME): its God daemon pipes the child's output into its
//       own log files; we count lines in those files until the last one arrives;
//   (c) raw: this Node process reading the pipes, splitting lines and discarding them.
// Time = from just before the spawn (pm2.start for pm2) to the `[Sim] flood done N` line being
// captured; it includes the simulator's own start-up (~0.1 s, same for all three). Runs alternate.
import { closeSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import {
  bench,
  exited,
  getPort,
  importTs,
  isAlive,
  median,
  r,
  RUNS,
  SIM,
  sleep,
  spawnSim,
  tempDir,
  track,
  waitFor,
} from './lib.mjs';

const LINES = Number(process.env.BENCH_LOG_LINES ?? 1_000_000);
const MARKER = `[Sim] flood done ${LINES}`;
// No model-load lines after the flood: the marker is the last thing written.
const simArgs = (port) => [
  '--log-lines',
  String(LINES),
  '--port',
  String(port),
  '--ws-port',
  '0',
  '--models-after',
  '-1',
];

const logs = await importTs('src/core/logs/index.ts');
const dir = tempDir();

// ---- (a) ours ----------------------------------------------------------------------------------

async function runOurs(i) {
  const runDir = join(dir, `ours-${i}`);
  const store = new logs.LogStore({ capacity: 50_000 });
  const file = logs.createRotatingFile({
    path: join(runDir, 'daemon.log'),
    maxBytes: 10 * 1024 * 1024,
    count: 5,
  });
  const capture = logs.createLogCapture({ store, file, maxLineLength: 16 * 1024 });
  let entries = 0;
  let done = false;
  // The product's own listeners follow the store by seq range (no entry objects); so does this one,
  // reading back only the newest entry of each batch.
  const unsubscribe = store.onAppend((first, last) => {
    entries += last - first + 1;
    if (store.tail(1).entries[0].text.endsWith(MARKER)) done = true;
  });
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  let rssPeak = rss0;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 20);
  const port = await getPort();
  const t0 = performance.now();
  const child = spawnSim(simArgs(port));
  capture.attach(child.stdout, 'stdout');
  capture.attach(child.stderr, 'stderr');
  await waitFor(() => done, 'ours: the flood marker in the store', 120_000, 1);
  await file.flush();
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  child.kill('SIGKILL');
  await exited(child);
  capture.dispose();
  unsubscribe();
  await file.close();
  // Check the file really holds the end of the flood (rotation keeps the newest ~60 MB).
  const files = readdirSync(runDir);
  const bytes = files.reduce((s, f) => s + statSync(join(runDir, f)).size, 0);
  const current = readFileSync(join(runDir, 'daemon.log'), 'utf8');
  const fileHasMarker = current.includes(MARKER);
  rmSync(runDir, { recursive: true, force: true });
  return {
    seconds,
    linesPerSec: LINES / seconds,
    entries,
    held: store.size,
    rssGrowthMiB: (rssPeak - rss0) / 1024 / 1024,
    fileMiB: bytes / 1024 / 1024,
    files: files.length,
    fileHasMarker,
  };
}

// ---- (c) raw -----------------------------------------------------------------------------------

async function runRaw() {
  const port = await getPort();
  let lines = 0;
  let done = false;
  const t0 = performance.now();
  const child = spawnSim(simArgs(port));
  for (const stream of [child.stdout, child.stderr]) {
    let carry = '';
    stream.on('data', (chunk) => {
      const parts = (carry + chunk.toString('utf8')).split('\n');
      carry = parts.pop();
      lines += parts.length;
      if (parts.length > 0 && parts[parts.length - 1].endsWith(MARKER)) done = true;
    });
  }
  await waitFor(() => done, 'raw: the flood marker', 120_000, 1);
  const seconds = (performance.now() - t0) / 1000;
  child.kill('SIGKILL');
  await exited(child);
  return { seconds, linesPerSec: LINES / seconds, lines };
}

// ---- (b) pm2 -----------------------------------------------------------------------------------

const pm2Home = join(dir, 'pm2-home');
process.env.PM2_HOME = pm2Home;
// pm2 reads PM2_HOME when it is first loaded, so import it only now.
const pm2 = (await import('pm2')).default;
const p = (fn) => new Promise((res, rej) => fn((err, v) => (err ? rej(err) : res(v))));
let godPid = null;

async function pm2Up() {
  await p((cb) => pm2.connect(cb));
  godPid = Number(readFileSync(join(pm2Home, 'pm2.pid'), 'utf8'));
  track(godPid);
}

async function pm2Down() {
  await p((cb) => pm2.killDaemon(cb)).catch(() => undefined);
  pm2.disconnect();
  if (godPid) {
    await waitFor(() => !isAlive(godPid), 'the pm2 daemon to exit', 10_000).catch(() =>
      process.kill(godPid, 'SIGKILL'),
    );
  }
}

/** Count `\n` in a growing file from `state.offset`; sets state.done when the marker line arrives. */
function readNew(path, state) {
  let fd;
  try {
    fd = openSync(path, 'r');
  } catch {
    return;
  }
  try {
    const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, state.offset);
      if (n === 0) break;
      state.offset += n;
      let at = -1;
      while ((at = buf.indexOf(10, at + 1)) !== -1 && at < n) state.lines++;
      // The marker may straddle reads: keep a tail.
      const text = state.tail + buf.toString('latin1', Math.max(0, n - 200), n);
      if (text.includes(MARKER)) state.done = true;
      state.tail = text.slice(-200);
    }
  } finally {
    closeSync(fd);
  }
}

async function runPm2(i) {
  const out = join(dir, `pm2-${i}.out.log`);
  const err = join(dir, `pm2-${i}.err.log`);
  const port = await getPort();
  const name = `bench-sim-${i}`;
  const states = [out, err].map((path) => ({ path, offset: 0, lines: 0, tail: '', done: false }));
  const t0 = performance.now();
  await p((cb) =>
    pm2.start(
      {
        script: SIM,
        interpreter: 'python3',
        args: simArgs(port),
        name,
        out_file: out,
        error_file: err,
        merge_logs: true,
        autorestart: false,
      },
      cb,
    ),
  );
  const desc = await p((cb) => pm2.describe(name, cb));
  const simPid = desc[0]?.pid;
  track(simPid);
  await waitFor(
    () => {
      for (const s of states) readNew(s.path, s);
      return states.some((s) => s.done);
    },
    'pm2: the flood marker in its log file',
    300_000,
    5,
  );
  const seconds = (performance.now() - t0) / 1000;
  await p((cb) => pm2.delete(name, cb));
  if (simPid)
    await waitFor(() => !isAlive(simPid), 'pm2 to stop the simulator', 10_000).catch(() =>
      process.kill(simPid, 'SIGKILL'),
    );
  rmSync(out, { force: true });
  rmSync(err, { force: true });
  return { seconds, linesPerSec: LINES / seconds, lines: states[0].lines + states[1].lines };
}

// ---- the runs ------------------------------------------------------------------------------------

const ours = [];
const raw = [];
const pm = [];
await pm2Up();
try {
  // Warm-up (page cache, Python bytecode cache, JIT), not counted.
  await runRaw();
  for (let i = 0; i < RUNS; i++) {
    raw.push(await runRaw());
    ours.push(await runOurs(i));
    pm.push(await runPm2(i));
    const o = ours[i];
    console.log(
      `run ${i + 1}: raw ${r(raw[i].seconds, 2)} s (${r(raw[i].linesPerSec / 1e3, 0)} k/s) | ` +
        `ours ${r(o.seconds, 2)} s (${r(o.linesPerSec / 1e3, 0)} k/s, ${o.entries} entries, ring ${o.held}, ` +
        `RSS +${r(o.rssGrowthMiB, 1)} MiB, file ${r(o.fileMiB, 1)} MiB in ${o.files} files, marker in file: ${o.fileHasMarker}) | ` +
        `pm2 ${r(pm[i].seconds, 2)} s (${r(pm[i].linesPerSec / 1e3, 0)} k/s, ${pm[i].lines} lines in its files)`,
    );
    await sleep(200);
  }
} finally {
  await pm2Down();
}

const oursRate = median(ours.map((x) => x.linesPerSec));
const rawRate = median(raw.map((x) => x.linesPerSec));
const pm2Rate = median(pm.map((x) => x.linesPerSec));
const rss = median(ours.map((x) => x.rssGrowthMiB));
const rssMax = Math.max(...ours.map((x) => x.rssGrowthMiB));
console.log(
  `median lines/s: ours ${r(oursRate, 0)}, pm2 ${r(pm2Rate, 0)}, raw ${r(rawRate, 0)}; ` +
    `ours/pm2 ${r(oursRate / pm2Rate, 2)} (target ≥ 1.5), ours/raw ${r(oursRate / rawRate, 2)} (target ≥ 0.6); ` +
    `RSS growth median ${r(rss, 1)} MiB, max ${r(rssMax, 1)} MiB`,
);
bench('log-capture', {
  lines: LINES,
  ours_lps: Math.round(oursRate),
  pm2_lps: Math.round(pm2Rate),
  raw_lps: Math.round(rawRate),
  vs_pm2: oursRate / pm2Rate,
  vs_raw: oursRate / rawRate,
  rss_growth_mib: rss,
  rss_growth_max_mib: rssMax,
  file_ok: ours.every((x) => x.fileHasMarker),
  runs: RUNS,
});
// pm2's client keeps handles open after disconnect; everything we started is gone by now.
process.exit(0);
