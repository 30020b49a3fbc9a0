// log-capture: the simulator writes 1,000,000 log lines (~100 bytes each) as fast as it can
// (`--log-lines`), and we measure how fast they are FULLY captured by
//   (a) ours: the real capture path of src/core/logs — createLogCapture on the child's stdout/stderr:
//       split, ANSI-stripped, level-parsed, numbered into a 50,000-entry LogStore ring and written to a
//       10 MB × 5 rotating file (the clock stops after the file flush);
//   (b) pm2 7 (programmatic API, private PM2_HOME): its God daemon pipes the child's output into its
//       own log files; we poll the END of those files (4 KiB) every 5 ms for the marker line and
//       count their lines after the clock stops (reading them whole while pm2 runs would steal CPU
//       from it on this 2-core machine);
//   (c) raw: this Node process reading the pipes, splitting lines and discarding them;
//   (d) raw+file, the reference of the target: raw (split lines), also appending each chunk to a file
//       (WriteStream) — the ceiling of any reader that must write the log file, as (a) and (b) do.
//       Target: ours ≥ 0.9× raw+file (`vs_raw_file`).
// Time = from just before the spawn (pm2.start for pm2) to the `[Sim] flood done N` line being
// captured; it includes the simulator's own start-up (~0.1 s, same for all). Runs alternate, and the
// ratios are the medians of the per-run ratios (run i of ours against run i of the other).
import {
  closeSync,
  createWriteStream,
  fstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
} from 'node:fs';
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

/** RSS before our first run. */
let rssBase = null;

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
  rssBase ??= rss0;
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
    rssPeakMiB: rssPeak / 1024 / 1024,
    fileMiB: bytes / 1024 / 1024,
    files: files.length,
    fileHasMarker,
  };
}

// ---- (c) raw -----------------------------------------------------------------------------------

/**
 * The raw baseline. With `toFile`, it also appends every chunk as is to a file through a WriteStream
 * (clock stopped after the stream has finished): not a target, but the ceiling of any reader that
 * must also write the log file, as ours and pm2 do.
 */
async function runRaw(toFile = null) {
  const port = await getPort();
  let lines = 0;
  let done = false;
  const out = toFile ? createWriteStream(toFile) : null;
  const t0 = performance.now();
  const child = spawnSim(simArgs(port));
  for (const stream of [child.stdout, child.stderr]) {
    let carry = '';
    stream.on('data', (chunk) => {
      out?.write(chunk);
      const parts = (carry + chunk.toString('utf8')).split('\n');
      carry = parts.pop();
      lines += parts.length;
      if (parts.length > 0 && parts[parts.length - 1].endsWith(MARKER)) done = true;
    });
  }
  await waitFor(() => done, 'raw: the flood marker', 120_000, 1);
  if (out) await new Promise((res) => out.end(res));
  const seconds = (performance.now() - t0) / 1000;
  child.kill('SIGKILL');
  await exited(child);
  if (toFile) rmSync(toFile, { force: true });
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

/**
 * Whether pm2's log file ends with the marker line. Only the file's last bytes are read while pm2 is
 * being timed: reading and counting the whole growing file during the run would compete with pm2
 * for the same 2 cores. The lines are counted after the clock has stopped ({@link countLines}).
 */
function endsWithMarker(path) {
  let fd;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false;
  }
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(Math.min(size, 4096));
    readSync(fd, buf, 0, buf.length, size - buf.length);
    return buf.toString('latin1').includes(MARKER);
  } finally {
    closeSync(fd);
  }
}

/** The number of `\n` in a file (0 when it does not exist). */
function countLines(path) {
  let data;
  try {
    data = readFileSync(path);
  } catch {
    return 0;
  }
  let lines = 0;
  for (let at = data.indexOf(10); at !== -1; at = data.indexOf(10, at + 1)) lines++;
  return lines;
}

async function runPm2(i) {
  const out = join(dir, `pm2-${i}.out.log`);
  const err = join(dir, `pm2-${i}.err.log`);
  const port = await getPort();
  const name = `bench-sim-${i}`;
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
    () => endsWithMarker(out) || endsWithMarker(err),
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
  const lines = countLines(out) + countLines(err);
  rmSync(out, { force: true });
  rmSync(err, { force: true });
  return { seconds, linesPerSec: LINES / seconds, lines };
}

// ---- the runs ------------------------------------------------------------------------------------

const ours = [];
const raw = [];
const rawFile = [];
const pm = [];
await pm2Up();
try {
  // Warm-up (page cache, Python bytecode cache, JIT), not counted.
  await runRaw();
  for (let i = 0; i < RUNS; i++) {
    raw.push(await runRaw());
    rawFile.push(await runRaw(join(dir, `raw-${i}.log`)));
    ours.push(await runOurs(i));
    pm.push(await runPm2(i));
    const o = ours[i];
    console.log(
      `run ${i + 1}: raw ${r(raw[i].seconds, 2)} s (${r(raw[i].linesPerSec / 1e3, 0)} k/s) | ` +
        `raw+file ${r(rawFile[i].seconds, 2)} s | ` +
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
const rawFileRate = median(rawFile.map((x) => x.linesPerSec));
const pm2Rate = median(pm.map((x) => x.linesPerSec));
/** Median over the runs of ours' rate over the other's rate in the same run. */
const pairRatio = (other) => median(ours.map((x, i) => x.linesPerSec / other[i].linesPerSec));
const vsRawFile = pairRatio(rawFile);
const vsPm2 = pairRatio(pm);
const vsRaw = pairRatio(raw);
const rss = median(ours.map((x) => x.rssGrowthMiB));
// Later runs reuse the heap the first one grew, so their own growth is small: the bound that
// matters is the peak over all runs above the RSS before the first one.
const rssMax = Math.max(...ours.map((x) => x.rssPeakMiB)) - rssBase / 1024 / 1024;
console.log(
  `median lines/s: ours ${r(oursRate, 0)}, raw+file ${r(rawFileRate, 0)}, pm2 ${r(pm2Rate, 0)}, raw ${r(rawRate, 0)}; ` +
    `ours/raw+file ${r(vsRawFile, 3)} (target ≥ 0.9), ours/pm2 ${r(vsPm2, 2)}, ours/raw ${r(vsRaw, 2)} ` +
    `(medians of per-run ratios); RSS growth per run median ${r(rss, 1)} MiB; peak over all runs ` +
    `${r(rssMax, 1)} MiB above the RSS before the first (ring ${ours[0].held} entries)`,
);
bench('log-capture', {
  lines: LINES,
  ours_lps: Math.round(oursRate),
  raw_file_lps: Math.round(rawFileRate),
  pm2_lps: Math.round(pm2Rate),
  raw_lps: Math.round(rawRate),
  vs_raw_file: vsRawFile,
  vs_pm2: vsPm2,
  vs_raw: vsRaw,
  raw_file_vs_pm2: median(rawFile.map((x, i) => x.linesPerSec / pm[i].linesPerSec)),
  rss_growth_mib: rss,
  rss_growth_max_mib: rssMax,
  file_ok: ours.every((x) => x.fileHasMarker),
  runs: RUNS,
});
// pm2's client keeps handles open after disconnect; everything we started is gone by now.
process.exit(0);
