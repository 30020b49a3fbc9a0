import { describe, expect, it } from 'vitest';

import type { DaemonSnapshot } from '../../src/shared/snapshot.js';
import { lunaStatusJson } from '../../src/core/control/luna-status.js';

const base: Omit<DaemonSnapshot, 'status'> = {
  info: null,
  infoAt: null,
  restarts: 0,
  lastExit: null,
  process: null,
  warnings: [],
  logSeq: 0,
};

describe('lunaStatusJson (GET /luna/daemon/status)', () => {
  it('running before the first get_info: running true, no invented figures', () => {
    const s = lunaStatusJson({
      ...base,
      status: { state: 'running', at: 1, pid: 7, since: Date.now(), adopted: false, generation: 'current' },
    });
    expect(s).toMatchObject({
      running: true,
      state: 'running',
      color: 'green',
      pid: 7,
      models: [],
      vram: [],
    });
    expect(s).not.toHaveProperty('device');
    expect(s).not.toHaveProperty('vram_used_gb');
  });

  it('a shutdown from outside says so, in the JSON as in the panel; the last exit is history with a time', () => {
    const s = lunaStatusJson({
      ...base,
      lastExit: { code: 0, signal: null, at: 1234, stderrTail: [] },
      status: { state: 'stopped', at: 2, reason: 'external-shutdown' },
    });
    expect(s).toMatchObject({
      running: false,
      state: 'stopped',
      stateText: 'stopped (shut down from outside)',
      stoppedReason: 'external-shutdown',
      lastExitCode: 0,
      lastExitAt: 1234,
    });
  });

  it('unresponsive and failed are not running; the failure message is lastError', () => {
    const u = lunaStatusJson({
      ...base,
      status: {
        state: 'unresponsive',
        at: 1,
        pid: 7,
        since: 1,
        adopted: true,
        generation: 'legacy',
        failedPings: 3,
      },
    });
    expect(u).toMatchObject({
      running: false,
      state: 'unresponsive',
      color: 'red',
      adopted: true,
      generation: 'legacy',
    });
    const f = lunaStatusJson({
      ...base,
      status: { state: 'failed', at: 1, kind: 'crash-loop', message: 'Crash loop: …' },
    });
    expect(f).toMatchObject({ running: false, color: 'red', lastError: 'Crash loop: …', pid: null });
  });

  it('never reports a negative uptime (clock jumps)', () => {
    const s = lunaStatusJson({
      ...base,
      status: {
        state: 'running',
        at: 1,
        pid: 7,
        since: Date.now() + 3_600_000,
        adopted: false,
        generation: 'current',
      },
    });
    expect(s.uptimeSec).toBe(0);
  });
});
