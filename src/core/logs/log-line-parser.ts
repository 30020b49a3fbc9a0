import type { LogLevel, LogSource } from '../../shared/log-entry.js';

/**
 * Recognising where a daemon log record starts, and its level (spec/luna-daemon.md §12).
 *
 * The three formats are matched by hand-written prefix checks instead of the spec's regexes: the
 * parser runs once per line of a possibly very chatty daemon, and a cheap first-character test
 * (digit → tray/direct, `[` → legacy or a `[Luna.…]` print) rejects most lines before any work. The
 * spec regexes are exported too; the tests check that both agree. One deliberate difference: the
 * direct format's `\S+ \S+` timestamp must start with a digit (as `%(asctime)s` always does).
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

/** Reusable scratch object for {@link parseLogLineInto} (avoids one allocation per line). */
export interface ParsedLogLineScratch {
  format: LogLineFormat;
  level: LogLevel;
  logger: string | undefined;
  text: string;
  /** The last logger name parsed, reused when the next line has the same one. */
  lastLogger: string | undefined;
  /**
   * The whole prefix (timestamp, logger, level, separators) of the last tray/direct line, and what it
   * parsed to. A tray/direct parse depends on the prefix alone, so a line starting with the same
   * prefix parses the same: a flood of records within one millisecond costs one `startsWith`.
   */
  prefix: string;
  prefixFormat: LogLineFormat;
  prefixLevel: LogLevel;
  prefixLogger: string | undefined;
}

/** A fresh scratch object for {@link parseLogLineInto}. */
export function createParseScratch(): ParsedLogLineScratch {
  return {
    format: 'direct',
    level: 'info',
    logger: undefined,
    text: '',
    lastLogger: undefined,
    prefix: '',
    prefixFormat: 'direct',
    prefixLevel: 'info',
    prefixLogger: undefined,
  };
}

/** True when `word` occurs in `line` at `pos` (a charCode loop the JIT inlines; cheaper than startsWith). */
function hasAt(line: string, pos: number, word: string): boolean {
  if (pos + word.length > line.length) return false;
  for (let i = 0; i < word.length; i++) {
    if (line.charCodeAt(pos + i) !== word.charCodeAt(i)) return false;
  }
  return true;
}

/** `" - "` at `pos`. */
function hasDashAt(line: string, pos: number): boolean {
  return line.charCodeAt(pos) === 32 && line.charCodeAt(pos + 1) === 45 && line.charCodeAt(pos + 2) === 32;
}

/** The Python level name at `pos`, as our level. */
function levelAt(line: string, pos: number): LogLevel | undefined {
  switch (line.charCodeAt(pos)) {
    case 73: // I
      return hasAt(line, pos, 'INFO') ? 'info' : undefined;
    case 87: // W
      return hasAt(line, pos, 'WARNING') ? 'warning' : undefined;
    case 69: // E
      return hasAt(line, pos, 'ERROR') ? 'error' : undefined;
    case 68: // D
      return hasAt(line, pos, 'DEBUG') ? 'debug' : undefined;
    case 67: // C
      return hasAt(line, pos, 'CRITICAL') ? 'critical' : undefined;
    default:
      return undefined;
  }
}

const LEVEL_NAME_LENGTH: Record<LogLevel, number> = { debug: 5, info: 4, warning: 7, error: 5, critical: 8 };

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** `\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}` at the start of the line (Python's default asctime). */
function hasAsctime(line: string): boolean {
  if (line.length < 23) return false;
  for (let i = 0; i < 23; i++) {
    const c = line.charCodeAt(i);
    switch (i) {
      case 4:
      case 7:
        if (c !== 45) return false; // -
        break;
      case 10:
        if (c !== 32) return false; // space
        break;
      case 13:
      case 16:
        if (c !== 58) return false; // :
        break;
      case 19:
        if (c !== 44) return false; // ,
        break;
      default:
        if (!isDigit(c)) return false;
    }
  }
  return true;
}

/** True when the range holds no whitespace (the spec regexes' `\S+`). */
function isNonSpace(line: string, from: number, to: number): boolean {
  if (to <= from) return false;
  for (let i = from; i < to; i++) {
    const c = line.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 11 || c === 12 || c === 13 || c === 0xa0) return false;
  }
  return true;
}

/** Remember the prefix `line[0, end)` of a tray/direct line just parsed into `out`. */
function rememberPrefix(line: string, end: number, out: ParsedLogLineScratch): void {
  out.prefix = line.slice(0, end);
  out.prefixFormat = out.format;
  out.prefixLevel = out.level;
  out.prefixLogger = out.logger;
}

