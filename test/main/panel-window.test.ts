import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { beforeEach, describe, expect, it, vi } from 'vitest';

import { PanelWindow } from '../../src/main/windows/panel-window.js';
import { flush } from './helpers/fixtures.js';
import { app, BrowserWindow, fakeEvent, resetElectronFake, shell } from '../mocks/electron.js';

beforeEach(() => resetElectronFake());

function setup(reallyClose = false) {
  const flags = { reallyClose };
  const onClosed = vi.fn();
  const panel = new PanelWindow({
    preloadPath: '/app/out/preload/index.cjs',
    rendererIndexPath: '/app/out/renderer/index.html',
    shouldReallyClose: () => flags.reallyClose,
    onClosed,
  });
  return { panel, flags, onClosed };
}

describe('PanelWindow', () => {
  it('creates one locked-down window that loads the bundled page and shows on ready-to-show', () => {
    const { panel } = setup();
    panel.show();
    panel.show();
    expect(BrowserWindow.all).toHaveLength(1);
    const win = BrowserWindow.all[0]!;
    expect(win.options).toMatchObject({
      width: 900,
      height: 640,
      show: false,
      webPreferences: {
        preload: '/app/out/preload/index.cjs',
        sandbox: true,
        contextIsolation: true,
        nodeIntegration: false,
        webviewTag: false,
      },
    });
    expect(win.loaded).toEqual(['/app/out/renderer/index.html']);
    win.emit('ready-to-show');
    expect(win.isVisible()).toBe(true);
  });

  it('ensure({showWhenReady:false}) loads the page but stays hidden (--hidden start)', () => {
    const { panel } = setup();
    panel.ensure({ showWhenReady: false });
    const win = BrowserWindow.all[0]!;
    win.emit('ready-to-show');
    expect(win.isVisible()).toBe(false);
    panel.show();
    expect(win.isVisible()).toBe(true);
  });

  it('denies window.open (external http links go to the browser) and navigation away', () => {
    const { panel } = setup();
    panel.show();
    const wc = BrowserWindow.all[0]!.webContents;
    expect(wc.windowOpenHandler?.({ url: 'https://example.com/docs' } as never)).toEqual({ action: 'deny' });
    expect(shell.opened).toEqual(['https://example.com/docs']);
    expect(wc.windowOpenHandler?.({ url: 'file:///etc/passwd' } as never)).toEqual({ action: 'deny' });
    expect(shell.opened).toHaveLength(1);
    const nav = fakeEvent();
    wc.emit('will-navigate', nav, 'https://evil.example');
    expect(nav.defaultPrevented).toBe(true);
  });

  it('closing hides to the tray unless quitting', () => {
    // The host listens (compose.ts); without a listener Electron quits when the last window closes.
    app.on('window-all-closed', () => {});
    const { panel, flags, onClosed } = setup();
    panel.show();
    const win = BrowserWindow.all[0]!;
    win.emit('ready-to-show');
    win.close();
    expect(win.isDestroyed()).toBe(false);
    expect(win.isVisible()).toBe(false);
    flags.reallyClose = true;
    win.close();
    expect(win.isDestroyed()).toBe(true);
    expect(onClosed).toHaveBeenCalledTimes(1);
    expect(panel.window).toBeNull();
  });

  it('show(view) sends app:navigate after the page has loaded, and at once afterwards', () => {
    const { panel } = setup();
    panel.show('logs');
    const win = BrowserWindow.all[0]!;
    expect(win.webContents.sent).toEqual([]);
    win.webContents.emit('did-finish-load');
    expect(win.webContents.sent).toEqual([{ channel: 'app:navigate', args: [{ view: 'logs' }] }]);
    panel.show('settings');
    expect(win.webContents.sent.at(-1)).toEqual({ channel: 'app:navigate', args: [{ view: 'settings' }] });
  });

  it('owns() recognises only its own webContents', () => {
    const { panel } = setup();
    panel.show();
    expect(panel.owns(BrowserWindow.all[0]!.webContents)).toBe(true);
    expect(panel.owns(new BrowserWindow().webContents)).toBe(false);
  });
});

describe('PanelWindow against Electron quirks', () => {
  it('reloads the page after render-process-gone, at most 3 times a minute', () => {
    const logError = vi.fn();
    const panel = new PanelWindow({
      preloadPath: '/app/out/preload/index.cjs',
      rendererIndexPath: '/app/out/renderer/index.html',
      shouldReallyClose: () => false,
      logError,
    });
    panel.show();
    const wc = BrowserWindow.all[0]!.webContents;
    for (let i = 0; i < 5; i++) wc.crash('oom');
    expect(wc.reloads).toBe(3);
    expect(logError).toHaveBeenCalledWith("the panel's renderer is gone (oom)");
  });

  it('records the page URL Electron loaded (did-navigate), not one rebuilt from the path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'luna 100%-'));
    try {
      writeFileSync(join(dir, 'index.html'), '<!doctype html>');
      const panel = new PanelWindow({
        preloadPath: join(dir, 'preload.cjs'),
        rendererIndexPath: join(dir, 'index.html'),
        shouldReallyClose: () => false,
      });
      panel.show();
      expect(panel.pageUrl).toBeNull();
      await flush();
      expect(panel.pageUrl).toBe(BrowserWindow.all[0]!.webContents.getURL());
      expect(panel.pageUrl).not.toBe(pathToFileURL(join(dir, 'index.html')).href);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
