import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  MAX_RENDERED_ROWS,
  computeWindow,
  isAtBottom,
  rowAt,
  scrollTopToReveal,
} from '../../src/renderer/lib/virtual-list.js';
import { viewFromHash } from '../../src/renderer/lib/views.js';

describe('computeWindow', () => {
  it('renders the visible rows plus overscan', () => {
    expect(
      computeWindow({ scrollTop: 0, viewportHeight: 200, rowHeight: 20, count: 1000, overscan: 5 }),
    ).toEqual({
      start: 0,
      end: 16,
      totalHeight: 20_000,
    });
    expect(
      computeWindow({ scrollTop: 1000, viewportHeight: 200, rowHeight: 20, count: 1000, overscan: 5 }),
    ).toEqual({
      start: 45,
      end: 66,
      totalHeight: 20_000,
    });
  });

  it('clamps at the end and for an empty list', () => {
    expect(
      computeWindow({ scrollTop: 99_999, viewportHeight: 200, rowHeight: 20, count: 100, overscan: 5 }),
    ).toEqual({
      start: 85,
      end: 100,
      totalHeight: 2000,
    });
    expect(
      computeWindow({ scrollTop: 0, viewportHeight: 200, rowHeight: 20, count: 0, overscan: 5 }),
    ).toEqual({ start: 0, end: 0, totalHeight: 0 });
  });

  it('property: the window always covers the viewport and stays bounded', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200_000 }),
        fc.integer({ min: 0, max: 5_000_000 }),
        fc.integer({ min: 0, max: 4000 }),
        fc.integer({ min: 0, max: 300 }),
        (count, scrollTop, viewportHeight, overscan) => {
          const w = computeWindow({ scrollTop, viewportHeight, rowHeight: 20, count, overscan });
          expect(w.end - w.start).toBeLessThanOrEqual(MAX_RENDERED_ROWS);
          expect(w.start).toBeGreaterThanOrEqual(0);
          expect(w.end).toBeLessThanOrEqual(count);
          if (count === 0) return;
          const maxTop = Math.max(0, count * 20 - viewportHeight);
          const top = Math.min(scrollTop, maxTop);
          const firstVisible = Math.floor(top / 20);
          const lastVisible = Math.min(count - 1, Math.floor((top + viewportHeight - 1) / 20));
          expect(w.start).toBeLessThanOrEqual(firstVisible);
          if (viewportHeight < (MAX_RENDERED_ROWS - 2) * 20) expect(w.end).toBeGreaterThan(lastVisible);
        },
      ),
    );
  });
});

describe('scrolling helpers', () => {
  it('isAtBottom with tolerance', () => {
    expect(isAtBottom(800, 200, 1000)).toBe(true);
    expect(isAtBottom(797, 200, 1000)).toBe(true);
    expect(isAtBottom(700, 200, 1000)).toBe(false);
  });

  it('scrollTopToReveal leaves visible rows alone and centres hidden ones', () => {
    expect(scrollTopToReveal(12, 20, 200, 200)).toBe(200);
    expect(scrollTopToReveal(100, 20, 200, 0)).toBe(1910);
    expect(scrollTopToReveal(0, 20, 200, 500)).toBe(0);
  });

  it('rowAt clamps', () => {
    expect(rowAt(-5, 20, 10)).toBe(0);
    expect(rowAt(45, 20, 10)).toBe(2);
    expect(rowAt(10_000, 20, 10)).toBe(9);
    expect(rowAt(0, 20, 0)).toBe(-1);
  });

  it('views from location.hash', () => {
    expect(viewFromHash('#logs')).toBe('logs');
    expect(viewFromHash('#/Settings')).toBe('settings');
    expect(viewFromHash('#comfyui')).toBe('comfy');
    expect(viewFromHash('#nope')).toBeNull();
    expect(viewFromHash('')).toBeNull();
  });
});
