// Playwright `_electron` specs (docs/architecture.md §16): the real app (out/main/index.cjs) against the
// Python simulator, in an isolated data directory, driven through the `--e2e-hooks` test hooks.
// Besides the tray smoke specs: Linux without a tray host, the exit paths (each must stop the
// daemon), a second launch, and the panel's lockdown (docs/desktop.md).
//
// No Electron binary (it cannot be downloaded on the build machines) → every spec is SKIPPED with an
// explicit message, printed and written to test-results/skipped-electron.txt so the test runner
// summary lists it. A skipped spec never counts as passing.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
import { exited, isAlive, track, waitForPidGone } from '../helpers/processes.js';
import { pythonExecutable } from '../helpers/python.js';
import { cli, cliAsync } from '../helpers/serve.js';

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

  beforeAll(async () => {
    if (!binary) return;
    app = (await launch()).app;
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

// ---------------------------------------------------------------------------------------------
// One app per spec below: each ends it (or checks that it ended).

interface Launched {
  app: ElectronApplication;
  dataDir: string;
  port: number;
  /** The Electron process (the main process PID). */
  pid: number;
}

const launched: Launched[] = [];
afterAll(async () => {
  for (const l of launched.splice(0)) {
    await l.app.close().catch(() => {
      // Already exited: the spec quit it.
    });
    rmSync(l.dataDir, { recursive: true, force: true });
  }
});

/** Electron switches every launch needs (root in a container has no sandbox). */
const baseArgs = () => (process.getuid?.() === 0 ? ['--no-sandbox'] : []);

/**
 * A `gdbus` that answers like a session bus with no StatusNotifierWatcher (plain GNOME), first on
 * PATH: the app's own D-Bus probe then finds no tray host (src/main/tray/tray-host.ts).
 */
function noTrayHostPath(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const gdbus = join(bin, 'gdbus');
  writeFileSync(
    gdbus,
    '#!/bin/sh\necho "Error: GDBus.Error:org.freedesktop.DBus.Error.ServiceUnknown: The name org.kde.StatusNotifierWatcher was not provided by any .service files" >&2\nexit 1\n',
  );
  chmodSync(gdbus, 0o755);
  return `${bin}:${process.env.PATH ?? ''}`;
}

async function launch(extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Launched> {
  if (!existsSync(MAIN))
    throw new Error(`${MAIN} is missing: run \`npm run build\` before the Electron e2e specs.`);
  const dataDir = mkdtempSync(join(tmpdir(), 'luna-e2e-'));
  const [daemonPort, port] = [await getPort(), await getPort()];
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
  const app = await _electron.launch({
    executablePath: binary!,
    args: [
      ...baseArgs(),
      MAIN,
      '--e2e-hooks',
      `--data-dir=${dataDir}`,
      `--control-port=${port}`,
      ...extraArgs,
    ],
    env: { ...process.env, ELECTRON_ENABLE_LOGGING: '1', ...env },
    timeout: 60_000,
  });
  const l = { app, dataDir, port, pid: app.process().pid! };
  launched.push(l);
  await expect
    .poll(() => app.evaluate(() => typeof (globalThis as Partial<Hooked>).__lunaTrayE2E), { timeout: 30_000 })
    .toBe('object');
  return l;
}

/** Start the simulator through the tray action and return its PID once it runs. */
async function startDaemon(l: Launched): Promise<number> {
  await l.app.evaluate(() => (globalThis as Hooked).__lunaTrayE2E.click('start'));
  let pid: number | null = null;
  await expect
    .poll(
      () => {
        const s = JSON.parse(
          cli({ dataDir: l.dataDir, port: l.port }, ['status', '--json']).stdout || '{}',
        ) as {
          state?: string;
          pid?: number | null;
        };
        pid = s.pid ?? null;
        return s.state;
      },
      { timeout: 60_000 },
    )
    .toBe('running');
  return pid!;
}

describe('Electron app: Linux without a tray host (e2e)', () => {
  it('shows the window even with --hidden, has no tray, and closing the window quits and stops the daemon', async (ctx) => {
    ctx.skip(!binary, SKIP_MESSAGE);
    ctx.skip(process.platform !== 'linux', 'Linux only: the tray host probe asks D-Bus');
    const dir = mkdtempSync(join(tmpdir(), 'luna-e2e-bin-'));
    try {
      const l = await launch(['--hidden'], { PATH: noTrayHostPath(dir) });
      await expect
        .poll(() => l.app.evaluate(() => (globalThis as Hooked).__lunaTrayE2E.panel().visible), {
          timeout: 15_000,
        })
        .toBe(true);
      expect(await l.app.evaluate(() => (globalThis as Hooked).__lunaTrayE2E.tray())).toBeNull();
      const daemon = await startDaemon(l);
      const closed = new Promise<void>((resolve) => l.app.once('close', () => resolve()));
      await l.app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows()[0]?.close());
      await closed;
      await waitForPidGone(daemon, 15_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Electron app: exit paths stop the daemon (e2e)', () => {
  it('`luna-tray quit` runs Exit: the daemon stops, then the app', async (ctx) => {
    ctx.skip(!binary, SKIP_MESSAGE);
    const l = await launch(['--hidden']);
    const daemon = await startDaemon(l);
    const q = await cliAsync({ dataDir: l.dataDir, port: l.port }, ['quit']);
    expect(q.status, q.stderr).toBe(0);
    expect(isAlive(daemon)).toBe(false);
    await waitForPidGone(l.pid, 15_000);
  });

  it('SIGTERM (log-out, shutdown) runs the same Exit', async (ctx) => {
    ctx.skip(!binary, SKIP_MESSAGE);
    ctx.skip(process.platform === 'win32', 'no SIGTERM on Windows');
    const l = await launch(['--hidden']);
    const daemon = await startDaemon(l);
    process.kill(l.pid, 'SIGTERM');
    await waitForPidGone(daemon, 15_000);
    await waitForPidGone(l.pid, 15_000);
  });
});

describe('Electron app: a second launch (e2e)', () => {
  it('exits 0 at once and the first instance shows its panel', async (ctx) => {
    ctx.skip(!binary, SKIP_MESSAGE);
    const l = await launch(['--hidden']);
    expect(await l.app.evaluate(() => (globalThis as Hooked).__lunaTrayE2E.panel().visible)).toBe(false);
    const second = spawn(
      binary!,
      [...baseArgs(), MAIN, `--data-dir=${l.dataDir}`, `--control-port=${l.port}`],
      { stdio: 'ignore' },
    );
    track(second.pid);
    expect((await exited(second)).code).toBe(0);
    await expect
      .poll(() => l.app.evaluate(() => (globalThis as Hooked).__lunaTrayE2E.panel().visible), {
        timeout: 15_000,
      })
      .toBe(true);
    // The CLI given to the desktop app is refused, not taken for a launch.
    const refused = spawn(binary!, [...baseArgs(), MAIN, 'stop'], { stdio: 'ignore' });
    track(refused.pid);
    expect((await exited(refused)).code).toBe(2);
  });
});

describe('Electron app: the panel is locked down (e2e)', () => {
  it('no require or process in the page, window.open denied, no navigation away', async (ctx) => {
    ctx.skip(!binary, SKIP_MESSAGE);
    const l = await launch();
    const page = await l.app.firstWindow();
    await page.waitForLoadState('domcontentloaded');
    const start = page.url();
    expect(start).toMatch(/out\/renderer\/index\.html/);
    expect(
      await page.evaluate(() => [
        typeof (globalThis as { require?: unknown }).require,
        typeof (globalThis as { process?: unknown }).process,
      ]),
    ).toEqual(['undefined', 'undefined']);
    expect(await page.evaluate(() => window.open('https://example.com/') === null)).toBe(true);
    expect(l.app.windows()).toHaveLength(1);
    await page.evaluate(() => {
      window.location.href = 'https://example.com/';
    });
    await new Promise((r) => setTimeout(r, 1000));
    expect(page.url()).toBe(start);
    // The bridge is there, and it is the only thing exposed.
    expect(await page.evaluate(() => typeof (window as { lunaTray?: unknown }).lunaTray)).toBe('object');
  });
});
