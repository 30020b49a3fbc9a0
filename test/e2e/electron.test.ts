// Playwright `_electron` smoke specs (STYLE.md §16.5): the real app (out/main/index.cjs) against the
// Python simulator, in an isolated data directory, driven through the `--e2e-hooks` test hooks.
//
// No Electron binary (it cannot be downloaded on the build machines) → every spec is SKIPPED with an
// explicit message, printed and written to test-results/skipped-electron.txt so the test runner
// summary lists it. A skipped spec never counts as passing.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import getPort from 'get-port';
import { _electron, type ElectronApplication } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { E2eHooks } from '../../src/main/e2e-hooks.js';
import type { TrayAction } from '../../src/main/tray/tray-menu.js';
import type { DaemonStatus } from '../../src/shared/daemon-status.js';
import { pythonExecutable } from '../helpers/python.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(root, 'out', 'main', 'index.cjs');

/** The message every spec is skipped with when there is no binary. */
const SKIP_MESSAGE =
  'Electron binary not installed: Electron e2e specs NOT RUN (install Electron to run them)';

/** The Electron executable, or null: the package's main export throws without a downloaded binary. */
function resolveElectronBinary(): string | null {
  try {
    const p: unknown = createRequire(import.meta.url)('electron');
    return typeof p === 'string' && existsSync(p) ? p : null;
  } catch {
    // "Electron failed to install correctly…": the binary was never downloaded. Reported below.
    return null;
  }
}

const binary = resolveElectronBinary();
if (!binary) {
  console.warn(SKIP_MESSAGE);
  mkdirSync(join(root, 'test-results'), { recursive: true });
  writeFileSync(join(root, 'test-results', 'skipped-electron.txt'), `${SKIP_MESSAGE}\n`);
}

type Hooked = typeof globalThis & { __lunaTrayE2E: E2eHooks };

describe('Electron app (e2e)', () => {
  let app: ElectronApplication | null = null;
  let dataDir = '';

  beforeAll(async () => {
    if (!binary) return;
    // A binary without a build is a broken setup, not a reason to skip.
    if (!existsSync(MAIN))
      throw new Error(`${MAIN} is missing: run \`npm run build\` before the Electron e2e specs.`);
    dataDir = mkdtempSync(join(tmpdir(), 'luna-e2e-'));
    const [daemonPort, controlPort] = [await getPort(), await getPort()];
    writeFileSync(
      join(dataDir, 'settings.json'),
      JSON.stringify({
        daemon: {
          profile: 'simulator',
          command: pythonExecutable(),
          port: daemonPort,
          wsPort: 0,
          autoStart: false,
        },
        comfyui: { instances: [] },
        app: { notifications: false },
      }),
    );
    app = await _electron.launch({
      executablePath: binary,
      args: [
        ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
        MAIN,
        '--e2e-hooks',
        `--data-dir=${dataDir}`,
        `--control-port=${controlPort}`,
      ],
      env: { ...process.env, ELECTRON_ENABLE_LOGGING: '1' },
      timeout: 60_000,
    });
    // The hooks appear once the composition root has run.
    await expect
      .poll(() => app!.evaluate(() => typeof (globalThis as Partial<Hooked>).__lunaTrayE2E), {
        timeout: 30_000,
      })
      .toBe('object');
  });

  afterAll(async () => {
    await app?.close().catch(() => {
      // Already exited (the Exit spec quits the app): nothing to close.
    });
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const trayImage = () => app!.evaluate(() => (globalThis as Hooked).__lunaTrayE2E.tray()?.imagePath ?? null);
  const force = (s: DaemonStatus | null) =>
    app!.evaluate((_e, st) => (globalThis as Hooked).__lunaTrayE2E.forceStatus(st), s);
  const click = (a: TrayAction) =>
    app!.evaluate((_e, action) => (globalThis as Hooked).__lunaTrayE2E.click(action), a);

  it('starts stopped with the gray tray icon and a status tooltip', async (ctx) => {
    ctx.skip(!binary, SKIP_MESSAGE);
    expect(await trayImage()).toMatch(/tray-gray(-32)?\.png$/);
    const tooltip = await app!.evaluate(() => (globalThis as Hooked).__lunaTrayE2E.tray()?.tooltip);
    expect(tooltip).toMatch(/^Luna daemon — stopped/);
  });

  it('changes the tray icon colour with the status', async (ctx) => {
    ctx.skip(!binary, SKIP_MESSAGE);
    const at = Date.now();
    const cases: [DaemonStatus, string][] = [
      [{ state: 'starting', at, pid: 1, attempt: 1 }, 'yellow'],
      [{ state: 'running', at, pid: 1, since: at, adopted: false, generation: 'current' }, 'green'],
      [{ state: 'failed', at, kind: 'crash-loop', message: 'x' }, 'red'],
    ];
    for (const [status, colour] of cases) {
      await force(status);
      expect(await trayImage()).toMatch(new RegExp(`tray-${colour}(-32)?\\.png$`));
    }
    await force(null);
    expect(await trayImage()).toMatch(/tray-gray(-32)?\.png$/);
  });

  it('"View logs" opens the window on the Logs view', async (ctx) => {
    ctx.skip(!binary, SKIP_MESSAGE);
    await click('view-logs');
    await expect
      .poll(() => app!.evaluate(() => (globalThis as Hooked).__lunaTrayE2E.panel()), { timeout: 15_000 })
      .toEqual({ visible: true, lastView: 'logs' });
    const page = await app!.firstWindow();
    expect(page.url()).toMatch(/out\/renderer\/index\.html/);
  });

  it('Start runs the simulator until the tray turns green; Exit stops it and quits', async (ctx) => {
    ctx.skip(!binary, SKIP_MESSAGE);
    await click('start');
    await expect.poll(trayImage, { timeout: 60_000 }).toMatch(/tray-green(-32)?\.png$/);
    const closed = new Promise<void>((resolve) => app!.once('close', () => resolve()));
    await click('exit');
    await closed;
    app = null;
  });
});
