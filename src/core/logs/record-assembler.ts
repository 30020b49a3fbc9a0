import type { LogEntry, LogLevel, LogSource } from '../../shared/log-entry.js';
import {
  createParseScratch,
  isBlankLine,
  isIndentedLine,
  isTracebackChainLine,
  isTracebackStart,
  parseLogLineInto,
  rawLineLevel,
} from './log-line-parser.js';

/**
 * Grouping lines into records (spec/luna-daemon.md §12: "a line that does not match the prefix is a
 * continuation of the previous record or a raw print").
 *
 * Rules, per stream:
 * - A formatted line (tray, direct, legacy) starts a record that stays OPEN: following unprefixed
 *   lines are its continuation (`logger.error(traceback.format_exc())`, `logger.exception(...)`).
 *   Exception: a bare `Traceback (most recent call last):` after a DEBUG/INFO record starts its own
 *   error record (it comes from `traceback.print_exc()`, not from that record).
 * - A raw `Traceback (most recent call last):` starts an error record that takes its frames
 *   (indented lines), the exception line that ends it, and chained tracebacks
 *   (`During handling of the above exception…`, blank lines, the next `Traceback`).
 * - Any other raw line is a record of its own (a `print()`): info, or error/warning when it looks
 *   like a Python exception line or starts with `Error`/`Warning` (see `rawLineLevel`).
 *   Blank lines outside a record are dropped; trailing blank lines of a record are trimmed.
 * - An open record is capped at {@link MAX_CONTINUATION_LINES} lines / {@link MAX_RECORD_CHARS}
 *   characters so an endless stream of unprefixed lines (a progress bar on stderr) cannot hold
 *   memory: at the cap it is closed and later lines become records of their own.
 *
 * Entries are immutable once published, so the caller decides WHEN an open record is closed: when
 * the next record starts (here), or after its idle delay, or at end of stream (`log-capture.ts`).
 */

/** Continuation lines one record may collect before it is closed. */
export const MAX_CONTINUATION_LINES = 1000;
/** Characters one record may collect before it is closed. */
export const MAX_RECORD_CHARS = 512 * 1024;

const enum OpenKind {
  None,
  Formatted,
  Traceback,
}

/** Turns lines of ONE stream into log entries (with `seq` 0 until the store numbers them). */
export interface RecordAssembler {
  /** Push the lines of one chunk, received at `ts`; completed records are appended to `out`. */
  push(lines: readonly string[], ts: number, out: LogEntry[]): void;
  /** True while a multi-line record is held open, waiting for continuations. */
  readonly hasOpen: boolean;
  /** Publish the open record (if any) into `out`. */
  close(out: LogEntry[]): void;
}

/** Create the record assembler for one stream (`stdout` or `stderr`). */
export function createRecordAssembler(source: LogSource): RecordAssembler {
  const scratch = createParseScratch();
  let kind = OpenKind.None;
  let openTs = 0;
  let openLevel: LogLevel = 'info';
  let openLogger: string | undefined;
  let openFirst = '';
  let openMore: string[] | null = null;
  let openChars = 0;
  /** Traceback record: the exception line has been seen (only chains and blanks may follow). */
  let tracebackDone = false;

  function entry(ts: number, level: LogLevel, logger: string | undefined, text: string): LogEntry {
    // Always the same shape (seq first, logger present even when undefined): one hidden class.
    return { seq: 0, ts, source, level, logger, text };
  }

  function open(k: OpenKind, ts: number, level: LogLevel, logger: string | undefined, text: string): void {
    kind = k;
    openTs = ts;
    openLevel = level;
    openLogger = logger;
    openFirst = text;
    openMore = null;
    openChars = text.length;
    tracebackDone = false;
  }

  function append(line: string, out: LogEntry[]): boolean {
    if (openMore === null) openMore = [];
    if (openMore.length >= MAX_CONTINUATION_LINES || openChars + line.length > MAX_RECORD_CHARS) {
      close(out);
      return false;
    }
    openMore.push(line);
    openChars += line.length + 1;
    return true;
  }

  function close(out: LogEntry[]): void {
    if (kind === OpenKind.None) return;
    let text = openFirst;
    if (openMore !== null) {
      let end = openMore.length;
      while (end > 0 && isBlankLine(openMore[end - 1]!)) end--;
      if (end > 0) text = openFirst + '\n' + openMore.slice(0, end).join('\n');
    }
    out.push(entry(openTs, openLevel, openLogger, text));
    kind = OpenKind.None;
    openMore = null;
  }

  function raw(line: string, ts: number, out: LogEntry[]): void {
    if (isTracebackStart(line)) {
      open(OpenKind.Traceback, ts, 'error', undefined, line);
      return;
    }
    if (isBlankLine(line)) return;
    out.push(entry(ts, rawLineLevel(line), undefined, line));
  }

  function pushLine(line: string, ts: number, out: LogEntry[]): void {
    if (parseLogLineInto(line, scratch)) {
      close(out);
      if (scratch.format === 'luna-print') out.push(entry(ts, scratch.level, scratch.logger, scratch.text));
      else open(OpenKind.Formatted, ts, scratch.level, scratch.logger, scratch.text);
      return;
    }
    if (kind === OpenKind.Formatted) {
      if (isTracebackStart(line) && (openLevel === 'debug' || openLevel === 'info')) {
        close(out);
        raw(line, ts, out);
        return;
      }
      if (!append(line, out)) raw(line, ts, out);
      return;
    }
    if (kind === OpenKind.Traceback) {
      let continues: boolean;
      if (!tracebackDone) {
        continues = true;
        // The first unindented line after the frames is the exception line that ends a traceback.
        if (!isBlankLine(line) && !isIndentedLine(line) && !isTracebackStart(line)) tracebackDone = true;
      } else if (isTracebackChainLine(line) || isTracebackStart(line)) {
        continues = true;
        tracebackDone = false;
      } else {
        // Blank lines between chained tracebacks, and indented exception notes.
        continues = isBlankLine(line) || isIndentedLine(line);
      }
      if (continues) {
        if (!append(line, out)) raw(line, ts, out);
        return;
      }
      close(out);
    }
    raw(line, ts, out);
  }

  return {
    push(lines, ts, out) {
      for (let i = 0; i < lines.length; i++) pushLine(lines[i]!, ts, out);
    },
    get hasOpen() {
      return kind !== OpenKind.None;
    },
    close,
  };
}
