import { describe, expect, it } from 'vitest';

import { DaemonError } from '../../../../src/core/daemon/errors.js';
import { checkDaemon, requestUnload } from '../../../../src/core/supervisor/daemon-requests.js';

function spies() {
  const logs: string[] = [];
  let refreshed = 0;
  return {
    logs,
    refreshed: () => refreshed,
    log: (level: string, text: string) => logs.push(`${level}: ${text}`),
    refreshInfo: () => void refreshed++,
  };
}

describe('the one-shot requests (Unload, Check)', () => {
  it('Unload reports the daemon’s own reply, logs it and asks for fresh info', async () => {
    const s = spies();
    const r = await requestUnload({ unload: async () => ({ message: 'Unloaded 2 models' }) } as never, s);
    expect(r).toEqual({ ok: true, message: 'Unloaded 2 models' });
    expect(s.logs).toEqual(['info: Unload requested: Unloaded 2 models']);
    expect(s.refreshed()).toBe(1);
  });

  it('a refused Unload is an operation failure in words; no info refresh', async () => {
    const s = spies();
    const client = {
      unload: async () => {
        throw new DaemonError('refused-opcode', 'the daemon refused unload_models');
      },
    };
    const r = await requestUnload(client, s);
    expect(r).toEqual({
      ok: false,
      code: 'operation-failed',
      message: 'Unload failed: the daemon refused unload_models',
    });
    expect(s.refreshed()).toBe(0);
  });

  it('Check names where it asked, the latency and the protocol; silence names the error', async () => {
    const s = spies();
    const at = { host: '127.0.0.1', port: 4242, generation: 'legacy' as const, timeoutMs: 50 };
    let timeoutSeen = 0;
    const ok = await checkDaemon(
      {
        ping: async (o: { timeoutMs: number }) => {
          timeoutSeen = o.timeoutMs;
          return { latencyMs: 12.4 };
        },
      } as never,
      { ...at, refreshInfo: s.refreshInfo },
    );
    expect(ok).toEqual({
      ok: true,
      message: 'The Luna daemon on 127.0.0.1:4242 answered in 12 ms (legacy protocol).',
    });
    expect(timeoutSeen).toBe(50);
    expect(s.refreshed()).toBe(1);

    const silent = await checkDaemon(
      {
        ping: async () => {
          throw new DaemonError('timeout', 'no reply within 50 ms');
        },
      },
      { ...at, refreshInfo: s.refreshInfo },
    );
    expect(silent).toEqual({
      ok: false,
      code: 'operation-failed',
      message: 'No answer from 127.0.0.1:4242: no reply within 50 ms',
    });
    expect(s.refreshed()).toBe(1);
  });
});
