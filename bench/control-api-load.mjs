// Load generator of the control-api benchmark, run as its OWN process (so it does not share a core
// budget with the server's event loop): CONCURRENCY loops on an undici Pool of as many keep-alive
// connections, each sending `GET /luna/daemon/status` with the bearer token back to back for
// SECONDS. Prints one JSON line: {requests, errors, seconds, latencies_ms: [...]}.
import { performance } from 'node:perf_hooks';

import { Pool } from 'undici';

const [origin, token, concurrencyArg, secondsArg] = process.argv.slice(2);
const concurrency = Number(concurrencyArg);
const seconds = Number(secondsArg);
const pool = new Pool(origin, { connections: concurrency, pipelining: 1 });
const headers = { authorization: `Bearer ${token}` };
const latencies = [];
let errors = 0;
let statusErrors = 0;

async function once() {
  const t0 = performance.now();
  const res = await pool.request({ path: '/luna/daemon/status', method: 'GET', headers });
  await res.body.text();
  if (res.statusCode !== 200) statusErrors++;
  return performance.now() - t0;
}

// Warm-up: open every connection.
await Promise.all(Array.from({ length: concurrency }, () => once().catch(() => errors++)));

const start = performance.now();
const end = start + seconds * 1000;
async function loop() {
  while (performance.now() < end) {
    try {
      latencies.push(await once());
    } catch {
      errors++;
    }
  }
}
await Promise.all(Array.from({ length: concurrency }, loop));
const elapsed = (performance.now() - start) / 1000;
await pool.close();
console.log(
  JSON.stringify({
    requests: latencies.length,
    errors,
    statusErrors,
    seconds: elapsed,
    latencies_ms: latencies,
  }),
);
