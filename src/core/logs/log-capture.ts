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

/** A chunk up to this size is processed at once; a bigger one is queued (see `onData` in {@link createLogCapture}). */
export const SLICE_BYTES = 16 * 1024;
/** Lines handed to the store per event-loop turn while a flood is queued. */
export const SLICE_LINES = 256;
/**
 * Output queued beyond this pauses the stream until the queue is down to a quarter of it. Big enough
 * to take a burst whole (the simulator writes its flood in 1.6 MB writes; pausing inside a burst made
 * the bench 15 % slower at 1 MiB), small enough to bound memory.
 */
export const MAX_PENDING_BYTES = 8 * 1024 * 1024;

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
  /** Tag every entry with this daemon id (`LogEntry.daemon`), when several daemons share a store. */
  daemon?: string;
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
 * Create the capture pipeline for the daemon's output (docs/architecture.md §13): per chunk, split lines
 * (`line-splitter.ts`, with ANSI stripping), parse levels and group continuation lines into
 * records (`record-assembler.ts`), append the chunk's records to the store as ONE batch (one per
 * {@link SLICE_LINES} lines while a flood is queued), and queue the chunk's lines for the file at
 * once (usually the chunk's own bytes). A line travels as a span of the decoded chunk from the
 * splitter to the store's columns: no string and no object is built per line (they made the
 * garbage collector the biggest cost of a log flood, docs/benchmarks.md "Round 2").
 *
 * The file gets the daemon's lines VERBATIM (ANSI-stripped and capped like the store's, but
 * otherwise as the daemon printed them, in arrival order, stdout and stderr merged, blank lines
 * kept), as pm2 does: the daemon's records already carry their own timestamp, logger and level
 * (docs/daemon-protocol.md §12), and formatting a prefix per line cost more than parsing it (about
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
  const daemon = options.daemon;
  const detachers = new Set<() => void>();
  const closers = new Set<() => void>();

  function attach(stream: Readable, source: 'stdout' | 'stderr'): () => void {
    const splitter = createLineSplitter({ maxLineLength, stripAnsi: true });
    // Records go straight into the store's columns as spans of the decoded chunk (no per-line
    // string or object); the store tells its listeners once per chunk, at `commit()`.
    const sink: RecordSink = {
      record(ts, level, logger, str, start, end) {
        // A span of a pure-ASCII chunk is kept as a span of its bytes (see `asciiBytesOf`).
        store.appendSpan(ts, source, level, logger, splitter.asciiBytesOf(str) ?? str, start, end, daemon);
      },
    };
    const assembler = createSpanRecordAssembler(sink);
    let timer: NodeJS.Timeout | null = null;
    let attached = true;

    // Chunks waiting to be processed, and the pending `setImmediate` that processes the next slice.
    const pending: (Buffer | string)[] = [];
    let pendingBytes = 0;
    let scheduled: NodeJS.Immediate | null = null;
    /** We paused the stream: more than {@link MAX_PENDING_BYTES} were waiting. */
    let paused = false;

    function nextPending(): Buffer | string {
      const chunk = pending.shift()!;
      pendingBytes -= chunk.length;
      if (paused && pendingBytes <= MAX_PENDING_BYTES / 4) {
        paused = false;
        stream.resume();
      }
      return chunk;
    }

    function closeOpen(): void {
      drainAll();
      if (timer) clearTimeout(timer);
      timer = null;
      if (!assembler.hasOpen) return;
      assembler.close();
      store.commit();
    }

    /** Decode and split a chunk; its lines go to the file at once (the store gets them in `handOut`). */
    function feedChunk(chunk: Buffer | string): void {
      if (splitter.feed(chunk) === 0) return;
      if (file) for (const part of splitter.joinedParts()) file.write(part);
    }

    /** Hand at most `maxLines` fed lines to the assembler (and so to the store). */
    function handOut(maxLines: number): void {
      if (splitter.drainTo(assembler, now(), maxLines) === 0) return;
      store.commit();
      if (assembler.hasOpen) {
        if (timer) timer.refresh();
        else timer = setTimeout(closeOpen, idleMs);
      } else if (timer) {
        clearTimeout(timer);
        timer = null;
      }
    }

    /** One event-loop turn of a flood: feed the next queued piece when needed, hand out a slice. */
    function drainSlice(): void {
      scheduled = null;
      if (splitter.pendingLines === 0 && pending.length > 0) feedChunk(nextPending());
      handOut(SLICE_LINES);
      if (splitter.pendingLines > 0 || pending.length > 0) scheduled = setImmediate(drainSlice);
    }

    function drainAll(): void {
      if (scheduled) clearImmediate(scheduled);
      scheduled = null;
      handOut(Infinity);
      while (pending.length > 0) {
        feedChunk(nextPending());
        handOut(Infinity);
      }
    }

    // A small chunk (the daemon's normal output) is processed at once. A big one (a flood) is queued
    // and handed out a slice of lines per event-loop turn, so the pipe keeps being READ while we
    // parse: the pipe holds only 64 KiB, and a daemon blocked on a full pipe cannot produce its next
    // lines meanwhile (docs/benchmarks.md, "log capture").
    const onData = (chunk: Buffer | string): void => {
      if (pending.length === 0 && splitter.pendingLines === 0 && chunk.length <= SLICE_BYTES) {
        feedChunk(chunk);
        handOut(Infinity);
        return;
      }
      pending.push(chunk);
      pendingBytes += chunk.length;
      // Backpressure: a daemon printing faster than we parse waits on the pipe, it does not fill
      // our memory.
      if (!paused && pendingBytes > MAX_PENDING_BYTES) {
        paused = true;
        stream.pause();
      }
      scheduled ??= setImmediate(drainSlice);
    };

    const finish = (): void => {
      if (!attached) return;
      attached = false;
      stream.off('data', onData);
      stream.off('end', finish);
      stream.off('close', finish);
      drainAll();
      if (paused) {
        // Detached from a live stream: do not leave it paused (the daemon would block on the pipe).
        paused = false;
        stream.resume();
      }
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
      if (daemon !== undefined) entry.daemon = daemon;
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
