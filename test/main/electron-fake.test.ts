// The fake `electron` itself: it must behave like Electron 39 where the shell depends on it, or a
// broken shell passes its tests (docs/desktop.md, "The fake electron").
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import {
  app,
  BrowserWindow,
  fakeEnv,
  loadFileUrl,
  nativeImage,
  Notification,
  resetElectronFake,
  session,
  Tray,
  UnexpectedQuitError,
} from '../mocks/electron.js';
import { flush } from './helpers/fixtures.js';

const root = process.cwd();
let dir: string;
beforeEach(() => {
  resetElectronFake();
  dir = mkdtempSync(join(tmpdir(), 'luna-fake-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('fake Tray and nativeImage', () => {
  it('new Tray() never throws, even with a missing icon: the image is just empty', () => {
    const t = new Tray(nativeImage.createFromPath('/nonexistent/tray.png'));
    expect(t.image.isEmpty()).toBe(true);
    expect(new Tray('/nonexistent/x.png').image.isEmpty()).toBe(true);
  });

  it('createFromPath reads the file: real PNG/ICO sizes, @2x siblings, empty for junk or relative paths', () => {
    const png = nativeImage.createFromPath(join(root, 'assets/icons/tray-gray.png'));
    expect(png.isEmpty()).toBe(false);
    expect(png.getSize()).toEqual({ width: 16, height: 16 });
    expect(png.scaleFactors).toEqual([1, 2]);
    expect(nativeImage.createFromPath(join(root, 'assets/icons/icon.ico')).isEmpty()).toBe(false);
    writeFileSync(join(dir, 'junk.png'), 'not an image');
    expect(nativeImage.createFromPath(join(dir, 'junk.png')).isEmpty()).toBe(true);
    expect(nativeImage.createFromPath('assets/icons/tray-gray.png').isEmpty()).toBe(true);
  });
});

describe('fake app', () => {
  it('getName() is productName (else name) of the app package.json, "Electron" without one', () => {
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'luna-tray' }));
    app.appPath = dir;
    expect(app.getName()).toBe('luna-tray');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'luna-tray', productName: 'Luna Tray' }));
    expect(app.getName()).toBe('Luna Tray');
    app.appPath = join(dir, 'nowhere');
    expect(app.getName()).toBe('Electron');
  });

  it('quit(): before-quit → windows closed → will-quit → quit; a refusing window or listener cancels it', () => {
    expect(() => app.quit()).toThrow(UnexpectedQuitError);
    app.allowQuit();
    const seen: string[] = [];
    const w = new BrowserWindow();
    w.on('close', (e: { preventDefault(): void }) => {
      seen.push('close');
      e.preventDefault();
    });
    app.on('before-quit', () => seen.push('before-quit'));
    app.on('will-quit', () => seen.push('will-quit'));
    app.quit();
    expect(seen).toEqual(['before-quit', 'close']);
    expect(app.quitted).toBe(false);
    w.removeAllListeners('close');
    app.quit();
    expect(seen).toEqual(['before-quit', 'close', 'before-quit', 'will-quit']);
    expect(w.isDestroyed()).toBe(true);
    expect(app.quitted).toBe(true);
  });

  it('closing the last window quits unless someone listens to window-all-closed', () => {
    app.allowQuit();
    new BrowserWindow().close();
    expect(app.quitted).toBe(true);
    resetElectronFake();
    const l = vi.fn();
    app.on('window-all-closed', l);
    new BrowserWindow().close();
    expect(l).toHaveBeenCalledTimes(1);
  });

  it('second-instance and the single-instance lock', () => {
    expect(app.requestSingleInstanceLock()).toBe(true);
    app.otherInstanceRunning = true;
    expect(app.requestSingleInstanceLock()).toBe(false);
    const l = vi.fn();
    app.on('second-instance', l);
    app.secondInstance(['luna-tray', '--hidden'], '/home/u');
    expect(l).toHaveBeenCalledWith(expect.anything(), ['luna-tray', '--hidden'], '/home/u', {});
  });

  it('setAppUserModelId exists on Windows only; disableHardwareAcceleration only before ready', () => {
    expect(() => app.setAppUserModelId('x')).toThrow(TypeError);
    fakeEnv.platform = 'win32';
    app.setAppUserModelId('io.example');
    expect(app.currentAppUserModelId()).toBe('io.example');
    expect(() => app.disableHardwareAcceleration()).toThrow(/before app is ready/);
    app.ready = false;
    app.disableHardwareAcceleration();
    expect(app.hardwareAccelerationDisabled).toBe(true);
  });

  it('login item settings have each platform’s shape', () => {
    fakeEnv.platform = 'win32';
    app.setLoginItemSettings({ openAtLogin: true, args: ['--hidden'] });
    expect(app.getLoginItemSettings().openAtLogin).toBe(false); // args must match
    const win = app.getLoginItemSettings({ args: ['--hidden'] });
    expect(win).toMatchObject({ openAtLogin: true, executableWillLaunchAtLogin: true });
    expect(win.launchItems).toHaveLength(1);
    expect(win.status).toBeUndefined();
    app.disableRunEntryByUser();
    expect(app.getLoginItemSettings({ args: ['--hidden'] })).toMatchObject({
      openAtLogin: true,
      executableWillLaunchAtLogin: false,
    });

    fakeEnv.platform = 'darwin';
    fakeEnv.macLoginItemNeedsApproval = true;
    app.setLoginItemSettings({ openAtLogin: true });
    const mac = app.getLoginItemSettings();
    expect(mac).toMatchObject({ openAtLogin: false, status: 'requires-approval' });
    expect(mac.launchItems).toBeUndefined();

    fakeEnv.platform = 'linux';
    app.setLoginItemSettings({ openAtLogin: true });
    expect(app.getLoginItemSettings()).toEqual({ openAtLogin: false });
  });
});

