// The composition root with fakes: fake electron (alias), fake LunaCore, fake control server.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { resolveAppPaths } from '../../src/main/app-paths.js';
import { composeHost, type ComposeDeps, type RunningHost } from '../../src/main/compose.js';
import { E2E_GLOBAL, type E2eHooks } from '../../src/main/e2e-hooks.js';
import { parseFlags } from '../../src/main/flags.js';
import { INVOKE_CHANNELS } from '../../src/shared/contract/invoke.js';
import { colorOf } from '../../src/shared/daemon-status.js';
import {
  app,
  BrowserWindow,
  dialog,
  fakeEnv,
  invokeEventFrom,
  ipcMain,
  Menu,
  Notification,
  resetElectronFake,
  session,
  Tray,
} from '../mocks/electron.js';
import {
  fakeCore,
  flush,
  info,
  memorySettingsStore,
  settings,
  snapshot,
  STATUSES,
} from './helpers/fixtures.js';

class LockHeldError extends Error {
  override name = 'LockHeldError';
  constructor(
    readonly port: number,
    readonly holder: 'luna-tray' | 'foreign',
  ) {
    super(holder === 'foreign' ? `Port 127.0.0.1:${port} is held by another program.` : 'already running');
  }
}

let home: string;
beforeEach(() => {
  resetElectronFake();
  home = mkdtempSync(join(tmpdir(), 'luna-compose-'));
});
afterEach(() => {
  rmSync(home, { recursive: true, force: true });
  delete (globalThis as Record<string, unknown>)[E2E_GLOBAL];
});

/**
 * An installed app's layout with the bundles and the real icons, under a directory whose name has
 * `%` and a space (Electron's loadFile URL and pathToFileURL disagree there).
 */
function appRoot(): string {
  const dir = join(home, 'Luna Tray 100%');
  mkdirSync(join(dir, 'out', 'preload'), { recursive: true });
  mkdirSync(join(dir, 'out', 'renderer'), { recursive: true });
  writeFileSync(join(dir, 'out', 'preload', 'index.cjs'), '');
  writeFileSync(join(dir, 'out', 'renderer', 'index.html'), '<!doctype html>');
  symlinkSync(join(process.cwd(), 'assets'), join(dir, 'assets'));
  return dir;
}

function setup(
  argv: string[] = [],
  opts: {
    lock?: LockHeldError;
    keepDaemonOnExit?: boolean;
    platform?: NodeJS.Platform;
    trayHost?: () => Promise<boolean | null>;
  } = {},
) {
  fakeEnv.platform = opts.platform ?? 'linux';
  const f = fakeCore();
  const store = memorySettingsStore(settings({ app: { keepDaemonOnExit: opts.keepDaemonOnExit ?? false } }));
  const order = app.calls;
  f.core.dispose.mockImplementation(async (o?: { keepDaemon?: boolean }) => {
    await new Promise((r) => setTimeout(r, 10));
    order.push(`dispose:${o?.keepDaemon}`);
  });
  const control = { close: vi.fn(async () => void order.push('control:close')) };
  const startControlServer = vi.fn(async () => {
    if (opts.lock) throw opts.lock;
    return control;
  });
  const requestShow = vi.fn(async () => true);
  const root = appRoot();
  const paths = resolveAppPaths({
    mainDir: join(root, 'out', 'main'),
    isPackaged: false,
    resourcesPath: '/res',
  });
  const log = { info: vi.fn(), error: vi.fn() };
  const deps: ComposeDeps = {
    flags: parseFlags(['electron', '.', ...argv]),
    platform: opts.platform ?? 'linux',
    dataDir: join(home, 'data'),
    paths,
    homeDir: home,
    execPath: '/usr/bin/luna-tray',
    env: {},
    createSettingsStore: () => store,
    createCore: vi.fn(async () => f.core),
    startControlServer,
    requestShow,
    probeTrayHost: opts.trayHost ?? (async () => true),
    trayHostPollMs: 20,
    log,
  };
  return { f, store, control, deps, order, requestShow, paths, log, startControlServer };
}

