import type { Readable } from 'node:stream';

import type { LogEntry, LogLevel } from '../../shared/log-entry.js';
import { createLineSplitter, DEFAULT_MAX_LINE_LENGTH } from './line-splitter.js';
import type { LogStore } from './log-store.js';
import { createSpanRecordAssembler, type RecordSink } from './record-assembler.js';
import type { RotatingFile } from './rotating-file.js';

/**
 * How long an open multi-line record waits for more continuation lines after its chunk ended
 * before it is published. Python writes a traceback with a few `write` calls that arrive within
 * microseconds; 40 ms is far beyond that and still invisible to a human.
 */
export const DEFAULT_RECORD_IDLE_MS = 40;

/**
 * The most output processed in one go before the capture yields to the event loop (see `onData` in
 * {@link createLogCapture}).
 */
export const SLICE_BYTES = 16 * 1024;

/** Options of {@link createLogCapture}. */
export interface LogCaptureOptions {
  /** Where entries go. */
  store: LogStore;
  /** The daemon's own log file; each batch is written with one call. */
  file?: RotatingFile;
  /** Line cap (`logs.maxLineLength`). */
  maxLineLength?: number;
  /** Clock (epoch ms), for tests. */
  now?: () => number;
  /** See {@link DEFAULT_RECORD_IDLE_MS}. */
  recordIdleMs?: number;
}

/** Captures a daemon's stdout/stderr into the log store and file; see {@link createLogCapture}. */
export interface LogCapture {
  /**
   * Read `stream` until it ends. Returns a disposer that stops listening (and publishes what was
   * received). The stream's `end`/`close`/`error` publishes everything, including a partial last line.
   */
  attach(stream: Readable, source: 'stdout' | 'stderr'): () => void;
  /** Record one of the supervisor's own events (source `supervisor`), published at once. */
  supervisor(level: LogLevel, text: string): LogEntry;
  /** Publish every record held open for continuations (not partial lines still being received). */
  flush(): void;
  /** Flush and detach from every stream. */
  dispose(): void;
}

const LEVEL_LABEL: Record<LogLevel, string> = {
  debug: 'DEBUG',
  info: 'INFO',
  warning: 'WARNING',
  error: 'ERROR',
  critical: 'CRITICAL',
};

/** The tag that marks the supervisor's own lines in the daemon log file. */
export const SUPERVISOR_FILE_TAG = '[luna-tray]';

/**
 * One of the supervisor's own events as it appears in the daemon log file, `\n`-terminated:
 * `2026-11-21T05:41:00.123Z [luna-tray] WARNING Port 19283 is busy`. `parseLogFileLine` reads it back.
 *
 * The daemon's OWN lines are NOT formatted like this: they are written verbatim (see
 * {@link createLogCapture}).
 */
export function formatSupervisorFileLine(ts: number, level: LogLevel, text: string): string {
  return `${new Date(ts).toISOString()} ${SUPERVISOR_FILE_TAG} ${LEVEL_LABEL[level]} ${text}\n`;
}

/**
 * Create the capture pipeline for the daemon's output (STYLE.md §9.8): per chunk, split lines
 * (`line-splitter.ts`, with ANSI stripping), parse levels and group continuation lines into
 * records (`record-assembler.ts`), append the chunk's records to the store as ONE batch, and write
 * the chunk's lines to the file with ONE call. A line travels as a span of the decoded chunk from
 * the splitter to the store's columns: no string and no object is built per line (they made the
 * garbage collector the biggest cost of a log flood, docs/benchmarks.md).
 *
 * The file gets the daemon's lines VERBATIM (ANSI-stripped and capped like the store's, but
 * otherwise as the daemon printed them, in arrival order, stdout and stderr merged, blank lines
 * kept), as pm2 does: the daemon's records already carry their own timestamp, logger and level
 * (spec/luna-daemon.md §12), and formatting a prefix per line cost more than parsing it (about
 * 0.7 µs per line, docs/benchmarks.md "Optimisations"). Only the supervisor's own events are
 * formatted ({@link formatSupervisorFileLine}). Nothing in the product reads the file back; it is
 * for people and for support.
 *
 * A multi-line record (a log line followed by a traceback) is published when the next record
 * starts, or {@link DEFAULT_RECORD_IDLE_MS} after the chunk that left it open if nothing more came,
 * or when the stream ends — entries are immutable once published, so it cannot be extended later.
 * Nothing received is lost when the daemon dies: stream end, close and error flush everything.
 */
