import { describe, expect, it } from 'vitest';

import { createRetryTimer } from '../../src/shared/retry-timer.js';

function fakeClock() {
  const timers: { fn: () => void; ms: number; cleared: boolean }[] = [];
  return {
    timers,
    setTimeout: (fn: () => void, ms: number) => {
      const t = { fn, ms, cleared: false };
      timers.push(t);
      return t;
    },
    clearTimeout: (h: unknown) => void ((h as { cleared: boolean }).cleared = true),
    fire() {
      const t = timers.find((x) => !x.cleared)!;
      t.cleared = true;
      t.fn();
    },
  };
}

describe('createRetryTimer', () => {
  it('keeps one retry pending however often a loss is reported, with doubling capped delays', () => {
    const clock = fakeClock();
    const retry = createRetryTimer({ initialMs: 250, maxMs: 1_000, ...clock });
    let runs = 0;
    const lost = () => [retry.schedule(() => runs++), retry.schedule(() => runs++)];
    expect(lost()).toEqual([true, false]); // `error` then `close`: one timer
    expect(clock.timers.filter((t) => !t.cleared)).toHaveLength(1);
    clock.fire();
    expect(runs).toBe(1);
    for (let i = 0; i < 4; i++) {
      lost();
      clock.fire();
    }
    expect(clock.timers.map((t) => t.ms)).toEqual([250, 500, 1_000, 1_000, 1_000]);
    retry.reset();
    retry.schedule(() => runs++);
    expect(clock.timers.at(-1)!.ms).toBe(250);
    retry.cancel();
    expect(retry.pending).toBe(false);
    expect(clock.timers.at(-1)!.cleared).toBe(true);
  });
});
