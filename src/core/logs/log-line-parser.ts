import type { LogLevel, LogSource } from '../../shared/log-entry.js';

/**
 * Recognising where a daemon log record starts, and its level (docs/daemon-protocol.md §12).
 *
 * The three formats are matched by hand-written prefix checks instead of regexes: the
 * parser runs once per line of a possibly very chatty daemon, and a cheap first-character test
 * (digit → tray/direct, `[` → legacy or a `[Luna.…]` print) rejects most lines before any work. The
 * reference regexes (the three formats written as regexes) are exported too; the tests check that both agree.
 * One deliberate difference: the direct format's `\S+ \S+` timestamp must start with a digit (as
 * `%(asctime)s` always does).
 */

/** Tray format (`tray_app.py`): `%(asctime)s - %(levelname)s - %(message)s`. */
export const TRAY_LINE_RE =
  /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) - (DEBUG|INFO|WARNING|ERROR|CRITICAL) - (.*)$/;
/** Direct `daemon_server.py` format: `%(asctime)s - %(name)s - %(levelname)s - %(message)s`. */
export const DIRECT_LINE_RE = /^(\S+ \S+) - (\S+) - (DEBUG|INFO|WARNING|ERROR|CRITICAL) - (.*)$/;
/** Legacy `server.py` format: `[%(asctime)s] [Daemon] %(levelname)s: %(message)s`, time only. */
export const LEGACY_LINE_RE = /^\[(\d\d:\d\d:\d\d)\] \[Daemon\] (DEBUG|INFO|WARNING|ERROR|CRITICAL): (.*)$/;

/** Which prefix a record line had. `luna-print` is a `[Luna.Daemon] …` style `print()` (§3.5, §12). */
export type LogLineFormat = 'tray' | 'direct' | 'legacy' | 'luna-print';

/** A line that starts a record. */
export interface ParsedLogLine {
  format: LogLineFormat;
  level: LogLevel;
  /** Logger name (direct format), or the bracket tag of a `[Luna.X]` print. */
  logger?: string;
  /** The message, without the prefix. */
  text: string;
}

/**
 * Reusable scratch object for {@link parseSpanInto} (no allocation per line). A line is a SPAN
 * `str[start, end)` of a larger string (the decoded chunk), so the hot path never slices it.
 */
export interface ParsedLogLineScratch {
  format: LogLineFormat;
  level: LogLevel;
  logger: string | undefined;
  /** Where the message starts in the parsed string (it runs to the end of the line). */
  textStart: number;
  /** The message; set by {@link parseLogLineInto} only (the span parser leaves it alone). */
  text: string;
  /** The last logger name parsed, reused when the next line has the same one. */
  lastLogger: string | undefined;
  /**
   * The whole prefix (timestamp, logger, level, separators) of the last tray/direct line, and what
   * it parsed to. A tray/direct parse depends on the prefix alone, so a line starting with the same
   * characters parses the same: a flood of records within one millisecond costs one comparison.
   */
  prefix: string;
  /** Lines that matched {@link prefix} so far; a sticky regex replaces the slice compare after a few. */
  prefixHits: number;
  /** `prefix` as a sticky regex (built once the prefix has repeated), or null. */
  prefixRe: RegExp | null;
  prefixFormat: LogLineFormat;
  prefixLevel: LogLevel;
  prefixLogger: string | undefined;
}

/** A fresh scratch object for {@link parseSpanInto}. */
export function createParseScratch(): ParsedLogLineScratch {
  return {
    format: 'direct',
    level: 'info',
    logger: undefined,
    textStart: 0,
    text: '',
    lastLogger: undefined,
    prefix: '',
    prefixHits: 0,
    prefixRe: null,
    prefixFormat: 'direct',
    prefixLevel: 'info',
    prefixLogger: undefined,
  };
}

/** True when `word` occurs in `str` at `pos` and ends by `end` (a charCode loop the JIT inlines). */
function hasAt(str: string, pos: number, end: number, word: string): boolean {
  if (pos + word.length > end) return false;
  for (let i = 0; i < word.length; i++) {
    if (str.charCodeAt(pos + i) !== word.charCodeAt(i)) return false;
  }
  return true;
}

/** `" - "` at `pos`, ending by `end`. */
function hasDashAt(str: string, pos: number, end: number): boolean {
  return (
    pos + 3 <= end &&
    str.charCodeAt(pos) === 32 &&
    str.charCodeAt(pos + 1) === 45 &&
    str.charCodeAt(pos + 2) === 32
  );
}