async function running(s: ReturnType<typeof setup>): Promise<RunningHost> {
  const r = await composeHost(s.deps);
  if (r.kind !== 'running') throw new Error(`expected running, got ${r.kind}`);
  return r;
}

describe('composeHost', () => {
  it('wires core, tray, window, IPC and auto-start', async () => {
    const s = setup();
    const host = await running(s);
    expect(s.deps.createCore).toHaveBeenCalledWith({
      dataDir: join(home, 'data'),
      settingsStore: s.store,
      simulatorPath: s.paths.simulator,
      onQuit: expect.any(Function),
    });
    expect(Tray.instances).toHaveLength(1);
    expect(BrowserWindow.all).toHaveLength(1);
    BrowserWindow.all[0]!.emit('ready-to-show');
    expect(BrowserWindow.all[0]!.isVisible()).toBe(true);
    expect([...ipcMain.handlers.keys()].sort()).toEqual([...INVOKE_CHANNELS].sort());
    expect(s.f.core.autoStart).toHaveBeenCalledWith(1000);
    expect(app.listenerCount('window-all-closed')).toBe(1);
    expect(globalThis).not.toHaveProperty(E2E_GLOBAL);
    expect(host.tray.current()?.tooltip).toBe('Luna daemon — stopped');
    await flush();
    // Every file the shell loads exists: the page loaded, the tray image is not empty.
    expect(Tray.instances[0]!.image.isEmpty()).toBe(false);
    expect(s.log.error).not.toHaveBeenCalled();
  });

  it('a missing panel page or tray icon is logged, not an unhandled rejection or a silent blank', async () => {
    const s = setup();
    rmSync(s.paths.rendererIndex);
    rmSync(join(s.paths.iconsDir, '..', '..', 'assets'));
    await running(s);
    await flush();
    expect(s.log.error).toHaveBeenCalledWith(expect.stringMatching(/tray icon .* missing/), null);
    expect(s.log.error).toHaveBeenCalledWith(
      expect.stringMatching(/panel page .* did not load/),
      expect.objectContaining({ message: expect.stringMatching(/ERR_FILE_NOT_FOUND/) }),
    );
  });

  it('denies every permission and replaces the default menu (no Toggle DevTools)', async () => {
    const s = setup();
    await running(s);
    const wc = BrowserWindow.all[0]!.webContents;
    expect(await session.defaultSession.request('media', wc)).toBe(false);
    expect(session.defaultSession.check('notifications', wc)).toBe(false);
    expect(Menu.applicationMenu).toBeNull();
  });

  it('macOS: a minimal app menu, `activate` shows the panel and steals focus', async () => {
    const s = setup(['--hidden'], { platform: 'darwin' });
    await running(s);
    expect(Menu.applicationMenu?.template.map((m) => m.role)).toEqual(['appMenu', 'editMenu']);
    app.emit('activate', {}, false);
    await flush();
    expect(BrowserWindow.all[0]!.isVisible()).toBe(true);
    expect(app.focusCalls).toEqual([{ steal: true }]);
  });

  it('a second launch (second-instance) shows the panel', async () => {
    const s = setup(['--hidden']);
    await running(s);
    await flush();
    expect(BrowserWindow.all[0]!.isVisible()).toBe(false);
    app.secondInstance(['/usr/bin/luna-tray']);
    expect(BrowserWindow.all[0]!.isVisible()).toBe(true);
  });

  it('Windows: the AppUserModelId is the installer’s appId, so "Check status" is really shown', async () => {
    const s = setup([], { platform: 'win32' });
    const host = await running(s);
    host.tray.trigger('check');
    await flush(5);
    expect(Notification.dropped).toHaveLength(0);
    expect(Notification.shown.map((n) => n.options.title)).toEqual(['Luna daemon status']);
  });

  it('a notification that fails is logged', async () => {
    const s = setup();
    const host = await running(s);
    Notification.failNext = 'the notification server is gone';
    host.tray.trigger('check');
    await flush(5);
    expect(s.log.error).toHaveBeenCalledWith(
      'notification "Luna daemon status" failed: the notification server is gone',
    );
  });

  it('the panel’s Quit (the core’s app:quit → onQuit) runs the exit sequence', async () => {
    app.allowQuit();
    const s = setup();
    await running(s);
    const [opts] = (s.deps.createCore as unknown as { mock: { calls: [{ onQuit: () => void }][] } }).mock
      .calls[0]!;
    opts.onQuit();
    await vi.waitFor(() => expect(app.quitted).toBe(true));
    expect(s.order).toEqual(['dispose:false', 'control:close', 'quit']);
  });

  it('POST /app/quit (`luna-tray quit`) runs the exit sequence: daemon stopped, app quit', async () => {
    app.allowQuit();
    const s = setup();
    await running(s);
    const [opts] = s.startControlServer.mock.calls[0] as unknown as [{ onQuit: () => void }];
    opts.onQuit();
    await vi.waitFor(() => expect(app.quitted).toBe(true));
    expect(s.order).toEqual(['dispose:false', 'control:close', 'quit']);
  });

  it('--hidden keeps the window hidden but loaded', async () => {
    const s = setup(['--hidden']);
    await running(s);
    const win = BrowserWindow.all[0]!;
    win.emit('ready-to-show');
    expect(win.isVisible()).toBe(false);
    expect(win.loaded).toHaveLength(1);
  });

  it('IPC from the panel reaches the core; the sender check uses the real renderer URL', async () => {
    const s = setup();
    await running(s);
    const win = BrowserWindow.all[0]!;
    await flush();
    const ok = await ipcMain.invokeHandler('daemon:start', invokeEventFrom(win, 'main'), {});
    expect(ok).toMatchObject({ ok: true });
    const other = new BrowserWindow();
    other.webContents.mainFrame.url = win.webContents.getURL();
    const no = await ipcMain.invokeHandler('daemon:start', invokeEventFrom(other, 'main'), {});
    expect(no).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(s.f.handlers['daemon:start']).toHaveBeenCalledTimes(1);
  });

  it('status events update the tray icon and are pushed to the window', async () => {
    const s = setup();
    await running(s);
    const running1 = snapshot(STATUSES.running, info());
    s.f.setSnapshot(running1);
    s.f.emit('daemon:status-changed', running1);
    expect(Tray.instances[0]!.imagePath()).toMatch(/tray-green-32\.png$/);
    expect(Tray.instances[0]!.tooltip).toBe('Luna daemon — running · 2 models · 6.1 / 24 GiB VRAM');
    expect(BrowserWindow.all[0]!.webContents.sent.map((m) => m.channel)).toContain('daemon:status-changed');
  });

  it('Exit from the tray stops the daemon (awaited) and closes the control server BEFORE app.quit', async () => {
    app.allowQuit();
    const s = setup();
    await running(s);
    Tray.instances[0]!.menu!.click('exit');
    await vi.waitFor(() => expect(app.quitCalls).toBe(1));
    expect(app.quitted).toBe(true);
    expect(s.order).toEqual(['dispose:false', 'control:close', 'quit']);
    expect(ipcMain.handlers.size).toBe(0);
    expect(Tray.instances[0]!.destroyed).toBe(true);
    expect(BrowserWindow.all[0]!.isDestroyed()).toBe(true);
  });

  it('Exit with keepDaemonOnExit passes keepDaemon: true', async () => {
    app.allowQuit();
    const s = setup([], { keepDaemonOnExit: true });
    await running(s);
    Tray.instances[0]!.menu!.click('exit');
    await vi.waitFor(() => expect(app.quitCalls).toBe(1));
    expect(s.f.core.dispose).toHaveBeenCalledWith({ keepDaemon: true });
  });

  it('tray actions call the core handlers; failures and Check status notify', async () => {
    const s = setup();
    const host = await running(s);
    s.f.handlers['daemon:start'].mockResolvedValueOnce({
      ok: false,
      error: { code: 'operation-failed', message: 'python not found' },
    });
    host.tray.trigger('start');
    host.tray.trigger('check');
    await flush(5);
    expect(s.f.handlers['daemon:start']).toHaveBeenCalledWith({});
    expect(s.f.handlers['daemon:check']).toHaveBeenCalledWith({});
    expect(Notification.shown.map((n) => [n.options.title, n.options.body])).toEqual([
      ['Luna Tray: Start failed', 'python not found'],
      ['Luna daemon status', 'daemon:check ok'],
    ]);
  });

  it('several daemons: worst colour, a submenu per daemon acting on that daemon only, Start all, named notifications', async () => {
    const s = setup();
    await running(s);
    const summary = (id: string, name: string, snap: ReturnType<typeof snapshot>) => ({
      id,
      name,
      enabled: true,
      host: '127.0.0.1',
      port: id === 'clip' ? 19283 : 19284,
      wsPort: 0,
      state: snap.status.state,
      color: colorOf(snap.status),
      pid: null,
      models: [],
      vram: [],
      snapshot: snap,
    });
    s.f.emit('daemons:changed', {
      daemons: [
        summary('clip', 'CLIP', snapshot(STATUSES.running, info())),
        summary('vae', 'VAE', snapshot(STATUSES.running, info())),
      ],
    });
    const tray = Tray.instances[0]!;
    expect(tray.imagePath()).toMatch(/tray-green-32\.png$/);
    expect(tray.menu!.template.filter((i) => i.type === 'submenu').map((i) => i.id)).toEqual([
      'submenu:clip',
      'submenu:vae',
    ]);
    // The VAE daemon crashes: the icon turns red, the notification names it.
    s.f.emit('daemons:changed', {
      daemons: [
        summary('clip', 'CLIP', snapshot(STATUSES.running, info())),
        summary('vae', 'VAE', snapshot(STATUSES.backoff)),
      ],
    });
    expect(tray.imagePath()).toMatch(/tray-red-32\.png$/);
    expect(Notification.shown.map((n) => n.options.title)).toEqual(['Luna daemon VAE crashed']);
    tray.menu!.click('daemon:vae:restart');
    tray.menu!.click('start-all');
    await flush(5);
    expect(s.f.handlers['daemon:restart']).toHaveBeenCalledWith({ daemon: 'vae' });
    expect(s.f.handlers['daemons:act']).toHaveBeenCalledWith({ action: 'start' });
    expect(s.f.handlers['daemon:stop']).not.toHaveBeenCalled();
    // A daemon's View logs opens the Logs view narrowed to it.
    const win = BrowserWindow.all[0]!;
    win.webContents.emit('did-finish-load');
    tray.menu!.click('daemon:vae:view-logs');
    await flush(5);
    expect(
      win.webContents.sent.filter((m) => m.channel === 'app:navigate').map((m) => m.args[0]),
    ).toContainEqual({
      view: 'logs',
      daemon: 'vae',
    });
  });

  it('ComfyUI job failures become notifications', async () => {
    const s = setup();
    let fire: (url: string, message: string) => void = () => {};
    s.deps.subscribeJobFailures = (l) => {
      fire = l;
      return () => {};
    };
    await running(s);
    fire('http://127.0.0.1:8188', 'CUDA out of memory');
    expect(Notification.shown.map((n) => [n.options.title, n.options.body])).toEqual([
      ['ComfyUI job failed (http://127.0.0.1:8188)', 'CUDA out of memory'],
    ]);
  });

  it('View logs opens the window on the Logs view', async () => {
    const s = setup(['--hidden']);
    const host = await running(s);
    const win = BrowserWindow.all[0]!;
    win.webContents.emit('did-finish-load');
    host.tray.trigger('view-logs');
    await flush();
    expect(win.isVisible()).toBe(true);
    expect(win.webContents.sent.at(-1)).toEqual({ channel: 'app:navigate', args: [{ view: 'logs' }] });
  });

  it('Open at login toggles the OS entry through the settings mirror', async () => {
    const s = setup();
    const host = await running(s);
    host.tray.trigger('open-at-login');
    await flush();
    expect(host.loginItem.isEnabled()).toBe(true);
    expect(s.store.get().app.openAtLogin).toBe(true);
    expect(Tray.instances[0]!.menu!.template.find((i) => i.id === 'open-at-login')?.checked).toBe(true);
  });

  it('another Luna Tray holds the lock: asks it to show, leaves the daemon alone', async () => {
    const s = setup([], { lock: new LockHeldError(19299, 'luna-tray') });
    expect(await composeHost(s.deps)).toEqual({ kind: 'handed-over' });
    expect(s.requestShow).toHaveBeenCalledWith(19299, join(home, 'data'));
    expect(s.f.core.dispose).toHaveBeenCalledWith({ keepDaemon: true });
    expect(Tray.instances).toHaveLength(0);
  });

  it('a foreign program holds the lock: error dialog naming the port', async () => {
    const s = setup(['--control-port=19400'], { lock: new LockHeldError(19400, 'foreign') });
    const r = await composeHost(s.deps);
    expect(r).toMatchObject({ kind: 'lock-foreign' });
    expect(dialog.errorBoxes[0]?.content).toContain('19400');
    expect(s.requestShow).not.toHaveBeenCalled();
  });

  it('Linux without a tray host: no Tray, the window shows even with --hidden, closing it quits', async () => {
    app.allowQuit();
    const s = setup(['--hidden'], { trayHost: async () => false });
    await running(s);
    expect(Tray.instances).toHaveLength(0);
    const win = BrowserWindow.all[0]!;
    await flush();
    expect(win.isVisible()).toBe(true);
    win.close();
    await vi.waitFor(() => expect(app.quitted).toBe(true));
    expect(s.f.core.dispose).toHaveBeenCalledWith({ keepDaemon: false });
  });

  it('a tray host that appears later gets the tray, and closing the window then only hides it', async () => {
    let host = false;
    const s = setup(['--hidden'], { trayHost: async () => host });
    await running(s);
    expect(Tray.instances).toHaveLength(0);
    host = true;
    await vi.waitFor(() => expect(Tray.instances).toHaveLength(1));
    const win = BrowserWindow.all[0]!;
    win.close();
    expect(win.isDestroyed()).toBe(false);
    expect(win.isVisible()).toBe(false);
  });

  it('Tray is never the judge: an unknown answer (no D-Bus tools) keeps the tray', async () => {
    const s = setup(['--hidden'], { trayHost: async () => null });
    await running(s);
    expect(Tray.instances).toHaveLength(1);
  });

  it('--e2e-hooks installs the hooks: force a status, read the tray, click items', async () => {
    const s = setup(['--e2e-hooks']);
    await running(s);
    const hooks = (globalThis as Record<string, unknown>)[E2E_GLOBAL] as E2eHooks;
    hooks.forceStatus(STATUSES.failed);
    expect(hooks.tray()?.imagePath).toMatch(/tray-red-32\.png$/);
    hooks.forceStatus(STATUSES.starting);
    expect(hooks.tray()?.imagePath).toMatch(/tray-yellow-32\.png$/);
    hooks.click('view-logs');
    await flush();
    expect(hooks.panel()).toEqual({ visible: true, lastView: 'logs' });
  });
});

describe('parseFlags', () => {
  it('reads the app flags and ignores the rest', () => {
    expect(parseFlags(['electron', '.', '--hidden', '--no-sandbox'])).toEqual({
      hidden: true,
      e2eHooks: false,
      dataDir: null,
      controlPort: 19299,
    });
    expect(parseFlags(['x', '--e2e-hooks', '--data-dir=/tmp/a b', '--control-port=20001'])).toEqual({
      hidden: false,
      e2eHooks: true,
      dataDir: '/tmp/a b',
      controlPort: 20001,
    });
    expect(parseFlags(['x', '--control-port=nope']).controlPort).toBe(19299);
  });
});
