import { describe, expect, it } from 'vitest';

import { LogBuffer } from '../../src/renderer/features/logs/log-buffer.js';
import { LogViewModel } from '../../src/renderer/features/logs/log-view-model.js';
import { compileSearch, levelsAtOrAbove } from '../../src/renderer/lib/log-filter.js';
import { entry } from './fake-api.js';

const levels = ['info', 'warning', 'error', 'info', 'critical', 'debug'] as const;
const make = (seq: number) =>
  entry(seq, seq % 3 === 0 ? `boom ${seq}` : `fine ${seq}`, levels[seq % levels.length]);

describe('LogViewModel', () => {
  it('filters by level and tracks search matches as seqs', () => {
    const b = new LogBuffer();
    const m = new LogViewModel(b);
    const { added } = b.append(Array.from({ length: 12 }, (_, i) => make(i + 1)));
    m.appended(added);
    expect(m.filtered).toHaveLength(12);
    m.setFilter({
      levels: levelsAtOrAbove('error'),
      search: compileSearch({ query: 'boom', regex: false, caseSensitive: false }),
      onlyMatches: false,
    });
    expect(m.filtered.map((e) => e.seq)).toEqual([2, 4, 8, 10]);
    expect(m.matches).toEqual([]);
    m.setFilter({
      levels: levelsAtOrAbove('debug'),
      search: compileSearch({ query: 'boom \\d', regex: true, caseSensitive: false }),
      onlyMatches: false,
    });
    expect(m.matches).toEqual([3, 6, 9, 12]);
    m.setFilter({ ...m.filter, onlyMatches: true });
    expect(m.filtered.map((e) => e.seq)).toEqual([3, 6, 9, 12]);
  });

  it('next/previous match wraps around, from the current match or an anchor row', () => {
    const b = new LogBuffer();
    const m = new LogViewModel(b);
    m.appended(b.append(Array.from({ length: 12 }, (_, i) => make(i + 1))).added);
    m.setFilter({
      ...m.filter,
      search: compileSearch({ query: 'boom', regex: false, caseSensitive: false }),
    });
    expect(m.nextMatch(null, 1)).toBe(3);
    expect(m.nextMatch(3, 1)).toBe(6);
    expect(m.nextMatch(12, 1)).toBe(3);
    expect(m.nextMatch(3, -1)).toBe(12);
    expect(m.nextMatch(null, 1, m.indexOfSeq(7))).toBe(9);
    expect(m.nextMatch(null, -1, m.indexOfSeq(7))).toBe(6);
    expect(m.nextMatch(null, 1, m.indexOfSeq(6))).toBe(6);
  });

  it('follows buffer eviction: drops rows from the front and reports how many', () => {
    const b = new LogBuffer(10);
    const m = new LogViewModel(b);
    m.setFilter({
      ...m.filter,
      search: compileSearch({ query: 'boom', regex: false, caseSensitive: false }),
    });
    m.appended(b.append(Array.from({ length: 10 }, (_, i) => make(i + 1))).added);
    const { droppedFront } = m.appended(b.append(Array.from({ length: 4 }, (_, i) => make(i + 11))).added);
    expect(droppedFront).toBe(4);
    expect(m.filtered.map((e) => e.seq)).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    expect(m.matches).toEqual([6, 9, 12]);
    expect(m.indexOfSeq(4)).toBe(-1);
    expect(m.indexOfSeq(5)).toBe(0);
  });

  it('next error', () => {
    const b = new LogBuffer();
    const m = new LogViewModel(b);
    m.appended(b.append(Array.from({ length: 6 }, (_, i) => make(i + 1))).added);
    // levels by seq: 1 warning, 2 error, 3 info, 4 critical, 5 debug, 6 info
    expect(m.nextError(-1, 1)).toBe(1);
    expect(m.nextError(1, 1)).toBe(3);
    expect(m.nextError(3, 1)).toBe(1);
  });
});
