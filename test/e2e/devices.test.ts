import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { fakeNvidiaSmi, type FakeNvidiaSmi } from '../core/gpu/fake-gpu.js';
import { killAllTracked, waitFor } from '../helpers/processes.js';
import { cliAsync, runningDaemonPid, serveEnv, startServe, type ServeEnv } from '../helpers/serve.js';

/**
 * The Devices tab in a real browser against `luna-tray serve --demo` (the simulator) with a fake
 * `nvidia-smi` first on PATH: device pickers applied live and saved, a refusal next to its control
 * in the daemon's words, the GPUs with who holds their memory, and the VRAM chart. Chromium is a
 * prerequisite: without it this file FAILS; it is never skipped.
 */
const CHROMIUM = '/usr/bin/chromium';
const UUID0 = 'GPU-1b2c3d4e-0000-1111-2222-333344445555';
const UUID1 = 'GPU-9f8e7d6c-aaaa-bbbb-cccc-ddddeeeeffff';
const XSS = '<img src=x onerror="window.__pwned=1">';

let browser: Browser | undefined;
let page: Page;
let env: ServeEnv | undefined;
let fake: FakeNvidiaSmi | undefined;
let daemonPid = 0;
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install it with \`apt-get install -y chromium\`.`);
  }
  fake = fakeNvidiaSmi();
  fake.onPath();
  env = await serveEnv();
  const serve = await startServe(env);
  daemonPid = await runningDaemonPid(env);
  writeFileSync(
    join(process.env.FAKE_NVIDIA_SMI_DIR!, 'apps.csv'),
    `${UUID0}, ${daemonPid}, python3, 6144\n${UUID1}, 1, ${XSS}, 100\n`,
  );
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(serve.panelUrl);
  await page.waitForSelector('#app[data-loaded="true"]', { timeout: 30_000 });
  await page.click('button[role="tab"][data-view="devices"]');
  await page.waitForSelector('#panel-devices:not([hidden])');
}, 120_000);

afterAll(async () => {
  await browser?.close();
  killAllTracked();
  env?.cleanup();
  fake?.restore();
}, 60_000);

const settingsDevices = async () =>
  JSON.parse((await cliAsync(env!, ['config', 'get', 'daemon.devices'])).stdout) as Record<string, string>;

describe('the Devices tab in Chromium', () => {
  it('shows each GPU by uuid with its memory split, its processes as text, and a VRAM chart', async () => {
    await page.waitForSelector(`article.gpu[data-key="${UUID0}"]`, { timeout: 15_000 });
    const cards = await page.$$eval('article.gpu', (els) => els.map((e) => (e as HTMLElement).dataset.key));
    expect(cards).toEqual([UUID0, UUID1]);
    const card0 = page.locator(`article.gpu[data-key="${UUID0}"]`);
    expect(await card0.locator('header').textContent()).toContain('NVIDIA GeForce RTX 4090');
    // The fake process list was rewritten after serve started, and readings are shared per 2 s
    // interval: the first card may show the reading from before the rewrite. Wait (bounded) for the
    // next interval's reading, then assert on it.
    const split = card0.locator('[data-testid="vram-split"]');
    const expected = 'Luna daemon 6144 MiB · ComfyUI 0 MiB · other 4096 MiB';
    await waitFor(
      async () => (await split.textContent()) === expected,
      'the reading after the rewrite',
      10_000,
    ).catch(() => undefined);
    expect(await split.textContent()).toBe(expected);
    expect(await card0.locator('tr[data-role="daemon"] td').allTextContents()).toEqual([
      String(daemonPid),
      'Luna daemon',
      '6144 MiB',
      'python3',
    ]);
    // Peer text is text: the process name with markup is shown verbatim, never parsed.
    const card1 = page.locator(`article.gpu[data-key="${UUID1}"]`);
    expect(await card1.locator('tr[data-role="other"] td').last().textContent()).toBe(XSS);
    expect(await page.locator('#panel-devices img').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    // The chart fills as samples arrive (one every 2 s while the tab is shown).
    await page.waitForFunction(
      (key) => {
        const path = document.querySelector(
          `article.gpu[data-key="${key}"] svg.vram-chart path[data-layer="daemon"]`,
        );
        return !!path && (path.getAttribute('d') ?? '').split('L').length >= 6;
      },
      UUID0,
      { timeout: 20_000 },
    );
    expect(await card0.locator('svg.vram-chart').getAttribute('aria-label')).toMatch(
      /now daemon 6144 MiB, ComfyUI 0 MiB, other 4096 MiB of 24564 MiB/,
    );
  });

  it('a device picker applies live and saves; the attention mode too', async () => {
    const clip = page.locator('[data-testid="picker-clip"]');
    await waitFor(async () => !(await clip.isDisabled()), 'the pickers enabled', 15_000);
    expect(await clip.locator('option').allTextContents()).toEqual(['cuda:1', 'cpu', 'cuda:0']);
    expect(await clip.inputValue()).toBe('cuda:1');
    await clip.selectOption('cpu');
    await page.waitForSelector('[data-testid="result-clip"]:has-text("(saved)")');
    expect((await settingsDevices()).clip).toBe('cpu');
    expect(await page.locator('[data-testid="error-clip"]').isHidden()).toBe(true);

    const attention = page.locator('[data-testid="picker-attention"]');
    await attention.selectOption('split');
    await page.waitForSelector('[data-testid="result-attention"]:has-text("(saved)")');
    const mode = (await cliAsync(env!, ['config', 'get', 'daemon.attentionMode'])).stdout.trim();
    expect(mode.replace(/"/g, '')).toBe('split');
  });

  it("a refusal is shown next to its control in the daemon's words, and nothing is saved", async () => {
    const vae = page.locator('[data-testid="picker-vae"]');
    // A stale choice (a GPU that went away since the list was read).
    await vae.evaluate((el) => {
      const o = document.createElement('option');
      o.value = 'cuda:7';
      o.textContent = 'cuda:7';
      el.append(o);
    });
    await vae.selectOption('cuda:7');
    const error = page.locator('[data-testid="error-vae"]');
    await error.waitFor({ state: 'visible' });
    expect(await error.textContent()).toBe('Invalid CUDA device: cuda:7. Available: 0-1');
    expect(await page.locator('[data-testid="error-clip"]').isHidden()).toBe(true);
    expect(await vae.inputValue()).toBe('cuda:0');
    expect((await settingsDevices()).vae).toBe('');
    expect(pageErrors).toEqual([]);
  });
});
