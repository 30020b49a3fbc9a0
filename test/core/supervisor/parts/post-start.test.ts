import { describe, expect, it } from 'vitest';

import type { LunaClient } from '../../../../src/core/daemon/luna-client.js';
import { applyDaemonSettings, verifyOwnership } from '../../../../src/core/supervisor/post-start.js';

function fakeClient(refuse: string[] = []) {
  const calls: string[] = [];
  const client = {
    async setDevice(kind: string, device: string) {
      calls.push(`${kind}=${device}`);
      if (refuse.includes(kind)) throw new Error('no such device');
      return { newDevice: device, oldDevice: 'cpu' };
    },
    async setAttentionMode(mode: string) {
      calls.push(`attention=${mode}`);
    },
  } as unknown as LunaClient;
  return { client, calls };
}

describe('post-start setup', () => {
  it('re-applies the set devices and the attention mode, reports refusals, then refreshes info', async () => {
    const { client, calls } = fakeClient(['vae']);
    const logs: string[] = [];
    let refreshed = 0;
    await applyDaemonSettings({
      client,
      config: { devices: { clip: 'cuda:0', vae: 'cuda:1', llm: '' }, attentionMode: 'flash' },
      log: (level, text) => logs.push(`${level}: ${text}`),
      refreshInfo: () => refreshed++,
    });
    expect(calls).toEqual(['clip=cuda:0', 'vae=cuda:1', 'attention=flash']);
    expect(logs).toEqual([
      'info: Set the CLIP device to cuda:0 (was cpu).',
      'warning: The daemon refused VAE device "cuda:1": no such device',
    ]);
    expect(refreshed).toBe(1);
  });

  it('with nothing to apply it sends nothing', async () => {
    const { client, calls } = fakeClient();
    let refreshed = 0;
    await applyDaemonSettings({
      client,
      config: { devices: { clip: '', vae: '', llm: '' }, attentionMode: '' },
      log: () => undefined,
      refreshInfo: () => refreshed++,
    });
    expect(calls).toEqual([]);
    expect(refreshed).toBe(0);
  });

  it('ownership: our child or its descendant is fine; a stranger on the port is reported', async () => {
    const logs: string[] = [];
    const o = { host: '127.0.0.1', port: 19283, childPid: 100, log: (_l: string, t: string) => logs.push(t) };
    const owner = (pid: number) => async () => ({ pid, name: 'python' });
    expect(await verifyOwnership(o, { owner: owner(100) })).toBeNull();
    expect(await verifyOwnership(o, { owner: owner(101), isDescendant: async () => true })).toBeNull();
    expect(logs).toEqual([]);
    expect(await verifyOwnership(o, { owner: owner(555), isDescendant: async () => false })).toMatchObject({
      pid: 555,
    });
    expect(logs[0]).toContain(
      'Port 19283 is answered by PID 555 (python), not by the daemon Luna Tray started',
    );
  });
});
