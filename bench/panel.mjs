/* global document, window, requestAnimationFrame, Event, KeyboardEvent -- code passed to page.evaluate runs in the browser */
// panel: the web panel (src/renderer, served by `luna-tray serve`) in Debian's Chromium with 100,000
// log lines. 100k lines are pushed into the daemon's output with the simulator's `sim_flood` command
// (logs.bufferSize is raised to 200,000 so the server keeps them all; the panel keeps 100,000).
// Each run reloads the panel on its Logs tab and measures, inside the page:
//  - render: from navigation start (the document's timeOrigin) to the first animation frame where
//    the Logs tab reports ≥ 100,000 entries held AND log rows are drawn (target < 500 ms);
//  - filter: a search typed and committed with Enter (the debounce is skipped that way), with
//    "Only matches" on, from the input event to the end of the animation frame that re-rendered
//    the list (target < 100 ms);
//  - rows: `.log-row` elements in the log viewport after render (target < 500).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

import { bench, median, r, RUNS, waitFor } from './lib.mjs';
import { LunaClient } from './harness.mjs';
import { startServe } from './serve.mjs';

const LINES = 100_000;
// Flood lines end with "(sim flood 000012345)": this query matches the 100 lines 12300–12399.
const QUERY = 'sim flood 0000123';
const EXPECTED_MATCHES = 100;

const srv = await startServe({ extra: [['logs.bufferSize', '200000']] });
let browser = null;
const renderMs = [];
const filterMs = [];
const fetchMs = [];
const afterFetchMs = [];
const rowsAfterRender = [];
const rowsAfterFilter = [];
let pending = null;
try {
  await new LunaClient({ host: '127.0.0.1', port: srv.daemonPort }).request('sim_flood', { lines: LINES });
  const logFile = join(srv.dataDir, 'logs', 'daemon.log');
  await waitFor(
    () => readFileSync(logFile, 'utf8').includes(`[Sim] flood done ${LINES}`),
    'the flood in the server log',
    120_000,
    50,
  );

  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  // Record, in the page, the first frame where the Logs tab holds all entries and shows rows.
  await context.addInitScript((need) => {
    const check = () => {
      const count = document.querySelector('[data-testid="log-count"]');
      const rows = document.querySelectorAll('[data-testid="log-viewport"] .log-row').length;
      if (count && Number(count.dataset.total ?? 0) >= need && rows > 0) {
        window.__benchRendered = { at: performance.now(), rows };
        return;
      }
      requestAnimationFrame(check);
    };
    requestAnimationFrame(check);
  }, LINES);
  const page = await context.newPage();
  const base = new URL(srv.panelUrl).origin;
  // The one-time code sets the session cookie; later runs reload with the cookie. Warm-up load.
  await page.goto(`${srv.panelUrl}#logs`);
  await page.waitForURL(`${base}/**`);

  for (let i = 0; i <= RUNS; i++) {
    // A real reload each time (going to the same URL with a hash would be a same-document jump).
    await page.goto('about:blank');
    await page.goto(`${base}/#logs`);
    // The Logs tab must be the visible one (a redirect may drop the hash).
    await page.locator('#tab-logs').click();
    await page.waitForFunction(() => window.__benchRendered !== undefined, null, { timeout: 60_000 });
    const rendered = await page.evaluate(() => {
      // Where the time went: the log pages (`POST /api/logs/get-since`) as the browser saw them.
      const logs = performance
        .getEntriesByType('resource')
        .filter((e) => e.name.includes('/api/logs/get-since'));
      const nav = performance.getEntriesByType('navigation')[0];
      return {
        ...window.__benchRendered,
        domContentLoaded: nav?.domContentLoadedEventEnd ?? NaN,
        pages: logs.length,
        fetchBytes: logs.reduce((n, e) => n + e.encodedBodySize, 0),
        fetchMs: logs.reduce((n, e) => n + e.duration, 0),
        firstFetchStart: logs[0]?.startTime ?? NaN,
      };
    });
    const filtered = await page.evaluate(async (query) => {
      const only = document.querySelector('input[aria-label="show only matching entries"]');
      if (only && !only.checked) only.click(); // applies the (empty) filter now, before timing
      await new Promise((res) => requestAnimationFrame(() => requestAnimationFrame(res)));
      const input = document.querySelector('input[aria-label="search the log"]');
      const t0 = performance.now();
      input.value = query;
      input.dispatchEvent(new Event('input', { bubbles: true }));
      input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
      // Our callback is queued after the view's render callback, so it runs after the re-render.
      const t1 = await new Promise((res) => requestAnimationFrame(() => res(performance.now())));
      const count = document.querySelector('[data-testid="log-count"]');
      return {
        ms: t1 - t0,
        shown: Number(count?.dataset.shown ?? NaN),
        rows: document.querySelectorAll('[data-testid="log-viewport"] .log-row').length,
      };
    }, QUERY);
    if (filtered.shown !== EXPECTED_MATCHES)
      console.log(`  run ${i}: the filter shows ${filtered.shown} entries, expected ${EXPECTED_MATCHES}`);
    console.log(
      `${i === 0 ? 'warm-up' : `run ${i}`}: render ${r(rendered.at, 0)} ms (${rendered.rows} rows; DOMContentLoaded ${r(rendered.domContentLoaded, 0)} ms, ` +
        `${rendered.pages} log pages ${r(rendered.fetchBytes / 1e6, 1)} MB from ${r(rendered.firstFetchStart, 0)} ms, ${r(rendered.fetchMs, 0)} ms in flight), ` +
        `filter ${r(filtered.ms, 1)} ms (${filtered.shown} shown, ${filtered.rows} rows)`,
    );
    if (i === 0) continue;
    renderMs.push(rendered.at);
    fetchMs.push(rendered.fetchMs);
    afterFetchMs.push(rendered.at - rendered.firstFetchStart - rendered.fetchMs);
    filterMs.push(filtered.ms);
    rowsAfterRender.push(rendered.rows);
    rowsAfterFilter.push(filtered.rows);
  }
} catch (e) {
  pending = e instanceof Error ? e.message : String(e);
  console.log(`panel benchmark could not run: ${pending}`);
} finally {
  await browser?.close();
  await srv.stop();
}
if (pending !== null) {
  bench('panel', { status: 'pending', reason: pending.slice(0, 120) });
} else {
  const rm = median(renderMs);
  const fm = median(filterMs);
  const rows = Math.max(...rowsAfterRender, ...rowsAfterFilter);
  console.log(
    `render breakdown (medians): log pages in flight ${r(median(fetchMs), 0)} ms, other work between the first page request and rows drawn ${r(median(afterFetchMs), 0)} ms`,
  );
  console.log(
    `medians: render ${r(rm, 0)} ms (target < 500), filter ${r(fm, 1)} ms (target < 100), max rows ${rows} (target < 500)`,
  );
  bench('panel', {
    lines: LINES,
    render_ms: rm,
    filter_ms: fm,
    rows,
    fetch_ms: median(fetchMs),
    other_ms: median(afterFetchMs),
    runs: RUNS,
  });
}
process.exit(0);
