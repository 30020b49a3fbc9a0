import { describe, expect, it, vi } from 'vitest';

import {
  PreloadApiError,
  createElectronBridge,
  detectElectronApi,
  type ExposedApi,
} from '../../src/renderer/bridge/electron-bridge.js';

function fakeExposed() {
  const listeners = new Map<string, (p: unknown) => void>();
  const exposed: ExposedApi = {
    invoke: vi.fn(async (channel: string) => ({
      ok: true,
      value: { message: `did ${channel}` },
    })) as unknown as ExposedApi['invoke'],
    on: vi.fn((channel: string, l: (p: unknown) => void) => {
      listeners.set(channel, l);
      return () => listeners.delete(channel);
    }),
    onConnection: vi.fn(() => () => undefined),
  };
  return { exposed, listeners };
}

describe('electron bridge', () => {
  it('finds window.lunaTray, or null in a plain browser', () => {
    const { exposed } = fakeExposed();
    expect(detectElectronApi({ lunaTray: exposed } as unknown as Window)).toBe(exposed);
    expect(detectElectronApi({} as Window)).toBeNull();
  });

  it('refuses a preload object of the wrong shape with an instructive error', () => {
    expect(() => createElectronBridge({ invoke() {} })).toThrow(PreloadApiError);
    expect(() => createElectronBridge(null)).toThrow(/window.lunaTray.invoke is not a function/);
  });

  it('forwards invoke and returns the ApiResult as-is', async () => {
    const { exposed } = fakeExposed();
    const api = createElectronBridge(exposed);
    expect(api.kind).toBe('electron');
    await expect(api.invoke('daemon:start', {})).resolves.toEqual({
      ok: true,
      value: { message: 'did daemon:start' },
    });
    expect(exposed.invoke).toHaveBeenCalledWith('daemon:start', {});
    await api.invoke('daemon:unload', { daemon: 'clip' });
    expect(exposed.invoke).toHaveBeenLastCalledWith('daemon:unload', { daemon: 'clip' });
  });

  it('turns a rejected IPC call or a malformed reply into an error value', async () => {
    const { exposed } = fakeExposed();
    (exposed.invoke as ReturnType<typeof vi.fn>).mockRejectedValueOnce(
      new Error('Error invoking remote method: boom'),
    );
    const api = createElectronBridge(exposed);
    await expect(api.invoke('daemon:stop', {})).resolves.toEqual({
      ok: false,
      error: { code: 'internal', message: 'Error invoking remote method: boom' },
    });
    (exposed.invoke as ReturnType<typeof vi.fn>).mockResolvedValueOnce('nonsense');
    const r = await api.invoke('daemon:stop', {});
    expect(r.ok).toBe(false);
  });

  it('delivers events, isolates a throwing listener, and disposes', () => {
    const { exposed, listeners } = fakeExposed();
    const api = createElectronBridge(exposed);
    const seen: unknown[] = [];
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const dispose = api.on('app:navigate', (p) => {
      seen.push(p);
      throw new Error('view bug');
    });
    expect(() => listeners.get('app:navigate')!({ view: 'logs' })).not.toThrow();
    expect(seen).toEqual([{ view: 'logs' }]);
    expect(errors).toHaveBeenCalled();
    dispose();
    expect(listeners.has('app:navigate')).toBe(false);
    errors.mockRestore();
  });
});
