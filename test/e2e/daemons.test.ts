import { existsSync } from 'node:fs';

import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { isAlive, killAllTracked, sleep, waitFor } from '../helpers/processes.js';
import { seriousAxeViolations } from '../helpers/axe.js';
import { spawnServe, splitPairEnv, type ServeEnv } from '../helpers/serve.js';

/**
 * Several daemons in the panel, in a real browser against `luna-tray serve` supervising the legacy
 * CLIP/VAE split pair (two simulators, --legacy --service-type clip|vae, on free ports): a card
 * each, acting on one leaves the other alone, the log filter by daemon, adding, reordering and
 * removing a daemon in Settings, and axe in both colour schemes (docs/multi-daemon.md).
 */

const CHROMIUM = '/usr/bin/chromium';

let browser: Browser | undefined;
let page: Page;
let serve: ReturnType<typeof spawnServe> | undefined;
let env: ServeEnv;
const daemonPids = new Set<number>();
const pageErrors: string[] = [];

const card = (id: string) => `.daemon-card[data-daemon-id="${id}"]`;

async function cardState(id: string): Promise<string> {
  return page.$eval(card(id), (el) => (el as HTMLElement).dataset.state ?? '');
}

async function waitCardState(id: string, state: string, timeoutMs = 30_000): Promise<void> {
  await page.waitForSelector(`${card(id)}[data-state="${state}"]`, { timeout: timeoutMs });
}

/** The PID a card shows ("127.0.0.1:1234 · PID 4242"), remembered for the clean-up. */
async function cardPid(id: string): Promise<number | null> {
  const where = await page.$eval(`${card(id)} .daemon-where`, (el) => el.textContent ?? '');
  const pid = /PID (\d+)/.exec(where)?.[1];
  if (!pid) return null;
  daemonPids.add(Number(pid));
  return Number(pid);
}

async function showView(view: 'status' | 'logs' | 'settings'): Promise<void> {
  await page.click(`button[role="tab"][data-view="${view}"]`);
  await page.waitForSelector(`#panel-${view}:not([hidden])`);
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: the browser e2e needs it. Install it with \`apt-get install -y chromium\` (browser e2e NOT RUN).`,
    );
  }
  env = await splitPairEnv();
  serve = spawnServe(env, ['--no-open']);
  const url = await waitFor(
    () => {
      if (serve!.child.exitCode !== null) throw new Error(`serve exited: ${serve!.output()}`);
      return /Panel: (http:\/\/\S+)/.exec(serve!.output())?.[1];
    },
    'the panel URL',
    30_000,
  );
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(url);
  await page.waitForSelector('#app[data-loaded="true"]', { timeout: 30_000 });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (serve && serve.child.exitCode === null) {
    serve.child.kill('SIGTERM');
    await Promise.race([new Promise((r) => serve!.child.once('exit', r)), sleep(20_000)]);
  }
  killAllTracked();
  for (const pid of [...daemonPids].filter(isAlive)) process.kill(pid, 'SIGKILL');
  env?.cleanup();
}, 60_000);