function parseTimestamped(line: string, out: ParsedLogLineScratch): boolean {
  const prefix = out.prefix;
  // `slice` + `===` rather than `startsWith`: with a prefix that is not a compile-time constant,
  // `startsWith` measured ~170 ns per call on Node 20, the slice and compare ~50 ns.
  if (prefix.length !== 0 && line.slice(0, prefix.length) === prefix) {
    out.format = out.prefixFormat;
    out.level = out.prefixLevel;
    out.logger = out.prefixLogger;
    out.text = line.slice(prefix.length);
    return true;
  }
  let sep1: number;
  if (hasAsctime(line)) {
    if (!hasDashAt(line, 23)) return false;
    // Tray: asctime, " - ", LEVEL, " - ".
    const level = levelAt(line, 26);
    if (level !== undefined && hasDashAt(line, 26 + LEVEL_NAME_LENGTH[level])) {
      out.format = 'tray';
      out.level = level;
      out.logger = undefined;
      out.text = line.slice(29 + LEVEL_NAME_LENGTH[level]);
      rememberPrefix(line, 29 + LEVEL_NAME_LENGTH[level], out);
      return true;
    }
    sep1 = 23;
  } else {
    // Direct with another asctime shape: `\S+ \S+` then " - ". Each `\S+` ends at the next space,
    // so the regex cannot backtrack and a left-to-right scan matches exactly the same lines.
    const sp = line.indexOf(' ');
    if (sp <= 0 || !isNonSpace(line, 0, sp)) return false;
    sep1 = line.indexOf(' ', sp + 1);
    if (sep1 === -1 || !hasDashAt(line, sep1) || !isNonSpace(line, sp + 1, sep1)) return false;
  }
  // Direct: name, " - ", LEVEL, " - ".
  const nameStart = sep1 + 3;
  const sep2 = line.indexOf(' ', nameStart);
  if (sep2 === -1 || !hasDashAt(line, sep2) || !isNonSpace(line, nameStart, sep2)) return false;
  const level = levelAt(line, sep2 + 3);
  if (level === undefined) return false;
  const afterLevel = sep2 + 3 + LEVEL_NAME_LENGTH[level];
  if (!hasDashAt(line, afterLevel)) return false;
  out.format = 'direct';
  out.level = level;
  // Consecutive records nearly always share the logger name: reuse the previous string.
  const prev = out.lastLogger;
  out.logger =
    prev !== undefined && prev.length === sep2 - nameStart && hasAt(line, nameStart, prev)
      ? prev
      : (out.lastLogger = line.slice(nameStart, sep2));
  out.text = line.slice(afterLevel + 3);
  rememberPrefix(line, afterLevel + 3, out);
  return true;
}

function parseBracketed(line: string, out: ParsedLogLineScratch): boolean {
  // Legacy: "[HH:MM:SS] [Daemon] LEVEL: ".
  if (
    line.length >= 20 &&
    line.charCodeAt(3) === 58 &&
    line.charCodeAt(6) === 58 &&
    hasAt(line, 9, '] [Daemon] ') &&
    isDigit(line.charCodeAt(1)) &&
    isDigit(line.charCodeAt(2)) &&
    isDigit(line.charCodeAt(4)) &&
    isDigit(line.charCodeAt(5)) &&
    isDigit(line.charCodeAt(7)) &&
    isDigit(line.charCodeAt(8))
  ) {
    const level = levelAt(line, 20);
    if (level !== undefined && hasAt(line, 20 + LEVEL_NAME_LENGTH[level], ': ')) {
      out.format = 'legacy';
      out.level = level;
      out.logger = undefined;
      out.text = line.slice(22 + LEVEL_NAME_LENGTH[level]);
      return true;
    }
    return false;
  }
  // `[Luna.Daemon] Using attention mode: …`, `[Luna.DaemonAPI] …`: tagged prints (spec §3.5, §12).
  if (line.startsWith('[Luna')) {
    const close = line.indexOf(']', 5);
    if (close === -1 || !isNonSpace(line, 1, close)) return false;
    out.format = 'luna-print';
    out.logger = line.slice(1, close);
    out.text = line.charCodeAt(close + 1) === 32 ? line.slice(close + 2) : line.slice(close + 1);
    out.level = rawLineLevel(out.text);
    return true;
  }
  return false;
}

/**
 * Parse a line into `out` when it starts a record (tray, direct, legacy, or a `[Luna.…]` print).
 * Returns false for every other line: a continuation or a raw print, which the record assembler
 * handles.
 */
export function parseLogLineInto(line: string, out: ParsedLogLineScratch): boolean {
  const c = line.charCodeAt(0);
  if (isDigit(c)) return parseTimestamped(line, out);
  if (c === 91) return parseBracketed(line, out); // [
  return false;
}

/** Parse one line; `null` when it does not start a record (see {@link parseLogLineInto}). */
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
/** `Daemon error: <e>` (tray_app.py, spec §3.8): a short label ending in `error:`. */
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
