import { LOG_LEVELS, levelRank, type LogEntry, type LogLevel } from '../../shared/log-entry.js';

/**
 * Pure log filtering and search: level filters, text and regex search with match ranges, and the
 * "next match / next error" navigation. No DOM here, so it is unit-tested under Node.
 */

/** A `[start, end)` range of UTF-16 code units inside a string. */
export type MatchRange = readonly [start: number, end: number];

/** How the search box is interpreted. */
export interface SearchSpec {
  query: string;
  regex: boolean;
  caseSensitive: boolean;
}

/** A compiled search: `empty` when the query is blank (everything matches, nothing is highlighted). */
export type CompiledSearch =
  | { ok: true; empty: boolean; ranges(text: string): MatchRange[]; test(text: string): boolean }
  | { ok: false; message: string };

/** Guard against pathological patterns producing millions of ranges in one line. */
const MAX_RANGES_PER_TEXT = 1000;

/** Levels at or above `min`. */
export function levelsAtOrAbove(min: LogLevel): Set<LogLevel> {
  return new Set(LOG_LEVELS.filter((l) => levelRank(l) >= levelRank(min)));
}

/** Escape a string for literal use inside a RegExp. */
export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Compile a search. Text mode is a literal, case-insensitive unless asked otherwise (done with an
 * escaped RegExp so case folding never shifts offsets, as `toLowerCase()` can for e.g. 'İ').
 * An invalid regex is a value with a message for the UI, never an exception.
 */
export function compileSearch(spec: SearchSpec): CompiledSearch {
  if (spec.query === '') return { ok: true, empty: true, ranges: () => [], test: () => true };
  let re: RegExp;
  try {
    re = new RegExp(spec.regex ? spec.query : escapeRegExp(spec.query), spec.caseSensitive ? 'gu' : 'giu');
  } catch (e) {
    // V8 already says "Invalid regular expression: /x(/giu: Unterminated group": say it once.
    const why = (e instanceof Error ? e.message : String(e)).replace(/^Invalid regular expression:\s*/i, '');
    return { ok: false, message: `Invalid regular expression: ${why}` };
  }
  const ranges = (text: string, limit = MAX_RANGES_PER_TEXT): MatchRange[] => {
    const out: MatchRange[] = [];
    re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while (out.length < limit && (m = re.exec(text)) !== null) {
      if (m[0].length === 0) {
        // An empty match (`a*`, `^`) highlights nothing; step past it or exec() loops forever.
        re.lastIndex = m.index + 1;
        if (re.lastIndex > text.length) break;
        continue;
      }
      out.push([m.index, m.index + m[0].length]);
    }
    return out;
  };
  return { ok: true, empty: false, ranges: (t) => ranges(t), test: (t) => ranges(t, 1).length > 0 };
}

/** One piece of a highlighted string: rendered as a text node, or inside a `<mark>`. */
export interface TextPart {
  text: string;
  match: boolean;
}

/**
 * Split `text` by match ranges into alternating plain/matched parts (ranges may be unsorted or
 * overlapping; they are normalised). The view turns parts into text nodes and `<mark>` elements.
 */
export function splitByRanges(text: string, ranges: readonly MatchRange[]): TextPart[] {
  const sorted = ranges
    .map(([s, e]) => [Math.max(0, s), Math.min(text.length, e)] as const)
    .filter(([s, e]) => e > s)
    .sort((a, b) => a[0] - b[0]);
  const parts: TextPart[] = [];
  let pos = 0;
  for (const [s, e] of sorted) {
    if (e <= pos) continue;
    const last = parts[parts.length - 1];
    if (s < pos && last?.match) {
      // Overlaps the previous mark: extend it (adjacent matches stay separate marks).
      last.text += text.slice(pos, e);
    } else {
      if (s > pos) parts.push({ text: text.slice(pos, s), match: false });
      parts.push({ text: text.slice(s, e), match: true });
    }
    pos = e;
  }
  if (pos < text.length || parts.length === 0) parts.push({ text: text.slice(pos), match: false });
  return parts;
}

/** The first line of a (possibly multi-line) entry, and how many more lines follow. */
export function firstLine(text: string): { line: string; more: number } {
  const nl = text.indexOf('\n');
  if (nl < 0) return { line: text, more: 0 };
  let more = 0;
  for (let i = nl; i !== -1; i = text.indexOf('\n', i + 1)) more++;
  // A trailing newline adds no visible line.
  if (text.endsWith('\n')) more--;
  return { line: text.slice(0, nl).replace(/\r$/, ''), more };
}

/** Show one daemon's entries (several daemons share one log; each entry names its daemon). */
export interface DaemonFilter {
  id: string;
  /**
   * Also show entries without a daemon id: true for the first daemon, which is the one a
   * single-daemon core writes untagged entries for.
   */
  includeUntagged: boolean;
}

/** The filter of the log view: which levels are shown, and optionally only search matches. */
export interface LogFilter {
  levels: ReadonlySet<LogLevel>;
  search: CompiledSearch;
  onlyMatches: boolean;
  /** null or absent = every daemon. */
  daemon?: DaemonFilter | null;
}

/** Does an entry pass the filter? An invalid search filters nothing. */
export function entryPasses(entry: LogEntry, filter: LogFilter): boolean {
  if (!filter.levels.has(entry.level)) return false;
  const d = filter.daemon;
  if (d && (entry.daemon === undefined ? !d.includeUntagged : entry.daemon !== d.id)) return false;
  if (filter.onlyMatches && filter.search.ok && !filter.search.empty) return filter.search.test(entry.text);
  return true;
}

/** Does an entry match the search (for highlighting and next/previous)? */
export function entryMatches(entry: LogEntry, search: CompiledSearch): boolean {
  return search.ok && !search.empty && search.test(entry.text);
}

/**
 * Index of the next (`dir` 1) or previous (`dir` -1) entry after `from` satisfying `pred`, wrapping
 * around once; -1 when none does. `from` may be -1 (start before the first entry).
 */
export function findNext<T>(
  items: readonly T[],
  from: number,
  dir: 1 | -1,
  pred: (item: T) => boolean,
): number {
  const n = items.length;
  if (n === 0) return -1;
  let i = from;
  for (let step = 0; step < n; step++) {
    i = (((i + dir) % n) + n) % n;
    if (pred(items[i] as T)) return i;
  }
  return -1;
}

/** Is this an error-level entry (for "jump to next error")? */
export function isErrorEntry(entry: LogEntry): boolean {
  return entry.level === 'error' || entry.level === 'critical';
}

/** Index of the first item with `seq >= seq` in a seq-sorted array (binary search). */
export function lowerBoundBySeq(items: readonly { seq: number }[], seq: number): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((items[mid] as { seq: number }).seq < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** `HH:MM:SS.mmm` in local time. */
export function formatTime(ts: number): string {
  const d = new Date(ts);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** One entry as a line of a copied or exported log file. */
export function formatEntryLine(e: LogEntry): string {
  const iso = new Date(e.ts).toISOString();
  const logger = e.logger ? ` [${e.logger}]` : '';
  return `${iso} ${e.level.toUpperCase().padEnd(8)} ${e.source}${logger} ${e.text}`;
}

/** The export file name: `luna-daemon-<YYYY-MM-DD_HH-MM-SS>.log` (local time, file-name safe). */
export function exportFileName(now: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const date = `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}`;
  const time = `${p(now.getHours())}-${p(now.getMinutes())}-${p(now.getSeconds())}`;
  return `luna-daemon-${date}_${time}.log`;
}
