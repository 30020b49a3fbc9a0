import { describe, expect, it } from 'vitest';

import type { DaemonInfo } from '../../../../src/shared/daemon-info.js';
import type { LunaClient } from '../../../../src/core/daemon/luna-client.js';
import { Liveness } from '../../../../src/core/supervisor/liveness.js';
import { ObservedState } from '../../../../src/core/supervisor/observed-state.js';
import { sleep, waitFor } from '../../../helpers/processes.js';

const info = { daemonVersion: '1' } as unknown as DaemonInfo;

function rig(o: { answers: () => boolean; restartUnresponsive?: boolean; goneAdopted?: boolean }) {
  const state = new ObservedState({ now: () => 0, emit: () => undefined });
  state.apply({ type: 'start-requested', attempt: 1 });
  state.apply({ type: 'ready', pid: 12, adopted: false, generation: 'legacy' });
  const logs: string[] = [];
  let kills = 0;
  let infoFails = false;
  const client = {
    ping: async () => {
      if (!o.answers()) throw new Error('no reply');
      return { latencyMs: 1 };
    },
    info: async () => {
      if (infoFails) throw new Error('no info');
      return info;
    },
  } as unknown as LunaClient;
  const liveness = new Liveness({
    state,
    proc: {
      pid: null,
      adoptedWentAway: () => o.goneAdopted ?? false,
      killUnresponsive: () => void kills++,
    },
    config: () => ({
      health: { intervalSec: 0.05, failuresBeforeUnresponsive: 2, pingTimeoutMs: 50, infoIntervalSec: 60 },
      restart: { restartUnresponsive: o.restartUnresponsive ?? true } as never,
    }),
    endpoint: () => ({ host: '127.0.0.1', port: 1, wsPort: 0 }),
    client: () => client,
    log: (level, text) => logs.push(`${level}: ${text}`),
  });
  return { state, liveness, logs, kills: () => kills, failInfo: () => (infoFails = true) };
}

describe('liveness (the health watch and what a failed ping means)', () => {
  it('enough failed pings in a row make a running daemon unresponsive, logged once, and it is killed', async () => {
    const r = rig({ answers: () => false });
    r.liveness.start('legacy');
    await waitFor(() => r.state.status.state === 'unresponsive', 'unresponsive', 3_000);
    await sleep(200); // more failures change nothing more
    r.liveness.stop();
    expect(r.logs.filter((l) => l.startsWith('error: The daemon stopped answering pings'))).toHaveLength(1);
    expect(r.kills()).toBe(1);
  });

  it('without restartUnresponsive the hung daemon is only reported; an answer makes it running again', async () => {
    let up = false;
    const r = rig({ answers: () => up, restartUnresponsive: false });
    r.liveness.start('legacy');
    await waitFor(() => r.state.status.state === 'unresponsive', 'unresponsive', 3_000);
    up = true;
    await waitFor(() => r.state.status.state === 'running', 'running again', 3_000);
    r.liveness.stop();
    expect(r.kills()).toBe(0);
  });

  it('an adopted daemon that went away is left to the process part: no ping-failed status', async () => {
    const r = rig({ answers: () => false, goneAdopted: true });
    r.liveness.start('legacy');
    await sleep(400);
    r.liveness.stop();
    expect(r.state.status.state).toBe('running');
    expect(r.logs).toEqual([]);
  });

  it('refreshInfo shows fresh info while up and keeps the last info when the daemon does not answer', async () => {
    const r = rig({ answers: () => true });
    await r.liveness.refreshInfo();
    expect(r.state.info).toBe(info);
    r.failInfo();
    await r.liveness.refreshInfo();
    expect(r.state.info).toBe(info);
    r.state.apply({ type: 'stop-requested' });
    r.state.apply({ type: 'stopped', reason: 'user' });
    await r.liveness.refreshInfo();
    expect(r.state.info).toBeNull();
  });
});
