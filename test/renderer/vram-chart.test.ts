import { describe, expect, it } from 'vitest';

import { stackedAreas } from '../../src/renderer/features/devices/vram-chart.js';

const point = (at: number, daemonMiB: number, comfyuiMiB: number, otherMiB: number) => ({
  at,
  usedMiB: daemonMiB + comfyuiMiB + otherMiB,
  totalMiB: 1000,
  daemonMiB,
  comfyuiMiB,
  otherMiB,
});

describe('the VRAM chart', () => {
  it('stacks daemon, ComfyUI and other over time, scaled to the total', () => {
    const a = stackedAreas([point(0, 500, 250, 0), point(1000, 250, 250, 500)], 100, 100);
    // daemon: from the bottom (y=100) up to 50 then 75
    expect(a.daemonMiB).toBe('M0,50 L100,75 L100,100 L0,100 Z');
    // ComfyUI sits on the daemon's top
    expect(a.comfyuiMiB).toBe('M0,25 L100,50 L100,75 L0,50 Z');
    // other fills the rest up to the used memory (full at the end)
    expect(a.otherMiB).toBe('M0,25 L100,0 L100,50 L0,25 Z');
  });

  it('no points → empty paths; one point → a thin bar at the right edge', () => {
    expect(stackedAreas([], 100, 100)).toEqual({ daemonMiB: '', comfyuiMiB: '', otherMiB: '' });
    expect(stackedAreas([point(5, 1000, 0, 0)], 100, 100).daemonMiB).toBe('M98,0 L100,0 L100,100 L98,100 Z');
  });
});
