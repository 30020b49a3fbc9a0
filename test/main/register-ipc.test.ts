import { pathToFileURL } from 'node:url';

import { beforeEach, describe, expect, it, vi } from 'vitest';

import { createSenderCheck, registerIpcHandlers } from '../../src/main/ipc/register-ipc.js';
import { INVOKE_CHANNELS } from '../../src/shared/contract/invoke.js';
import {
  BrowserWindow,
  FakeWebContents,
  invokeEventFrom,
  ipcMain,
  loadFileUrl,
  resetElectronFake,
} from '../mocks/electron.js';
import { fakeCore } from './helpers/fixtures.js';

// `%` in the install path: Electron's loadFile URL keeps it, pathToFileURL escapes it (docs/desktop.md).
const RENDERER = '/opt/luna tray 100%/resources/app.asar/out/renderer/index.html';
const RENDERER_URL = loadFileUrl(RENDERER);

function setup() {
  const f = fakeCore();
  const win = new BrowserWindow();
  // The page as Electron loaded it: the main frame shows it (what the panel records at did-navigate).
  win.webContents.mainFrame.url = RENDERER_URL;
  const check = createSenderCheck({
    pageUrl: () => RENDERER_URL,
    ownsWebContents: (wc) => wc === win.webContents,
  });
  const dispose = registerIpcHandlers({ handlers: f.core.handlers, isTrustedSender: check });
  return { ...f, win, dispose };
}

beforeEach(() => resetElectronFake());

describe('registerIpcHandlers', () => {
  it('registers exactly the contract channels and the disposer removes them', () => {
    const { dispose } = setup();
    expect([...ipcMain.handlers.keys()].sort()).toEqual([...INVOKE_CHANNELS].sort());
    dispose();
    expect(ipcMain.handlers.size).toBe(0);
  });

  it('calls the core with the parsed request for a valid call from our page', async () => {
    const { win, handlers } = setup();
    const r = await ipcMain.invokeHandler(
      'logs:get-since',
      ((win.webContents.mainFrame.url = `${RENDERER_URL}#logs`), invokeEventFrom(win, 'main')),
      {
        seq: 5,
        limit: 10,
      },
    );
    expect(r).toEqual({ ok: true, value: { message: 'logs:get-since ok' } });
    expect(handlers['logs:get-since']).toHaveBeenCalledWith({ seq: 5, limit: 10 });
  });

  it('carries the daemon id of a daemon action to the core, and refuses an id that is no daemon id', async () => {
    const { win, handlers } = setup();
    const r = await ipcMain.invokeHandler('daemon:stop', invokeEventFrom(win, 'main'), { daemon: 'vae' });
    expect(r).toMatchObject({ ok: true });
    expect(handlers['daemon:stop']).toHaveBeenCalledWith({ daemon: 'vae' });
    const bad = await ipcMain.invokeHandler('daemon:stop', invokeEventFrom(win, 'main'), {
      daemon: '../etc',
    });
    expect(bad).toMatchObject({ ok: false, error: { code: 'invalid-input' } });
    expect(handlers['daemon:stop']).toHaveBeenCalledTimes(1);
  });

  it('treats a missing request as {} for channels without fields', async () => {
    const { win, handlers } = setup();
    const r = await ipcMain.invokeHandler('daemon:start', invokeEventFrom(win, 'main'));
    expect(r).toMatchObject({ ok: true });
    expect(handlers['daemon:start']).toHaveBeenCalledWith({});
  });

  it.each([
    ['logs:get-since', { seq: -1 }],
    ['logs:get-since', { seq: 'x' }],
    ['daemon:start', { extra: true }],
    ['comfy:interrupt', { url: 'not a url' }],
    ['settings:update', { patch: 'nope' }],
    ['settings:update', null],
  ])('%s refuses invalid input %j with invalid-input and never calls the core', async (channel, raw) => {
    const { win, handlers } = setup();
    const r = (await ipcMain.invokeHandler(channel, invokeEventFrom(win, 'main'), raw)) as {
      ok: false;
      error: { code: string; issues?: unknown[] };
    };
    expect(r.ok).toBe(false);
    expect(r.error.code).toBe('invalid-input');
    expect(r.error.issues?.length).toBeGreaterThan(0);
    expect(handlers[channel as 'daemon:start']).not.toHaveBeenCalled();
  });

  it.each([
    [
      'another page URL',
      (win: BrowserWindow) => (
        (win.webContents.mainFrame.url = 'https://evil.example/index.html'),
        invokeEventFrom(win, 'main')
      ),
    ],
    [
      'another file',
      (win: BrowserWindow) => (
        (win.webContents.mainFrame.url = pathToFileURL('/tmp/evil.html').href),
        invokeEventFrom(win, 'main')
      ),
    ],
    ['an iframe showing our page', (win: BrowserWindow) => invokeEventFrom(win, { url: RENDERER_URL })],
    ['a destroyed frame', (win: BrowserWindow) => invokeEventFrom(win, null)],
    [
      'a foreign window with our URL',
      () => {
        const other = new BrowserWindow();
        other.webContents.mainFrame.url = RENDERER_URL;
        return invokeEventFrom(other, 'main');
      },
    ],
    [
      'a bare webContents',
      () => {
        const wc = new FakeWebContents();
        wc.mainFrame.url = RENDERER_URL;
        return invokeEventFrom(wc, 'main');
      },
    ],
  ])('refuses %s with forbidden', async (_label, makeEvent) => {
    const { win, handlers } = setup();
    const r = (await ipcMain.invokeHandler('daemon:stop', makeEvent(win), {})) as {
      ok: false;
      error: { code: string };
    };
    expect(r).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(handlers['daemon:stop']).not.toHaveBeenCalled();
  });

  it('turns a throwing handler into an internal error envelope', async () => {
    const { win, handlers } = setup();
    handlers['daemon:check'].mockRejectedValueOnce(new Error('boom'));
    const r = await ipcMain.invokeHandler('daemon:check', invokeEventFrom(win, 'main'), {});
    expect(r).toEqual({ ok: false, error: { code: 'internal', message: 'boom' } });
  });

  it('passes the core result through unchanged (failures too)', async () => {
    const { win, handlers } = setup();
    const fail = { ok: false, error: { code: 'not-running', message: 'daemon is not running' } } as const;
    handlers['daemon:unload'].mockResolvedValueOnce(fail);
    expect(await ipcMain.invokeHandler('daemon:unload', invokeEventFrom(win, 'main'), {})).toEqual(fail);
  });

  it('uses an injected ipcMain when given', () => {
    const handle = vi.fn();
    const removeHandler = vi.fn();
    const dispose = registerIpcHandlers({
      handlers: fakeCore().core.handlers,
      isTrustedSender: () => true,
      ipcMain: { handle, removeHandler },
    });
    expect(handle).toHaveBeenCalledTimes(INVOKE_CHANNELS.length);
    dispose();
    expect(removeHandler).toHaveBeenCalledTimes(INVOKE_CHANNELS.length);
  });
});
