import { describe, expect, it } from 'vitest';

import type { DaemonInfo } from '../../../../src/shared/daemon-info.js';
import type { ProcessSample } from '../../../../src/core/supervisor/processes.js';
import { ObservedState, type SupervisorEvents } from '../../../../src/core/supervisor/observed-state.js';

function rig(label = '') {
  const heard: { event: keyof SupervisorEvents; payload: unknown }[] = [];
  const order: string[] = [];
  let clock = 1_000;
  const state = new ObservedState({
    now: () => clock,
    label: () => label,
    emit: (event, payload) => {
      heard.push({ event, payload });
      order.push(`emit ${event}`);
    },
    onRest: () => order.push('rest'),
  });
  return { state, heard, order, tick: (ms: number) => (clock += ms) };
}

const info = { daemonVersion: '1.0' } as unknown as DaemonInfo;
const ready = { type: 'ready', pid: 42, adopted: false, generation: 'current' } as const;

describe('the observed state (status, info, stats of one daemon)', () => {
  it('starts stopped at the clock’s time and tells listeners only of real changes', () => {
    const { state, heard, tick } = rig();
    expect(state.status).toEqual({ state: 'stopped', at: 1_000, reason: 'initial' });
    expect(state.apply({ type: 'ping-ok' })).toBe(false); // meaningless while stopped
    expect(heard).toEqual([]);
    tick(5);
    expect(state.apply({ type: 'start-requested', attempt: 1 })).toBe(true);
    expect(state.apply(ready)).toBe(true);
    expect(heard.map((h) => (h.payload as { state: string }).state)).toEqual(['starting', 'running']);
    expect(state.status).toMatchObject({ state: 'running', at: 1_005, pid: 42 });
    expect(state.up).toBe(true);
    expect(state.generation).toBe('current');
  });

  it('keeps info only while the daemon is up, and forgets it (before listeners hear) when it comes to rest', () => {
    const { state, heard, order } = rig();
    state.setInfo(info); // a late reply while stopped
    expect(state.info).toBeNull();
    expect(heard).toEqual([]);
    state.apply({ type: 'start-requested', attempt: 1 });
    state.apply(ready);
    state.setInfo(info);
    expect(state.info).toBe(info);
    expect(state.infoAt).toBe(1_000);
    order.length = 0;
    state.apply({ type: 'failed', kind: 'start-failed', message: 'boom' });
    expect(order).toEqual(['rest', 'emit status']);
    expect(state.info).toBeNull();
    expect(state.infoAt).toBeNull();
    expect(state.up).toBe(false);
    expect(state.generation).toBeNull();
  });

  it('names the daemon in failure and backoff messages when it has a label, and nowhere else', () => {
    const { state } = rig('GPU 1');
    state.apply({ type: 'start-requested', attempt: 1 });
    expect(state.status).not.toHaveProperty('message');
    state.apply({ type: 'failed', kind: 'start-failed', message: 'No python.' });
    expect(state.status).toMatchObject({ state: 'failed', message: 'GPU 1: No python.' });
    expect(state.name('Stopped.')).toBe('GPU 1: Stopped.');
    expect(rig('').state.name('Stopped.')).toBe('Stopped.');
  });

  it('reports every stats sample, and a clear only when there was something to clear', () => {
    const { state, heard } = rig();
    state.clearStats();
    expect(heard).toEqual([]);
    const sample: ProcessSample = { cpuPercent: 1, rssBytes: 2 };
    state.setStats(sample);
    state.setStats(null); // a failed sample is still news
    state.setStats(sample);
    state.clearStats();
    state.clearStats();
    expect(heard.map((h) => h.payload)).toEqual([sample, null, sample, null]);
    expect(state.stats).toBeNull();
  });

  it('records the last exit and counts restarts', () => {
    const { state } = rig();
    expect([state.lastExit, state.restarts]).toEqual([null, 0]);
    const record = { code: 1, signal: null, at: 3, stderrTail: [] };
    state.recordExit(record);
    state.countRestart();
    state.countRestart();
    expect([state.lastExit, state.restarts]).toEqual([record, 2]);
  });
});
