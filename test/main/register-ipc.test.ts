import { pathToFileURL } from 'node:url';

import { beforeEach, describe, expect, it, vi } from 'vitest';

import { createSenderCheck, registerIpcHandlers } from '../../src/main/ipc/register-ipc.js';
import { INVOKE_CHANNELS } from '../../src/shared/contract/invoke.js';
import {
  BrowserWindow,
  FakeWebContents,
  invokeEventFrom,
  ipcMain,
  resetElectronFake,
} from '../mocks/electron.js';
import { fakeCore } from './helpers/fixtures.js';

const RENDERER = '/opt/luna tray/resources/app.asar/out/renderer/index.html';
const RENDERER_URL = pathToFileURL(RENDERER).href;

function setup() {
  const f = fakeCore();
  const win = new BrowserWindow();
  const check = createSenderCheck({
    rendererUrl: RENDERER_URL,
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
    const r = await ipcMain.invokeHandler('logs:get-since', invokeEventFrom(win, `${RENDERER_URL}#logs`), {
      seq: 5,
      limit: 10,
    });
    expect(r).toEqual({ ok: true, value: { message: 'logs:get-since ok' } });
    expect(handlers['logs:get-since']).toHaveBeenCalledWith({ seq: 5, limit: 10 });
  });

  it('treats a missing request as {} for channels without fields', async () => {
    const { win, handlers } = setup();
    const r = await ipcMain.invokeHandler('daemon:start', invokeEventFrom(win, RENDERER_URL));
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
    const r = (await ipcMain.invokeHandler(channel, invokeEventFrom(win, RENDERER_URL), raw)) as {
      ok: false;
      error: { code: string; issues?: unknown[] };
    };
    expect(r.ok).toBe(false);
    expect(r.error.code).toBe('invalid-input');
    expect(r.error.issues?.length).toBeGreaterThan(0);
    expect(handlers[channel as 'daemon:start']).not.toHaveBeenCalled();
  });

  it.each([
    ['another page URL', (win: BrowserWindow) => invokeEventFrom(win, 'https://evil.example/index.html')],
    ['another file', (win: BrowserWindow) => invokeEventFrom(win, pathToFileURL('/tmp/evil.html').href)],
    ['a destroyed frame', (win: BrowserWindow) => invokeEventFrom(win, null)],
    ['a foreign window with our URL', () => invokeEventFrom(new BrowserWindow(), RENDERER_URL)],
    ['a bare webContents', () => invokeEventFrom(new FakeWebContents(), RENDERER_URL)],
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
    const r = await ipcMain.invokeHandler('daemon:check', invokeEventFrom(win, RENDERER_URL), {});
    expect(r).toEqual({ ok: false, error: { code: 'internal', message: 'boom' } });
  });

  it('passes the core result through unchanged (failures too)', async () => {
    const { win, handlers } = setup();
    const fail = { ok: false, error: { code: 'not-running', message: 'daemon is not running' } } as const;
    handlers['daemon:unload'].mockResolvedValueOnce(fail);
    expect(await ipcMain.invokeHandler('daemon:unload', invokeEventFrom(win, RENDERER_URL), {})).toEqual(
      fail,
    );
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
