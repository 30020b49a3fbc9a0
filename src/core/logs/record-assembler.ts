import type { LogEntry, LogLevel, LogSource } from '../../shared/log-entry.js';
import {
  createParseScratch,
  isBlankLine,
  isBlankSpan,
  isIndentedAt,
  isTracebackChainLine,
  isTracebackStartAt,
  parseSpanInto,
  rawSpanLevel,
} from './log-line-parser.js';

/**
 * Grouping lines into records (docs/daemon-protocol.md §12: a line that matches no record format is
 * the continuation of the previous record or a raw print).
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

/** Where completed records go: the text of each is `str.slice(start, end)` (not built here). */
export interface RecordSink {
  record(
    ts: number,
    level: LogLevel,
    logger: string | undefined,
    str: string,
    start: number,
    end: number,
  ): void;
}

/** The span-based assembler of ONE stream: lines in as spans, records out to a {@link RecordSink}. */
export interface SpanRecordAssembler {
  /** Push the line `str[start, end)` (no line break inside), received at `ts`. */
  line(str: string, start: number, end: number, ts: number): void;
  /** True while a multi-line record is held open, waiting for continuations. */
  readonly hasOpen: boolean;
  /** Publish the open record (if any). */
  close(): void;
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

/**
 * Create the span-based record assembler for one stream: the capture hot path. A one-line record
 * (nearly every record) reaches the sink as the span of the line it came from — no string is built;
 * only a record with continuation lines is joined into a string of its own.
 */
export function createSpanRecordAssembler(sink: RecordSink): SpanRecordAssembler {
  const scratch = createParseScratch();
  let kind = OpenKind.None;
  let openTs = 0;
  let openLevel: LogLevel = 'info';
  let openLogger: string | undefined;
  // The first line's message, as a span.
  let openStr = '';
  let openStart = 0;
  let openEnd = 0;
  let openMore: string[] | null = null;
  let openChars = 0;
  /** Traceback record: the exception line has been seen (only chains and blanks may follow). */
  let tracebackDone = false;

  function open(
    k: OpenKind,
    ts: number,
    level: LogLevel,
    logger: string | undefined,
    str: string,
    start: number,
    end: number,
  ): void {
    kind = k;
    openTs = ts;
    openLevel = level;
    openLogger = logger;
    openStr = str;
    openStart = start;
    openEnd = end;
    openMore = null;
    openChars = end - start;
    tracebackDone = false;
  }

  function append(line: string): boolean {
    if (openMore === null) openMore = [];
    if (openMore.length >= MAX_CONTINUATION_LINES || openChars + line.length > MAX_RECORD_CHARS) {
      close();
      return false;
    }
    openMore.push(line);
    openChars += line.length + 1;
    return true;
  }

  function close(): void {
    if (kind === OpenKind.None) return;
    kind = OpenKind.None;
    const more = openMore;
    openMore = null;
    if (more !== null) {
      let end = more.length;
      while (end > 0 && isBlankLine(more[end - 1]!)) end--;
      if (end > 0) {
        const text = openStr.slice(openStart, openEnd) + '\n' + more.slice(0, end).join('\n');
        sink.record(openTs, openLevel, openLogger, text, 0, text.length);
        return;
      }
    }
    sink.record(openTs, openLevel, openLogger, openStr, openStart, openEnd);
  }

  function raw(str: string, s: number, e: number, ts: number): void {
    if (isTracebackStartAt(str, s, e)) {
      open(OpenKind.Traceback, ts, 'error', undefined, str, s, e);
      return;
    }
    if (isBlankSpan(str, s, e)) return;
    sink.record(ts, rawSpanLevel(str, s, e), undefined, str, s, e);
  }

  function line(str: string, s: number, e: number, ts: number): void {
    if (parseSpanInto(str, s, e, scratch)) {
      close();
      if (scratch.format === 'luna-print') {
        sink.record(ts, scratch.level, scratch.logger, str, scratch.textStart, e);
      } else {
        open(OpenKind.Formatted, ts, scratch.level, scratch.logger, str, scratch.textStart, e);
      }
      return;
    }
    if (kind === OpenKind.None) {
      raw(str, s, e, ts);
      return;
    }
    if (kind === OpenKind.Formatted) {
      if (isTracebackStartAt(str, s, e) && (openLevel === 'debug' || openLevel === 'info')) {
        close();
        raw(str, s, e, ts);
        return;
      }
      if (!append(str.slice(s, e))) raw(str, s, e, ts);
      return;
    }
    // An open traceback.
    let continues: boolean;
    if (!tracebackDone) {
      continues = true;
      // The first unindented line after the frames is the exception line that ends a traceback.
      if (!isBlankSpan(str, s, e) && !isIndentedAt(str, s, e) && !isTracebackStartAt(str, s, e)) {
        tracebackDone = true;
      }
    } else if (isTracebackChainLine(str.slice(s, e)) || isTracebackStartAt(str, s, e)) {
      continues = true;
      tracebackDone = false;
    } else {
      // Blank lines between chained tracebacks, and indented exception notes.
      continues = isBlankSpan(str, s, e) || isIndentedAt(str, s, e);
    }
    if (continues) {
      if (!append(str.slice(s, e))) raw(str, s, e, ts);
      return;
    }
    close();
    raw(str, s, e, ts);
  }

  return {
    line,
    get hasOpen() {
      return kind !== OpenKind.None;
    },
    close,
  };
}

/**
 * Create the record assembler for one stream (`stdout` or `stderr`) with a line-array interface:
 * {@link createSpanRecordAssembler} wrapped to build {@link LogEntry} objects.
 */
export function createRecordAssembler(source: LogSource): RecordAssembler {
  let out: LogEntry[] = [];
  const inner = createSpanRecordAssembler({
    record(ts, level, logger, str, start, end) {
      const text = start === 0 && end === str.length ? str : str.slice(start, end);
      // Always the same shape (seq first, logger present even when undefined): one hidden class.
      out.push({ seq: 0, ts, source, level, logger, text });
    },
  });
  return {
    push(lines, ts, target) {
      out = target;
      for (let i = 0; i < lines.length; i++) inner.line(lines[i]!, 0, lines[i]!.length, ts);
    },
    get hasOpen() {
      return inner.hasOpen;
    },
    close(target) {
      out = target;
      inner.close();
    },
  };
}
