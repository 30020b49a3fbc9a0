import { describe, expect, it } from 'vitest';

import { defaultSettings, firstDaemon } from '../../../src/shared/settings-schema.js';
import { decideAfterExit, nextDelayMs } from '../../../src/core/supervisor/restart-policy.js';

const policy = {
  ...firstDaemon(defaultSettings()).restart,
  initialDelayMs: 1000,
  maxDelayMs: 8000,
  multiplier: 2,
  stableAfterSec: 30,
  maxQuickCrashes: 4,
};

describe('restart policy', () => {
  it.each([
    [1, 1000],
    [2, 2000],
    [3, 4000],
    [4, 8000],
    [5, 8000],
    [12, 8000],
  ])('attempt %i waits %i ms (exponential, capped)', (attempt, ms) => {
    expect(nextDelayMs(policy, attempt)).toBe(ms);
  });

  it.each([
    [
      'exit 0 we did not ask for → somebody shut it down: stay stopped',
      { exitCode: 0, uptimeMs: 1000, quickCrashes: 0 },
      { action: 'stay-stopped', reason: 'external-shutdown' },
    ],
    [
      'first quick crash → restart after the initial delay',
      { exitCode: 1, uptimeMs: 1000, quickCrashes: 0 },
      { action: 'restart', delayMs: 1000, quickCrashes: 1 },
    ],
    [
      'third quick crash → longer delay',
      { exitCode: null, uptimeMs: 10, quickCrashes: 2 },
      { action: 'restart', delayMs: 4000, quickCrashes: 3 },
    ],
    [
      'fourth quick crash → crash loop',
      { exitCode: 1, uptimeMs: 10, quickCrashes: 3 },
      { action: 'give-up', quickCrashes: 4 },
    ],
    [
      'a crash after a stable uptime resets the counter',
      { exitCode: 1, uptimeMs: 31_000, quickCrashes: 3 },
      { action: 'restart', delayMs: 1000, quickCrashes: 1 },
    ],
  ] as const)('%s', (_name, args, expected) => {
    expect(decideAfterExit({ policy, ...args })).toEqual(expected);
  });

  it('never restarts when the policy is off', () => {
    expect(
      decideAfterExit({ policy: { ...policy, enabled: false }, exitCode: 1, uptimeMs: 5, quickCrashes: 0 }),
    ).toEqual({
      action: 'stay-stopped',
      reason: 'restart-disabled',
    });
  });
});
