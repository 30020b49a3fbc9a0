import { LOG_LEVELS, type LogEntry } from '../../../shared/log-entry.js';
import {
  compileSearch,
  entryMatches,
  entryPasses,
  findNext,
  isErrorEntry,
  lowerBoundBySeq,
  type LogFilter,
} from '../../lib/log-filter.js';
import type { LogBuffer } from './log-buffer.js';

/**
 * The filtered view of a `LogBuffer`, kept up to date incrementally: `filtered` (entries passing
 * the level filter and, optionally, the search) and `matches` (seqs of filtered entries matching
 * the search), both sorted by seq. Pure (no DOM), so it is unit-tested under Node.
 */
export class LogViewModel {
  private filteredItems: LogEntry[] = [];
  private matchSeqs: number[] = [];
  private f: LogFilter = {
    levels: new Set(LOG_LEVELS),
    search: compileSearch({ query: '', regex: false, caseSensitive: false }),
    onlyMatches: false,
  };

  constructor(private readonly buffer: LogBuffer) {}

  /** Entries shown, oldest first. */
  get filtered(): readonly LogEntry[] {
    return this.filteredItems;
  }

  /** Seqs of shown entries matching the search (empty when the search is blank or invalid). */
  get matches(): readonly number[] {
    return this.matchSeqs;
  }

  /** The current filter. */
  get filter(): LogFilter {
    return this.f;
  }

  /** Replace the filter and recompute from the whole buffer. */
  setFilter(filter: LogFilter): void {
    this.f = filter;
    this.rebuild();
  }

  /** Recompute from the whole buffer (after a reset). */
  rebuild(): void {
    this.filteredItems = [];
    this.matchSeqs = [];
    this.push(this.buffer.entries);
  }

  /**
   * Entries were appended to the buffer (older ones may have been evicted): drop what the buffer
   * no longer holds, append what passes. Returns how many shown rows disappeared from the front, so
   * the view can keep the rows under the user's eyes in place.
   */
  appended(added: readonly LogEntry[]): { droppedFront: number } {
    const oldest = this.buffer.entries[0]?.seq ?? Infinity;
    const drop = lowerBoundBySeq(this.filteredItems, oldest);
    if (drop > 0) this.filteredItems.splice(0, drop);
    const dropMatches = lowerBound(this.matchSeqs, oldest);
    if (dropMatches > 0) this.matchSeqs.splice(0, dropMatches);
    this.push(added);
    return { droppedFront: drop };
  }

  /** Index of a seq among the shown entries, or -1. */
  indexOfSeq(seq: number): number {
    const i = lowerBoundBySeq(this.filteredItems, seq);
    return this.filteredItems[i]?.seq === seq ? i : -1;
  }

  /**
   * The next (`dir` 1) or previous (-1) match after `fromSeq` (or after/before `anchorIndex` when no
   * match is current), wrapping around; `null` when there are no matches.
   */
  nextMatch(fromSeq: number | null, dir: 1 | -1, anchorIndex = -1): number | null {
    const m = this.matchSeqs;
    if (m.length === 0) return null;
    let ref = fromSeq;
    if (ref === null) {
      const anchor = this.filteredItems[anchorIndex];
      if (!anchor) return dir === 1 ? m[0]! : m[m.length - 1]!;
      // From the anchor row itself: "next" may land on it.
      ref = anchor.seq - (dir === 1 ? 1 : -1);
    }
    if (dir === 1) {
      const i = lowerBound(m, ref + 1);
      return m[i < m.length ? i : 0]!;
    }
    const i = lowerBound(m, ref) - 1;
    return m[i >= 0 ? i : m.length - 1]!;
  }

  /** Index of the next/previous error-level entry after `fromIndex`, wrapping; -1 when none. */
  nextError(fromIndex: number, dir: 1 | -1): number {
    return findNext(this.filteredItems, fromIndex, dir, isErrorEntry);
  }

  private push(entries: readonly LogEntry[]): void {
    const f = this.f;
    const searching = f.search.ok && !f.search.empty;
    for (const e of entries) {
      if (!entryPasses(e, f)) continue;
      this.filteredItems.push(e);
      if (searching && entryMatches(e, f.search)) this.matchSeqs.push(e.seq);
    }
  }
}

function lowerBound(a: readonly number[], v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
