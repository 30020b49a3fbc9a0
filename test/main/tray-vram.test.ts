import { describe, expect, it } from 'vitest';

import { trayTooltip, vramSummary } from '../../src/main/tray/tray-icons.js';
import type { DaemonSnapshot } from '../../src/shared/snapshot.js';

const gpu = (usedMb: number, totalMb: number) => ({
  index: 0,
  name: 'NVIDIA GeForce RTX 4090',
  utilizationPercent: 10,
  temperatureC: 50,
  memoryUsedMb: usedMb,
  memoryTotalMb: totalMb,
});

describe('the tray tooltip VRAM line (GPU telemetry)', () => {
  it('one line: used / total GiB, summed over GPUs', () => {
    expect(vramSummary([gpu(7475, 24576)])).toBe('VRAM 7.3 / 24 GiB');
    expect(vramSummary([gpu(7475, 24576), gpu(1024, 12288)])).toBe('VRAM 8.3 / 36 GiB (2 GPUs)');
    expect(vramSummary([])).toBeNull();
  });

  it('is the tooltip second line when there is telemetry, absent otherwise', () => {
    const snap = {
      status: { state: 'stopped', at: 1 },
      info: null,
      infoAt: null,
      restarts: 0,
      lastExit: null,
      process: null,
      warnings: [],
      logSeq: 0,
    } as unknown as DaemonSnapshot;
    const lines = trayTooltip(snap, [], 1, [gpu(7475, 24576)]).split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe('VRAM 7.3 / 24 GiB');
    expect(trayTooltip(snap, [], 1).split('\n')).toHaveLength(1);
  });
});