/** The Python level name at `pos`, as our level. */
function levelAt(str: string, pos: number, end: number): LogLevel | undefined {
  switch (str.charCodeAt(pos)) {
    case 73: // I
      return hasAt(str, pos, end, 'INFO') ? 'info' : undefined;
    case 87: // W
      return hasAt(str, pos, end, 'WARNING') ? 'warning' : undefined;
    case 69: // E
      return hasAt(str, pos, end, 'ERROR') ? 'error' : undefined;
    case 68: // D
      return hasAt(str, pos, end, 'DEBUG') ? 'debug' : undefined;
    case 67: // C
      return hasAt(str, pos, end, 'CRITICAL') ? 'critical' : undefined;
    default:
      return undefined;
  }
}

const LEVEL_NAME_LENGTH: Record<LogLevel, number> = { debug: 5, info: 4, warning: 7, error: 5, critical: 8 };

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** `\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}` at `s` (Python's default asctime). */
function hasAsctime(str: string, s: number, end: number): boolean {
  if (end - s < 23) return false;
  // The separators first: they reject most non-timestamps in one or two comparisons.
  if (
    str.charCodeAt(s + 4) !== 45 || // -
    str.charCodeAt(s + 7) !== 45 ||
    str.charCodeAt(s + 10) !== 32 || // space
    str.charCodeAt(s + 13) !== 58 || // :
    str.charCodeAt(s + 16) !== 58 ||
    str.charCodeAt(s + 19) !== 44 // ,
  ) {
    return false;
  }
  for (let i = 0; i < 23; i++) {
    if (i === 4 || i === 7 || i === 10 || i === 13 || i === 16 || i === 19) continue;
    if (!isDigit(str.charCodeAt(s + i))) return false;
  }
  return true;
}

/** True when the range holds no whitespace (the reference regexes' `\S+`). */
function isNonSpace(str: string, from: number, to: number): boolean {
  if (to <= from) return false;
  for (let i = from; i < to; i++) {
    const c = str.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 11 || c === 12 || c === 13 || c === 0xa0) return false;
  }
  return true;
}

/** The next `char` in `str[from, end)`, or -1. */
function indexIn(str: string, char: string, from: number, end: number): number {
  const i = str.indexOf(char, from);
  return i !== -1 && i < end ? i : -1;
}

/** Lines with the same prefix after which the prefix is compiled into a sticky regex. */
const PREFIX_RE_AFTER = 8;

/** Escape a literal for a RegExp source. */
function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/**
 * True when `str[s, end)` starts with the remembered prefix. A short-lived slice and `===` (a native
 * memory compare) costs ~50 ns on Node 20, where a `charCodeAt` loop over the ~45 characters or
 * `startsWith(prefix, s)` measured ~150 ns; once the prefix has repeated (a burst of records within
 * one millisecond), a sticky regex `test` at `s` does it in ~22 ns without allocating. Building the
 * regex costs microseconds, so it is not done for a prefix seen once or twice.
 */
function hasRememberedPrefix(str: string, s: number, end: number, out: ParsedLogLineScratch): boolean {
  const n = out.prefix.length;
  if (n === 0 || end - s < n) return false;
  const re = out.prefixRe;
  if (re !== null) {
    re.lastIndex = s;
    return re.test(str);
  }
  if (str.slice(s, s + n) !== out.prefix) return false;
  if (++out.prefixHits === PREFIX_RE_AFTER) out.prefixRe = new RegExp(escapeRegExp(out.prefix), 'y');
  return true;
}

/** Remember the prefix `str[s, textStart)` of a tray/direct line just parsed into `out`. */
function rememberPrefix(str: string, s: number, textStart: number, out: ParsedLogLineScratch): void {
  out.prefix = str.slice(s, textStart);
  out.prefixHits = 0;
  out.prefixRe = null;
  out.prefixFormat = out.format;
  out.prefixLevel = out.level;
  out.prefixLogger = out.logger;
}

