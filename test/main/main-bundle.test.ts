// The closest thing to running the app without an Electron binary: bundle src/main/index.ts exactly
// as scripts/build.mjs does, run it under plain Node with the fake `electron` module injected, on
// the REAL core and the Python simulator. Proves the bundle loads, composes, starts the daemon from
// the tray (icon turns green) and that Exit stops the daemon before quitting (no process left).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as esbuild from 'esbuild';
import getPort from 'get-port';
import { afterAll, describe, expect, it } from 'vitest';

import { exited, isAlive, killAllTracked, track } from '../helpers/processes.js';
import { pythonExecutable } from '../helpers/python.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

// Runs inside the child: inject the fake, drive the tray through the e2e hooks, print one JSON line.
const HARNESS = `
const Module = require('module');
const fake = require('./fake-electron.cjs');
const load = Module._load;
Module._load = function (req, ...rest) { return req === 'electron' ? fake : load.call(this, req, ...rest); };
fake.app.allowQuit();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
require('./index.cjs');
(async () => {
  let h;
  for (let i = 0; i < 100 && !(h = globalThis.__lunaTrayE2E); i++) await sleep(100);
  const first = h.tray();
  h.click('start');
  for (let i = 0; i < 120; i++) {
    await sleep(250);
    if (/tray-green/.test(h.tray().imagePath)) break;
  }
  const started = h.tray();
  const refused = await fake.ipcMain.invokeHandler('daemon:get-snapshot', { sender: {}, senderFrame: null }, {});
  // The panel's own page, as the real renderer would call: allowed, and it tells us the daemon PID.
  const panel = fake.BrowserWindow.all[0];
  const snap = await fake.ipcMain.invokeHandler('daemon:get-snapshot', fake.invokeEventFrom(panel, 'main'), {});
  h.click('exit');
  for (let i = 0; i < 80 && !fake.app.quitted; i++) await sleep(250);
  console.log('RESULT ' + JSON.stringify({ first, started, refused, snap, quitCalls: fake.app.quitCalls, quitted: fake.app.quitted }));
  process.exit(0);
})();
`;

let dir = '';
afterAll(() => {
  killAllTracked();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('out/main bundle under plain Node with the fake electron', () => {
  it('starts the simulator from the tray and stops it on Exit', async () => {
    dir = mkdtempSync(join(tmpdir(), 'luna-main-bundle-'));
    const mainDir = join(dir, 'out', 'main');
    mkdirSync(mainDir, { recursive: true });
    symlinkSync(join(root, 'sim'), join(dir, 'sim'));
    symlinkSync(join(root, 'assets'), join(dir, 'assets'));
    // The page must exist: Electron's loadFile rejects a missing file, and IPC then has no page.
    symlinkSync(join(root, 'out', 'renderer'), join(dir, 'out', 'renderer'));
    const common = {
      absWorkingDir: root,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      logLevel: 'silent',
    } as const;
    await esbuild.build({
      ...common,
      entryPoints: ['src/main/index.ts'],
      outfile: join(mainDir, 'index.cjs'),
      external: ['electron'],
    });
    await esbuild.build({
      ...common,
      entryPoints: ['test/mocks/electron.ts'],
      outfile: join(mainDir, 'fake-electron.cjs'),
    });
    writeFileSync(join(mainDir, 'harness.cjs'), HARNESS);

    const dataDir = join(dir, 'data');
    mkdirSync(dataDir);
    const daemonPort = await getPort();
    writeFileSync(
      join(dataDir, 'settings.json'),
      JSON.stringify({
        daemon: { profile: 'simulator', command: pythonExecutable(), port: daemonPort, wsPort: 0 },
        comfyui: { instances: [] },
      }),
    );
    const child = spawn(
      process.execPath,
      [
        'harness.cjs',
        '--e2e-hooks',
        '--hidden',
        `--data-dir=${dataDir}`,
        `--control-port=${await getPort()}`,
      ],
      { cwd: mainDir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    track(child.pid);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const { code } = await exited(child);
    const line = out.split('\n').find((l) => l.startsWith('RESULT '));
    expect(line, out).toBeDefined();
    const r = JSON.parse(line!.slice(7)) as {
      first: { imagePath: string; tooltip: string };
      started: { imagePath: string; tooltip: string };
      refused: { ok: boolean; error?: { code: string } };
      snap: { ok: boolean; value?: { status: { state: string; pid?: number | null } } };
      quitCalls: number;
      quitted: boolean;
    };
    expect(code).toBe(0);
    expect(r.first.imagePath).toMatch(/tray-gray-32\.png$/);
    expect(r.started.imagePath, out).toMatch(/tray-green-32\.png$/);
    expect(r.started.tooltip).toMatch(/^Luna daemon — running/);
    // An invoke from an unknown sender is refused by the real wiring.
    expect(r.refused).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(r.quitCalls).toBe(1);
    expect(r.quitted).toBe(true);
    expect(r.snap.value?.status.state).toBe('running');
    const pid = r.snap.value?.status.pid;
    expect(typeof pid).toBe('number');
    // Exit stopped the daemon: its PID is gone and nothing answers on its port any more.
    expect(isAlive(pid!)).toBe(false);
    const { createConnection } = await import('node:net');
    const refused = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port: daemonPort });
      s.once('connect', () => (s.destroy(), resolve(false)));
      s.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
  }, 60_000);
});