describe('fake Notification', () => {
  it('can fail (failed event) and is dropped on Windows without the installer’s AppUserModelId', async () => {
    Notification.failNext = 'toast failed';
    const n = new Notification({ title: 't' });
    const failed = vi.fn();
    n.on('failed', failed);
    n.show();
    await flush();
    expect(failed).toHaveBeenCalledWith(expect.anything(), 'toast failed');
    expect(Notification.shown).toHaveLength(0);

    fakeEnv.platform = 'win32';
    new Notification({ title: 'a' }).show();
    expect(Notification.dropped).toHaveLength(1);
    app.setAppUserModelId('io.github.lunatray.app'); // electron-builder.yml appId
    new Notification({ title: 'b' }).show();
    expect(Notification.shown.map((x) => x.options.title)).toEqual(['b']);
  });
});

describe('fake BrowserWindow and session', () => {
  it('loadFile rejects for a missing file and builds the URL like Electron (not pathToFileURL)', async () => {
    const w = new BrowserWindow({ show: false });
    const failed = vi.fn();
    w.webContents.on('did-fail-load', failed);
    await expect(w.loadFile(join(dir, 'missing.html'))).rejects.toThrow(/ERR_FILE_NOT_FOUND/);
    expect(failed).toHaveBeenCalled();

    const odd = join(dir, '100% sure');
    mkdirSync(odd);
    writeFileSync(join(odd, 'index.html'), '<!doctype html>');
    const ready = vi.fn();
    w.on('ready-to-show', ready);
    await w.loadFile(join(odd, 'index.html'));
    expect(ready).toHaveBeenCalledTimes(1);
    expect(w.webContents.getURL()).toBe(loadFileUrl(join(odd, 'index.html')));
    expect(w.webContents.getURL()).not.toBe(pathToFileURL(join(odd, 'index.html')).href);
    expect(w.webContents.getURL()).toContain('100%%20sure');
  });

  it('permissions are granted unless the app installs handlers', async () => {
    const w = new BrowserWindow();
    expect(await session.defaultSession.request('media', w.webContents)).toBe(true);
    expect(session.defaultSession.check('notifications', w.webContents)).toBe(true);
  });
});