function parseTimestamped(str: string, s: number, end: number, out: ParsedLogLineScratch): boolean {
  if (hasRememberedPrefix(str, s, end, out)) {
    out.format = out.prefixFormat;
    out.level = out.prefixLevel;
    out.logger = out.prefixLogger;
    out.textStart = s + out.prefix.length;
    return true;
  }
  let sep1: number;
  if (hasAsctime(str, s, end)) {
    if (!hasDashAt(str, s + 23, end)) return false;
    // Tray: asctime, " - ", LEVEL, " - ".
    const level = levelAt(str, s + 26, end);
    if (level !== undefined && hasDashAt(str, s + 26 + LEVEL_NAME_LENGTH[level], end)) {
      out.format = 'tray';
      out.level = level;
      out.logger = undefined;
      out.textStart = s + 29 + LEVEL_NAME_LENGTH[level];
      rememberPrefix(str, s, out.textStart, out);
      return true;
    }
    sep1 = s + 23;
  } else {
    // Direct with another asctime shape: `\S+ \S+` then " - ". Each `\S+` ends at the next space,
    // so the regex cannot backtrack and a left-to-right scan matches exactly the same lines.
    const sp = indexIn(str, ' ', s, end);
    if (sp <= s || !isNonSpace(str, s, sp)) return false;
    sep1 = indexIn(str, ' ', sp + 1, end);
    if (sep1 === -1 || !hasDashAt(str, sep1, end) || !isNonSpace(str, sp + 1, sep1)) return false;
  }
  // Direct: name, " - ", LEVEL, " - ".
  const nameStart = sep1 + 3;
  const sep2 = indexIn(str, ' ', nameStart, end);
  if (sep2 === -1 || !hasDashAt(str, sep2, end) || !isNonSpace(str, nameStart, sep2)) return false;
  const level = levelAt(str, sep2 + 3, end);
  if (level === undefined) return false;
  const afterLevel = sep2 + 3 + LEVEL_NAME_LENGTH[level];
  if (!hasDashAt(str, afterLevel, end)) return false;
  out.format = 'direct';
  out.level = level;
  // Consecutive records nearly always share the logger name: reuse the previous string.
  const prev = out.lastLogger;
  out.logger =
    prev !== undefined && prev.length === sep2 - nameStart && hasAt(str, nameStart, sep2, prev)
      ? prev
      : (out.lastLogger = str.slice(nameStart, sep2));
  out.textStart = afterLevel + 3;
  rememberPrefix(str, s, out.textStart, out);
  return true;
}

function parseBracketed(str: string, s: number, end: number, out: ParsedLogLineScratch): boolean {
  // Legacy: "[HH:MM:SS] [Daemon] LEVEL: ".
  if (
    end - s >= 20 &&
    str.charCodeAt(s + 3) === 58 &&
    str.charCodeAt(s + 6) === 58 &&
    hasAt(str, s + 9, end, '] [Daemon] ') &&
    isDigit(str.charCodeAt(s + 1)) &&
    isDigit(str.charCodeAt(s + 2)) &&
    isDigit(str.charCodeAt(s + 4)) &&
    isDigit(str.charCodeAt(s + 5)) &&
    isDigit(str.charCodeAt(s + 7)) &&
    isDigit(str.charCodeAt(s + 8))
  ) {
    const level = levelAt(str, s + 20, end);
    if (level !== undefined && hasAt(str, s + 20 + LEVEL_NAME_LENGTH[level], end, ': ')) {
      out.format = 'legacy';
      out.level = level;
      out.logger = undefined;
      out.textStart = s + 22 + LEVEL_NAME_LENGTH[level];
      return true;
    }
    return false;
  }
  // Tagged prints (docs/daemon-protocol.md §3.5, §12): `[Luna.Daemon] Using attention mode: …`,
  // `[Luna.DaemonAPI] …`.
  if (hasAt(str, s, end, '[Luna')) {
    const close = indexIn(str, ']', s + 5, end);
    if (close === -1 || !isNonSpace(str, s + 1, close)) return false;
    out.format = 'luna-print';
    out.logger = str.slice(s + 1, close);
    out.textStart = close + 1 < end && str.charCodeAt(close + 1) === 32 ? close + 2 : close + 1;
    out.level = rawSpanLevel(str, out.textStart, end);
    return true;
  }
  return false;
}

/**
 * Parse the line `str[start, end)` into `out` when it starts a record (tray, direct, legacy, or a
 * `[Luna.…]` print): its message is `str.slice(out.textStart, end)`. Returns false for every other
 * line: a continuation or a raw print, which the record assembler handles. The line must not contain
 * a line break (the span ends at one, or at the end of `str`).
 */
export function parseSpanInto(str: string, start: number, end: number, out: ParsedLogLineScratch): boolean {
  const c = str.charCodeAt(start);
  if (isDigit(c)) return parseTimestamped(str, start, end, out);
  if (c === 91) return parseBracketed(str, start, end, out); // [
  return false;
}

/** {@link parseSpanInto} for a whole line; also sets `out.text`. */
export function parseLogLineInto(line: string, out: ParsedLogLineScratch): boolean {
  if (!parseSpanInto(line, 0, line.length, out)) return false;
  out.text = line.slice(out.textStart);
  return true;
}

/** Parse one line; `null` when it does not start a record (see {@link parseSpanInto}). */
export function parseLogLine(line: string): ParsedLogLine | null {
  const out = createParseScratch();
  if (!parseLogLineInto(line, out)) return null;
  const parsed: ParsedLogLine = { format: out.format, level: out.level, text: out.text };
  if (out.logger !== undefined) parsed.logger = out.logger;
  return parsed;
}

/** The first line of a Python traceback. */
export const TRACEBACK_START = 'Traceback (most recent call last):';

/** True for `Traceback (most recent call last):`. */
export function isTracebackStart(line: string): boolean {
  return line.charCodeAt(0) === 84 && line.startsWith(TRACEBACK_START); // T
}

