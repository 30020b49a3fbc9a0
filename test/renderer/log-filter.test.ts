import { describe, expect, it } from 'vitest';

import {
  compileSearch,
  entryPasses,
  exportFileName,
  findNext,
  firstLine,
  formatEntryLine,
  levelsAtOrAbove,
  lowerBoundBySeq,
  splitByRanges,
} from '../../src/renderer/lib/log-filter.js';
import type { LogEntry } from '../../src/shared/log-entry.js';
import { entry } from './fake-api.js';

const ranges = (query: string, text: string, regex = false, caseSensitive = false) => {
  const s = compileSearch({ query, regex, caseSensitive });
  if (!s.ok) throw new Error(s.message);
  return s.ranges(text);
};

describe('compileSearch', () => {
  it('finds every literal occurrence, case-insensitively by default', () => {
    expect(ranges('ab', 'xAbyabAB')).toEqual([
      [1, 3],
      [4, 6],
      [6, 8],
    ]);
    expect(ranges('ab', 'xAbyabAB', false, true)).toEqual([[4, 6]]);
  });

  it('treats regex metacharacters literally in text mode', () => {
    expect(ranges('a.c', 'abc a.c')).toEqual([[4, 7]]);
    expect(ranges('(x)', '(x) x')).toEqual([[0, 3]]);
  });

  it('supports regular expressions', () => {
    expect(ranges('\\d+', 'a12b345', true)).toEqual([
      [1, 3],
      [4, 7],
    ]);
    expect(ranges('^warn', 'warning: warn', true)).toEqual([[0, 4]]);
  });

  it('returns an inline message for an invalid regex instead of throwing', () => {
    const s = compileSearch({ query: '([a-', regex: true, caseSensitive: false });
    expect(s.ok).toBe(false);
    if (!s.ok) expect(s.message).toMatch(/^Invalid regular expression/);
    // Said once, not "Invalid regular expression: Invalid regular expression: …".
    if (!s.ok) expect(s.message.match(/Invalid regular expression/gi)).toHaveLength(1);
  });

  it('never loops on patterns that match the empty string', () => {
    expect(ranges('x*', 'aaxxa', true)).toEqual([[2, 4]]);
    const s = compileSearch({ query: '^', regex: true, caseSensitive: false });
    expect(s.ok && s.test('abc')).toBe(false);
  });

  it('keeps offsets right when case folding changes string length', () => {
    // 'İ'.toLowerCase() is two code units: a toLowerCase+indexOf search would drift.
    expect(ranges('x', 'İİx')).toEqual([[2, 3]]);
  });

  it('an empty query is "everything matches, nothing highlighted"', () => {
    const s = compileSearch({ query: '', regex: true, caseSensitive: false });
    expect(s.ok && s.empty && s.test('a')).toBe(true);
    expect(s.ok && s.ranges('abc')).toEqual([]);
  });
});

describe('splitByRanges', () => {
  it('alternates plain and marked parts and rebuilds the text exactly', () => {
    const text = '<b>x</b> and x';
    const parts = splitByRanges(text, ranges('x', text));
    expect(parts).toEqual([
      { text: '<b>', match: false },
      { text: 'x', match: true },
      { text: '</b> and ', match: false },
      { text: 'x', match: true },
    ]);
    expect(parts.map((p) => p.text).join('')).toBe(text);
  });

  it('normalises unsorted, overlapping and out-of-bounds ranges', () => {
    // [1,3] and [2,4] overlap → one mark; [4,9] is adjacent → its own mark, clipped to the text.
    expect(
      splitByRanges('abcdef', [
        [4, 9],
        [1, 3],
        [2, 4],
      ]),
    ).toEqual([
      { text: 'a', match: false },
      { text: 'bcd', match: true },
      { text: 'ef', match: true },
    ]);
    expect(splitByRanges('', [])).toEqual([{ text: '', match: false }]);
  });
});

