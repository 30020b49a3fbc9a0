#!/usr/bin/env node
// Runs the benchmarks (docs/benchmarks.md): `node bench/run.mjs [names…]` (all when none given).
// Each benchmark runs in its own Node process (clean RSS/CPU figures, no shared JIT state), prints
// human-readable detail and ONE `BENCH <name> key=value …` line; this runner repeats the BENCH
// lines in a summary at the end. `npm run bench` builds first (out/cli is needed by control-api,
// idle and panel). Environment: BENCH_RUNS (default 5) repetitions per benchmark.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { release } from 'node:os';
import { fileURLToPath } from 'node:url';

import { machine, r } from './lib.mjs';

const ALL = [
  'decode',
  'log-capture',
  'crash-detection',
  'start-stop',
  'control-api',
  'control-api-flood',
  'idle',
  'panel',
  'cli-startup',
  'multi-daemon',
].filter((n) => existsSync(fileURLToPath(new URL(`./${n}.mjs`, import.meta.url))));
const TIMEOUT_MS = 10 * 60_000;

const asked = process.argv.slice(2);
const unknown = asked.filter((n) => !ALL.includes(n));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${ALL.join(', ')}`);
  process.exit(2);
}
const names = asked.length > 0 ? ALL.filter((n) => asked.includes(n)) : ALL;

const py = await new Promise((res) => {
  const c = spawn('python3', ['-V'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  c.stdout.on('data', (d) => (out += d));
  c.stderr.on('data', (d) => (out += d));
  c.on('exit', () => res(out.trim()));
  c.on('error', () => res('python3 not found'));
});
const m = machine();
const { availableParallelism } = await import('node:os');
console.log(
  `# ${new Date().toISOString()} — ${availableParallelism()} CPUs (${m.cpu}), ${r(m.memGiB, 1)} GiB RAM, ` +
    `Linux ${release()}, Node ${process.version}, ${py}, runs per benchmark: ${process.env.BENCH_RUNS ?? 5}`,
);

const summary = [];
let failed = 0;
for (const name of names) {
  console.log(`\n## ${name}`);
  const t0 = Date.now();
  const file = fileURLToPath(new URL(`./${name}.mjs`, import.meta.url));
  const line = await new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let found = null;
    let buf = '';
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop();
      for (const l of lines) if (l.startsWith(`BENCH ${name} `)) found = l;
    });
    const timer = setTimeout(() => {
      console.log(`${name}: timed out after ${TIMEOUT_MS / 1000} s; killing PID ${child.pid}`);
      child.kill('SIGKILL');
    }, TIMEOUT_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (buf.startsWith(`BENCH ${name} `)) found = buf;
      if (code !== 0 || !found)
        console.log(`${name}: exited with ${signal ?? code}${found ? '' : ', no BENCH line'}`);
      resolve(code === 0 ? found : null);
    });
  });
  console.log(`(${name}: ${r((Date.now() - t0) / 1000, 0)} s)`);
  if (line) summary.push(line);
  else {
    failed++;
    summary.push(`BENCH ${name} status=failed`);
  }
}

console.log('\n## summary');
for (const l of summary) console.log(l);
process.exit(failed > 0 ? 1 : 0);
