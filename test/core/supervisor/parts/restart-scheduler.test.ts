import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { ExitRecord } from '../../../../src/shared/daemon-status.js';
import { defaultSettings, firstDaemon } from '../../../../src/shared/settings-schema.js';
import { RestartScheduler } from '../../../../src/core/supervisor/restart-scheduler.js';
import type { StatusEvent } from '../../../../src/core/supervisor/status-machine.js';

const basePolicy = {
  ...firstDaemon(defaultSettings()).restart,
  enabled: true,
  initialDelayMs: 1_000,
  multiplier: 2,
  maxDelayMs: 60_000,
  maxQuickCrashes: 3,
  stableAfterSec: 30,
};
const crash: ExitRecord = { code: 1, signal: null, at: 0, stderrTail: [] };

function rig(policy = basePolicy) {
  const events: StatusEvent[] = [];
  const logs: string[] = [];
  let restarts = 0;
  const box = { policy };
  const s = new RestartScheduler({
    policy: () => box.policy,
    now: () => 10_000,
    apply: (e) => events.push(e),
    log: (level, text) => logs.push(`${level}: ${text}`),
    restart: () => restarts++,
  });
  return { s, events, logs, box, restarts: () => restarts };
}

describe('the restart scheduler (quick-crash count and backoff timer)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('restarts after the policy’s growing delay and gives up after maxQuickCrashes quick crashes', () => {
    const { s, events, restarts } = rig();
    expect(s.attempt).toBe(1);
    s.onUnexpectedExit(crash, 100);
    expect(events.at(-1)).toMatchObject({ type: 'backoff', attempt: 1, retryAt: 11_000 });
    expect(s.pending).toBe(true);
    vi.advanceTimersByTime(999);
    expect(restarts()).toBe(0);
    vi.advanceTimersByTime(1);
    expect(restarts()).toBe(1);
    expect(s.pending).toBe(false);
    expect(s.attempt).toBe(2);

    s.onUnexpectedExit(crash, 100);
    expect(events.at(-1)).toMatchObject({ type: 'backoff', attempt: 2, retryAt: 12_000 });
    vi.advanceTimersByTime(2_000);
    expect(restarts()).toBe(2);

    s.onUnexpectedExit(crash, 100);
    expect(events.at(-1)).toMatchObject({ type: 'failed', kind: 'crash-loop' });
    expect(s.pending).toBe(false);
    vi.advanceTimersByTime(120_000);
    expect(restarts()).toBe(2);
  });

  it('a user start resets the count; a stable run counts as the first crash again', () => {
    const { s, events } = rig();
    s.onUnexpectedExit(crash, 100);
    s.onUnexpectedExit(crash, 100);
    expect(s.attempt).toBe(3);
    s.resetCount();
    expect(s.attempt).toBe(1);
    s.onUnexpectedExit(crash, 100);
    s.onUnexpectedExit(crash, 31_000); // ran past stableAfterSec
    expect(events.at(-1)).toMatchObject({ type: 'backoff', attempt: 1 });
  });

  it('cancel drops the pending restart; a second exit replaces the timer rather than adding one', () => {
    const { s, restarts } = rig();
    s.onUnexpectedExit(crash, 100);
    s.cancel();
    vi.advanceTimersByTime(10_000);
    expect(restarts()).toBe(0);

    s.resetCount();
    s.onUnexpectedExit(crash, 100);
    s.onUnexpectedExit(crash, 31_000);
    vi.advanceTimersByTime(10_000);
    expect(restarts()).toBe(1);
  });

  it('an exit 0 is a shutdown from outside and a disabled policy never restarts; the policy is read at each exit', () => {
    const { s, events, logs, box, restarts } = rig();
    s.onUnexpectedExit({ ...crash, code: 0 }, 100);
    expect(events.at(-1)).toMatchObject({ type: 'stopped', reason: 'external-shutdown' });
    expect(logs.at(-1)).toMatch(/shut down from outside/);
    box.policy = { ...basePolicy, enabled: false };
    s.onUnexpectedExit(crash, 100);
    expect(events.at(-1)).toMatchObject({ type: 'failed', kind: 'crashed' });
    vi.advanceTimersByTime(120_000);
    expect(restarts()).toBe(0);
    expect(s.attempt).toBe(1);
  });
});
