import { existsSync } from 'node:fs';

import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { killAllTracked } from '../helpers/processes.js';
import { cliAsync, serveEnv, startServe, type ServeEnv } from '../helpers/serve.js';

/**
 * A first start with nothing configured (`serve` without `--demo`): "comfyui.path is not set" is
 * shown once — in the panel and in `luna-tray status` — and says where to fix it (the Settings field
 * and the CLI command); pressing Start does not add a second copy. Chromium is a prerequisite: without
 * it this file FAILS; it is never skipped.
 */
const CHROMIUM = '/usr/bin/chromium';
const WORDS = 'comfyui.path is not set';

let browser: Browser | undefined;
let page: Page;
let env: ServeEnv | undefined;

const count = (text: string) => text.split(WORDS).length - 1;
const visibleText = () => page.evaluate(() => document.body.innerText);

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install it with \`apt-get install -y chromium\`.`);
  }
  env = await serveEnv();
  const serve = await startServe(env, ['--no-open']);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await page.goto(serve.panelUrl);
  await page.waitForSelector('#app[data-loaded="true"]', { timeout: 30_000 });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  killAllTracked();
  env?.cleanup();
}, 60_000);

describe('a first start with nothing configured', () => {
  it('`luna-tray status` says it once, with the Settings field and the command', async () => {
    const r = await cliAsync(env!, ['status']);
    expect(r.status).toBe(0);
    expect(count(r.stdout)).toBe(1);
    expect(r.stdout).toContain('Settings → ComfyUI → "ComfyUI folder"');
    expect(r.stdout).toContain('luna-tray config set comfyui.path /path/to/ComfyUI');
  });

  it('the panel says it once, and still once after Start is pressed', async () => {
    await page.waitForSelector('[data-testid="warnings"] li');
    expect(count(await visibleText())).toBe(1);
    expect(await page.locator('[data-testid="warnings"]').innerText()).toContain(
      'luna-tray config set comfyui.path',
    );
    await page.click('button[data-action="start"]');
    await page.waitForSelector('.status-header[data-state="failed"]', { timeout: 15_000 });
    await page.waitForFunction(() => !document.querySelector('[data-testid="warnings"] li'));
    // The state line says it; the action error and the problem line do not repeat it.
    expect(await page.locator('[data-testid="state-words"]').innerText()).toContain(WORDS);
    expect(count(await visibleText())).toBe(1);
  });
});