describe('filters', () => {
  const all = compileSearch({ query: '', regex: false, caseSensitive: false });
  it('level filter: at or above a minimum', () => {
    expect([...levelsAtOrAbove('warning')]).toEqual(['warning', 'error', 'critical']);
    const levels = levelsAtOrAbove('error');
    expect(entryPasses(entry(1, 'x', 'warning'), { levels, search: all, onlyMatches: false })).toBe(false);
    expect(entryPasses(entry(1, 'x', 'critical'), { levels, search: all, onlyMatches: false })).toBe(true);
  });

  it('"only matches" hides non-matching entries; an invalid search hides nothing', () => {
    const levels = levelsAtOrAbove('debug');
    const search = compileSearch({ query: 'boom', regex: false, caseSensitive: false });
    expect(entryPasses(entry(1, 'ok'), { levels, search, onlyMatches: true })).toBe(false);
    expect(entryPasses(entry(1, 'BOOM'), { levels, search, onlyMatches: true })).toBe(true);
    const bad = compileSearch({ query: '(', regex: true, caseSensitive: false });
    expect(entryPasses(entry(1, 'ok'), { levels, search: bad, onlyMatches: true })).toBe(true);
  });

  it('daemon filter: only that daemon; untagged entries only for the first daemon', () => {
    const levels = levelsAtOrAbove('debug');
    const vae = { ...entry(1, 'vae line'), daemon: 'vae' };
    const clip = { ...entry(2, 'clip line'), daemon: 'clip' };
    const untagged = entry(3, 'from a one-daemon core');
    const pass = (e: LogEntry, daemon: { id: string; includeUntagged: boolean } | null) =>
      entryPasses(e, { levels, search: all, onlyMatches: false, daemon });
    expect([vae, clip, untagged].map((e) => pass(e, { id: 'vae', includeUntagged: false }))).toEqual([
      true,
      false,
      false,
    ]);
    expect([vae, clip, untagged].map((e) => pass(e, { id: 'clip', includeUntagged: true }))).toEqual([
      false,
      true,
      true,
    ]);
    expect([vae, clip, untagged].map((e) => pass(e, null))).toEqual([true, true, true]);
  });
});

describe('helpers', () => {
  it('firstLine counts the extra lines of a traceback', () => {
    expect(firstLine('Traceback:\n  File x\nValueError\n')).toEqual({ line: 'Traceback:', more: 2 });
    expect(firstLine('one')).toEqual({ line: 'one', more: 0 });
    expect(firstLine('a\r\nb')).toEqual({ line: 'a', more: 1 });
  });

  it('findNext wraps around and returns -1 without hits', () => {
    const xs = [0, 1, 0, 0, 1];
    expect(findNext(xs, 1, 1, (x) => x === 1)).toBe(4);
    expect(findNext(xs, 4, 1, (x) => x === 1)).toBe(1);
    expect(findNext(xs, 1, -1, (x) => x === 1)).toBe(4);
    expect(findNext(xs, -1, 1, (x) => x === 1)).toBe(1);
    expect(findNext([0, 0], 0, 1, (x) => x === 1)).toBe(-1);
  });

  it('lowerBoundBySeq', () => {
    const xs = [{ seq: 2 }, { seq: 4 }, { seq: 9 }];
    expect([0, 2, 3, 9, 10].map((s) => lowerBoundBySeq(xs, s))).toEqual([0, 0, 1, 2, 3]);
  });

  it('export file name and line format', () => {
    expect(exportFileName(new Date(2024, 0, 5, 7, 8, 9))).toBe('luna-daemon-2024-01-05_07-08-09.log');
    const line = formatEntryLine({
      seq: 1,
      ts: Date.UTC(2024, 0, 1),
      source: 'stderr',
      level: 'error',
      logger: 'Luna',
      text: 'bad',
    });
    expect(line).toBe('2024-01-01T00:00:00.000Z ERROR    stderr [Luna] bad');
  });
});
