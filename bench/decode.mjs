// decode: `get_info` replies decoded per second by our safe decoder (src/core/daemon/pickle-decode.ts)
// vs CPython's own C `pickle.loads`, on the SAME bytes: a real reply captured from the simulator
// (models loaded, 2 fake GPUs). Each side times a tight loop inside one process; RUNS windows each,
// alternating, and we report medians.
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

import {
  bench,
  exited,
  getPort,
  importTs,
  median,
  r,
  run,
  RUNS,
  spawnSim,
  tempDir,
  waitFor,
} from './lib.mjs';

const WINDOW_MS = 1_000;

/** One framed request/reply on a raw socket; returns the reply body (the pickle bytes). */
function rawRequest(port, body) {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    const head = Buffer.alloc(8);
    head.writeBigUInt64BE(BigInt(body.length));
    sock.write(Buffer.concat([head, body]));
    let buf = Buffer.alloc(0);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 8) {
        const len = Number(buf.readBigUInt64BE(0));
        if (buf.length >= 8 + len) {
          sock.destroy();
          resolve(buf.subarray(8, 8 + len));
        }
      }
    });
    sock.on('error', reject);
  });
}

const { decodePickle } = await importTs('src/core/daemon/pickle-decode.ts');
const { encodePickle } = await importTs('src/core/daemon/pickle-encode.ts');

// 1. A real get_info reply, models loaded.
const port = await getPort();
const sim = spawnSim(['--port', String(port), '--ws-port', '0', '--models-after', '0']);
let simOut = '';
sim.stderr.on('data', (d) => (simOut += d));
await waitFor(() => simOut.includes('[WeightRegistry]'), 'the simulator to load its fake models');
const bytes = await rawRequest(port, encodePickle({ cmd: 'get_info' }));
sim.kill('SIGKILL');
await exited(sim);
const dir = tempDir();
const file = join(dir, 'get_info.pickle');
writeFileSync(file, bytes);

// Sanity: both sides decode it to the same thing.
const decoded = decodePickle(bytes);
const pyJson = await run('python3', [
  '-c',
  `import pickle,json,sys;print(json.dumps(pickle.loads(open(sys.argv[1],'rb').read()),sort_keys=True))`,
  file,
]);
const same = JSON.stringify(sortKeys(decoded)) === JSON.stringify(sortKeys(JSON.parse(pyJson.stdout)));
console.log(
  `get_info reply: ${bytes.length} bytes, ${Object.keys(decoded).length} top-level keys; same value as pickle.loads: ${same}`,
);

function sortKeys(v) {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys(v[k])]),
    );
  return v;
}

// 2. Timed windows.
const PY = `
import pickle, sys, time
data = open(sys.argv[1], 'rb').read()
window = float(sys.argv[2])
loads = pickle.loads
for _ in range(2000): loads(data)
n = 0
t0 = time.perf_counter()
while True:
    for _ in range(1000): loads(data)
    n += 1000
    t = time.perf_counter() - t0
    if t >= window: break
print(n / t)
`;

function nodeWindow() {
  for (let i = 0; i < 2000; i++) decodePickle(bytes);
  let n = 0;
  const t0 = process.hrtime.bigint();
  let t = 0;
  for (;;) {
    for (let i = 0; i < 1000; i++) decodePickle(bytes);
    n += 1000;
    t = Number(process.hrtime.bigint() - t0) / 1e9;
    if (t >= WINDOW_MS / 1000) break;
  }
  return n / t;
}

const ours = [];
const python = [];
for (let i = 0; i < RUNS; i++) {
  ours.push(nodeWindow());
  const py = await run('python3', ['-c', PY, file, String(WINDOW_MS / 1000)]);
  python.push(Number(py.stdout.trim()));
  console.log(`run ${i + 1}: ours ${r(ours[i], 0)}/s  python ${r(python[i], 0)}/s`);
}
const o = median(ours);
const p = median(python);
console.log(
  `decodePickle: ${r(o, 0)} replies/s (${r(1e6 / o, 2)} µs each); pickle.loads: ${r(p, 0)} replies/s (${r(1e6 / p, 2)} µs each)`,
);
bench('decode', {
  bytes: bytes.length,
  ours_per_s: Math.round(o),
  python_per_s: Math.round(p),
  vs_python: o / p,
  same_value: same,
  runs: RUNS,
});
process.exit(0);
