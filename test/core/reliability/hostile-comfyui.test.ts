/**
 * Hostile ComfyUI instances against the monitor: garbage bodies, 5xx, a server that accepts and
 * never answers. Each must be reported unreachable with a reason within the monitor's request
 * timeout, without holding up the healthy instance next to it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ComfyInstance } from '../../../src/shared/comfy-instance.js';
import { comfyInstanceSchema } from '../../../src/shared/comfy-instance.js';
import { createComfyMonitor } from '../../../src/core/comfyui/monitor.js';
import { startFakeComfy, type FakeComfy } from '../../fakes/fake-comfyui.js';

let garbage: FakeComfy;
let error500: FakeComfy;
let hang: FakeComfy;
let good: FakeComfy;
beforeAll(async () => {
  [garbage, error500, hang, good] = await Promise.all([
    startFakeComfy({ httpMode: 'garbage' }),
    startFakeComfy({ httpMode: 'error500' }),
    startFakeComfy({ httpMode: 'hang' }),
    startFakeComfy(),
  ]);
});
afterAll(async () => {
  await Promise.all([garbage, error500, hang, good].map((f) => f.close()));
});

describe('hostile ComfyUI instances', () => {
  it('garbage, 5xx and a hanging server: unreachable with a reason within the request timeout; the healthy one is unaffected', async () => {
    const timeoutMs = 800;
    let latest: ComfyInstance[] = [];
    const mon = createComfyMonitor({
      instances: [garbage.url, error500.url, hang.url, good.url],
      discover: false,
      pollIntervalMs: 60_000,
      requestTimeoutMs: timeoutMs,
      onChange: (l) => (latest = l),
    });
    try {
      const t0 = performance.now();
      const snap = await mon.refresh();
      // One poll of everything, in parallel: bounded by the timeout, not by the hanging server.
      expect(performance.now() - t0).toBeLessThan(timeoutMs * 3 + 500);
      for (const i of snap) comfyInstanceSchema.parse(i);
      const by = new Map(snap.map((i) => [i.url, i]));
      expect(by.get(good.url)).toMatchObject({ reachable: true, problem: null });
      for (const f of [garbage, error500, hang]) {
        const i = by.get(f.url)!;
        expect(i.reachable, f.url).toBe(false);
        expect(i.problem, f.url).toEqual(expect.any(String));
        expect(i.problem!.length).toBeGreaterThan(5);
        expect(i.checkedAt).toBeGreaterThan(0);
      }
      expect(by.get(error500.url)!.problem).toMatch(/500/);
      expect(by.get(hang.url)!.problem).toMatch(/time|respond|answer/i);
      // The problem text is text: no HTML or control characters copied from the garbage body.
      // eslint-disable-next-line no-control-regex
      expect(by.get(garbage.url)!.problem).not.toMatch(/[\x00-\x08]/);
      expect(latest.length).toBe(4);
      // A second poll behaves the same (no stuck request, no leak of pending polls).
      const t1 = performance.now();
      await mon.refresh();
      expect(performance.now() - t1).toBeLessThan(timeoutMs * 3 + 500);
    } finally {
      await mon.dispose();
    }
  });
});