export function createLogCapture(options: LogCaptureOptions): LogCapture {
  const { store, file } = options;
  const now = options.now ?? Date.now;
  const idleMs = options.recordIdleMs ?? DEFAULT_RECORD_IDLE_MS;
  const maxLineLength = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
  const detachers = new Set<() => void>();
  const closers = new Set<() => void>();

  function attach(stream: Readable, source: 'stdout' | 'stderr'): () => void {
    const splitter = createLineSplitter({ maxLineLength, stripAnsi: true });
    // Records go straight into the store's columns as spans of the decoded chunk (no per-line
    // string or object); the store tells its listeners once per chunk, at `commit()`.
    const sink: RecordSink = {
      record(ts, level, logger, str, start, end) {
        store.appendSpan(ts, source, level, logger, str, start, end);
      },
    };
    const assembler = createSpanRecordAssembler(sink);
    let timer: NodeJS.Timeout | null = null;
    let attached = true;

    // Chunks waiting to be processed, and the pending `setImmediate` that processes the next slice.
    const pending: (Buffer | string)[] = [];
    let scheduled: NodeJS.Immediate | null = null;

    function closeOpen(): void {
      drainAll();
      if (timer) clearTimeout(timer);
      timer = null;
      if (!assembler.hasOpen) return;
      assembler.close();
      store.commit();
    }

    function processChunk(chunk: Buffer | string): void {
      if (splitter.pushTo(chunk, assembler, now()) === 0) return;
      if (file) for (const part of splitter.joinedParts()) file.write(part);
      store.commit();
      if (assembler.hasOpen) {
        if (timer) timer.refresh();
        else timer = setTimeout(closeOpen, idleMs);
      } else if (timer) {
        clearTimeout(timer);
        timer = null;
      }
    }

    /** Process up to {@link SLICE_BYTES} of the queue, then yield to the event loop. */
    function drainSlice(): void {
      scheduled = null;
      let budget = SLICE_BYTES;
      while (pending.length > 0 && budget > 0) {
        const chunk = pending[0]!;
        if (chunk.length <= budget) {
          pending.shift();
          budget -= chunk.length;
          processChunk(chunk);
        } else {
          // A Buffer may be cut inside a UTF-8 sequence: the splitter's decoder reassembles it.
          const head = typeof chunk === 'string' ? chunk.slice(0, budget) : chunk.subarray(0, budget);
          pending[0] = typeof chunk === 'string' ? chunk.slice(budget) : chunk.subarray(budget);
          budget = 0;
          processChunk(head);
        }
      }
      if (pending.length > 0) scheduled = setImmediate(drainSlice);
    }

    function drainAll(): void {
      if (scheduled) clearImmediate(scheduled);
      scheduled = null;
      while (pending.length > 0) processChunk(pending.shift()!);
    }

    // A small chunk (the daemon's normal output) is processed at once. A big one (a flood) is queued
    // and processed a slice per event-loop turn, so the pipe keeps being READ while we parse: the
    // pipe holds only 64 KiB, and a daemon blocked on a full pipe cannot produce its next lines
    // meanwhile (docs/benchmarks.md, "log capture").
    const onData = (chunk: Buffer | string): void => {
      if (pending.length === 0 && chunk.length <= SLICE_BYTES) {
        processChunk(chunk);
        return;
      }
      pending.push(chunk);
      scheduled ??= setImmediate(drainSlice);
    };

    const finish = (): void => {
      if (!attached) return;
      attached = false;
      stream.off('data', onData);
      stream.off('end', finish);
      stream.off('close', finish);
      drainAll();
      if (splitter.flushTo(assembler, now()) > 0) file?.write(splitter.joinedLines());
      assembler.close();
      if (timer) clearTimeout(timer);
      timer = null;
      store.commit();
      detachers.delete(finish);
      closers.delete(closeOpen);
    };

    stream.on('data', onData);
    stream.once('end', finish);
    stream.once('close', finish);
    // The stream erroring (EPIPE, the child vanishing) is the end of its output, not our failure.
    // This listener stays after `finish` so a late error on a detached stream cannot crash the host.
    stream.on('error', finish);
    detachers.add(finish);
    closers.add(closeOpen);
    return finish;
  }

  return {
    attach,
    supervisor(level, text) {
      const entry: LogEntry = { seq: 0, ts: now(), source: 'supervisor', level, logger: undefined, text };
      store.append([entry]);
      file?.write(formatSupervisorFileLine(entry.ts, level, text));
      return entry;
    },
    flush() {
      for (const closeOpen of closers) closeOpen();
    },
    dispose() {
      for (const finish of [...detachers]) finish();
    },
  };
}