describe('several daemons in the panel', () => {
  it('shows a card per daemon, in settings order, with its name as text', async () => {
    await page.waitForSelector('[data-testid="daemon-cards"]:not([hidden])');
    expect(await page.$$eval('.daemon-card h3', (els) => els.map((e) => e.textContent))).toEqual([
      'CLIP',
      'VAE',
    ]);
    expect(await cardState('clip')).toBe('stopped');
    expect(await cardState('vae')).toBe('stopped');
  });

  it('starting and stopping one daemon leaves the other alone', async () => {
    await page.click(`${card('clip')} button[data-action="start"]`);
    await waitCardState('clip', 'running');
    await page.click(`${card('vae')} button[data-action="start"]`);
    await waitCardState('vae', 'running');
    const vaePid = await cardPid('vae');
    const clipPid = await cardPid('clip');
    expect(vaePid).not.toBeNull();
    expect(clipPid).not.toBe(vaePid);
    await page.click(`${card('clip')} button[data-action="stop"]`);
    await waitCardState('clip', 'stopped');
    // The VAE daemon never noticed: still running, same process.
    expect(await cardState('vae')).toBe('running');
    expect(await cardPid('vae')).toBe(vaePid);
    expect(isAlive(vaePid!)).toBe(true);
  });

  it('filters the log by daemon from a card’s Logs button and from the filter', async () => {
    await page.click(`${card('vae')} button[data-action="logs"]`);
    await page.waitForSelector('#panel-logs:not([hidden])');
    expect(await page.$eval('[data-testid="log-daemon"]', (el) => (el as HTMLSelectElement).value)).toBe(
      'vae',
    );
    const shownDaemons = () =>
      page.$$eval('.log-row', (rows) => rows.map((r) => (r as HTMLElement).dataset.daemon));
    await waitFor(async () => ((await shownDaemons()).length > 0 ? true : undefined), 'VAE log rows', 10_000);
    expect(new Set(await shownDaemons())).toEqual(new Set(['vae']));
    await page.selectOption('[data-testid="log-daemon"]', 'clip');
    await waitFor(
      async () =>
        (await shownDaemons()).length > 0 && (await shownDaemons()).every((d) => d === 'clip')
          ? true
          : undefined,
      'only CLIP rows',
      10_000,
    );
    await page.selectOption('[data-testid="log-daemon"]', '');
    await waitFor(
      async () => (new Set(await shownDaemons()).size >= 2 ? true : undefined),
      'rows of both daemons',
      10_000,
    );
  });

  it('adds, reorders and removes a daemon in Settings; the cards follow', async () => {
    await showView('settings');
    const rows = () =>
      page.$$eval('.daemon-row', (els) => els.map((e) => (e as HTMLElement).dataset.daemonId));
    expect(await rows()).toEqual(['clip', 'vae']);
    await page.click('button[data-action="add-daemon"]');
    expect(await rows()).toEqual(['clip', 'vae', 'daemon-3']);
    // A name is text: markup in it is shown, never run.
    await page.fill('.daemon-row[data-daemon-id="daemon-3"] input[data-field="name"]', '<b>Third</b>');
    await page.click('.daemon-row[data-daemon-id="daemon-3"] button[data-action="up"]');
    expect(await rows()).toEqual(['clip', 'daemon-3', 'vae']);
    await page.click('button[data-action="save-daemons"]');
    await showView('status');
    await page.waitForFunction(() => document.querySelectorAll('.daemon-card').length === 3);
    expect(await page.$$eval('.daemon-card h3', (els) => els.map((e) => e.textContent))).toEqual([
      'CLIP',
      '<b>Third</b>',
      'VAE',
    ]);
    expect(await page.$$eval('.daemon-card h3 b', (els) => els.length)).toBe(0);
    // Added disabled: it cannot be started until enabled.
    expect(await page.isDisabled(`${card('daemon-3')} button[data-action="start"]`)).toBe(true);
    // The VAE daemon kept running through the settings change.
    expect(await cardState('vae')).toBe('running');

    await showView('settings');
    await page.click('.daemon-row[data-daemon-id="daemon-3"] button[data-action="remove"]');
    await page.click('button[data-action="save-daemons"]');
    await showView('status');
    await page.waitForFunction(() => document.querySelectorAll('.daemon-card').length === 2);
    expect(await cardState('vae')).toBe('running');
  });

  it('has no critical or serious accessibility violations with several daemons, light and dark (axe-core)', async () => {
    const found: string[] = [];
    for (const [scheme, view] of (['light', 'dark'] as const).flatMap((c) =>
      (['status', 'logs', 'settings'] as const).map((v) => [c, v] as const),
    )) {
      await page.emulateMedia({ colorScheme: scheme });
      await showView(view);
      const violations = await seriousAxeViolations(page);
      for (const v of violations) found.push(`${scheme} ${view}: ${v}`);
    }
    await page.emulateMedia({ colorScheme: 'light' });
    expect(found).toEqual([]);
    expect(pageErrors.join('\n')).toBe('');
  });
});
