import { beforeEach, describe, expect, it, vi } from 'vitest';

import type { RendererApi } from '../../src/shared/contract/renderer-api.js';
import type * as ElectronFake from '../mocks/electron.js';
type Fake = typeof ElectronFake;

/** A fresh module graph per test: the preload runs its top level (exposeInMainWorld) again. */
async function loadPreload(): Promise<{ api: RendererApi; fake: Fake }> {
  vi.resetModules();
  // Same file as the `electron` alias, so after the reset both see the same fresh instance.
  const fake = await import('../mocks/electron.js');
  await import('../../src/preload/index.js');
  expect(fake.contextBridge.exposed).toHaveLength(1);
  expect(fake.contextBridge.exposed[0]!.key).toBe('lunaTray');
  return { api: fake.contextBridge.exposed[0]!.api as RendererApi, fake };
}

let api: RendererApi;
let ipcRenderer: Fake['ipcRenderer'];
beforeEach(async () => {
  const loaded = await loadPreload();
  api = loaded.api;
  ipcRenderer = loaded.fake.ipcRenderer;
});

describe('preload', () => {
  it('exposes exactly one object with exactly the RendererApi members', () => {
    expect(Object.keys(api).sort()).toEqual(['invoke', 'kind', 'on', 'onConnection']);
    expect(api.kind).toBe('electron');
  });

  it('invoke sends the request on the named channel and returns the reply', async () => {
    ipcRenderer.reply = (channel, args) => ({ ok: true, value: { channel, args } });
    const r = await api.invoke('logs:get-since', { seq: 3 });
    expect(ipcRenderer.invoked).toEqual([{ channel: 'logs:get-since', args: [{ seq: 3 }] }]);
    expect(r).toEqual({ ok: true, value: { channel: 'logs:get-since', args: [{ seq: 3 }] } });
  });

  it('invoke refuses channels outside the contract without touching IPC', async () => {
    const r = await api.invoke('shell:exec' as never, {} as never);
    expect(r).toMatchObject({ ok: false, error: { code: 'invalid-input' } });
    expect(ipcRenderer.invoked).toEqual([]);
  });

  it('invoke turns an IPC rejection into an internal error envelope', async () => {
    ipcRenderer.reply = () => new Error("No handler registered for 'daemon:start'");
    expect(await api.invoke('daemon:start', {})).toEqual({
      ok: false,
      error: { code: 'internal', message: "No handler registered for 'daemon:start'" },
    });
  });

  it('on delivers only the payload (never the IpcRendererEvent) and the disposer unsubscribes', () => {
    const seen: unknown[][] = [];
    const dispose = api.on('app:navigate', (...args: unknown[]) => seen.push(args));
    expect(ipcRenderer.listenerCount('app:navigate')).toBe(1);
    ipcRenderer.emit('app:navigate', { view: 'logs' });
    expect(seen).toEqual([[{ view: 'logs' }]]);
    dispose();
    expect(ipcRenderer.listenerCount('app:navigate')).toBe(0);
    ipcRenderer.emit('app:navigate', { view: 'status' });
    expect(seen).toHaveLength(1);
  });

  it('on refuses channels outside the contract', () => {
    expect(() => api.on('electron-store-get-data' as never, () => {})).toThrow(/unknown event channel/);
    expect(ipcRenderer.listenerCount('electron-store-get-data')).toBe(0);
  });

  it('onConnection reports connected once and returns a disposer', () => {
    const l = vi.fn();
    const dispose = api.onConnection(l);
    expect(l).toHaveBeenCalledExactlyOnceWith(true);
    expect(typeof dispose).toBe('function');
    dispose();
  });
});