/** The separators Python prints between chained tracebacks. */
export function isTracebackChainLine(line: string): boolean {
  return (
    line.startsWith('During handling of the above exception') ||
    line.startsWith('The above exception was the direct cause')
  );
}

/**
 * A Python exception line as printed at the end of a traceback (`ValueError: bad`,
 * `torch.cuda.OutOfMemoryError: …`, `KeyboardInterrupt`). Used only for lines outside a traceback,
 * so it requires a conventional exception class suffix.
 */
const EXCEPTION_LINE_RE = /^[A-Za-z_][\w.]*(Error|Exception|Warning|Exit|Interrupt)(?::|$)/;

/** Plain words a `print()` uses to flag its importance: `Error: …`, `Warning: pystray not installed`. */
const LEVEL_WORD_RE = /^(?:(error|fatal|critical)|(warning|warn))\b/i;
/** `Daemon error: <e>` (tray_app.py, docs/daemon-protocol.md §3.8): a short label ending in `error:`. */
const LABELLED_ERROR_RE = /^[A-Za-z][\w .-]{0,24}\berror:/i;

/**
 * The level of a raw line that starts no formatted record: a traceback start or a Python exception
 * line is an error (an exception class ending in `Warning` is a warning), a print starting with
 * `Error`/`Warning` gets that level, as does a short label ending in `error:` (`Daemon error: …`);
 * everything else is info.
 */
export function rawLineLevel(line: string): LogLevel {
  const c = line.charCodeAt(0);
  // Cheap gate: exception names and level words start with a letter or `_`.
  if (!((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95)) return 'info';
  if (isTracebackStart(line)) return 'error';
  const ex = EXCEPTION_LINE_RE.exec(line);
  if (ex) return ex[1] === 'Warning' ? 'warning' : 'error';
  const word = LEVEL_WORD_RE.exec(line);
  if (word) return word[1] !== undefined ? 'error' : 'warning';
  return LABELLED_ERROR_RE.test(line) ? 'error' : 'info';
}

/** {@link rawLineLevel} of the span `str[start, end)`; slices only when the cheap gate lets it through. */
export function rawSpanLevel(str: string, start: number, end: number): LogLevel {
  const c = str.charCodeAt(start);
  if (start >= end || !((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95)) return 'info';
  return rawLineLevel(str.slice(start, end));
}

/** {@link isTracebackStart} for the span `str[start, end)`. */
export function isTracebackStartAt(str: string, start: number, end: number): boolean {
  return str.charCodeAt(start) === 84 && hasAt(str, start, end, TRACEBACK_START); // T
}

/** {@link isBlankLine} for the span `str[start, end)`: only spaces, tabs and other whitespace. */
export function isBlankSpan(str: string, start: number, end: number): boolean {
  if (start >= end) return true;
  const c = str.charCodeAt(start);
  return (c === 32 || c === 9) && str.slice(start, end).trim().length === 0;
}

/** {@link isIndentedLine} for the span `str[start, end)`. */
export function isIndentedAt(str: string, start: number, end: number): boolean {
  if (start >= end) return false;
  const c = str.charCodeAt(start);
  return c === 32 || c === 9;
}

/** True for an empty or whitespace-only line. */
export function isBlankLine(line: string): boolean {
  if (line.length === 0) return true;
  const c = line.charCodeAt(0);
  return (c === 32 || c === 9) && line.trim().length === 0;
}

/** True when the line starts with a space or a tab (traceback frames and code lines). */
export function isIndentedLine(line: string): boolean {
  const c = line.charCodeAt(0);
  return c === 32 || c === 9;
}

/** One of the supervisor's own lines in the daemon log file (`formatSupervisorFileLine`). */
export interface ParsedFileLine {
  ts: number;
  source: LogSource;
  level: LogLevel;
  logger?: string;
  text: string;
}

const FILE_LEVELS: Record<string, LogLevel> = {
  DEBUG: 'debug',
  INFO: 'info',
  WARNING: 'warning',
  ERROR: 'error',
  CRITICAL: 'critical',
};
const FILE_LINE_RE =
  /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) \[luna-tray\] (DEBUG|INFO|WARNING|ERROR|CRITICAL) (.*)$/;

/**
 * Parse one of the supervisor's own lines in the daemon log file
 * (`2026-11-21T05:41:00.123Z [luna-tray] WARNING text`); `null` for every other line. The daemon's
 * lines are in that file verbatim (`log-capture.ts`): read them with {@link parseLogLine}.
 */
export function parseLogFileLine(line: string): ParsedFileLine | null {
  const m = FILE_LINE_RE.exec(line);
  if (!m) return null;
  return { ts: Date.parse(m[1]!), source: 'supervisor', level: FILE_LEVELS[m[2]!]!, text: m[3]! };
}
