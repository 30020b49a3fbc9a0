import { mkdir, open, rename, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Default size of one log file before rotation (`logs.fileMaxBytes`). */
export const DEFAULT_LOG_FILE_MAX_BYTES = 10 * 1024 * 1024;
/** Default number of rotated files kept (`logs.fileCount`). */
export const DEFAULT_LOG_FILE_COUNT = 5;
/** First retry delay after a write failure; doubles up to {@link MAX_RETRY_DELAY_MS}. */
export const DEFAULT_RETRY_DELAY_MS = 1_000;
/** Longest retry delay after repeated write failures. */
export const MAX_RETRY_DELAY_MS = 30_000;
/** Most bytes joined into one `write` call from the queue (a single larger batch goes alone). */
const MAX_WRITE_BYTES = 1024 * 1024;

function byteLength(part: string | Uint8Array): number {
  return typeof part === 'string' ? Buffer.byteLength(part) : part.byteLength;
}

/** A failure to write the log file (unwritable directory, disk full, read-only file system, …). */
export class RotatingFileError extends Error {
  override readonly name = 'RotatingFileError';
  /** The Node error code (`EACCES`, `ENOSPC`, `EROFS`, `ENOTDIR`, …) when there is one. */
  readonly code: string | undefined;
  /** The log file concerned. */
  readonly path: string;

  constructor(path: string, cause: unknown) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(
      `Cannot write the daemon log file ${path} (${detail}). Logs are still kept in memory; ` +
        'writing will be retried.',
      { cause },
    );
    this.code = code;
    this.path = path;
  }
}

/** Options of {@link createRotatingFile}. */
export interface RotatingFileOptions {
  /** The current file, e.g. `<dataDir>/logs/daemon.log`; rotated copies get `.1` … `.N`. */
  path: string;
  /** Rotate before a write would make the file bigger than this. */
  maxBytes?: number;
  /** Rotated files kept (`daemon.log.1` … `daemon.log.<count>`); older ones are overwritten. */
  count?: number;
  /** Called ONCE per failure episode (not per failed retry), with a message for the user. */
  onError?: (error: RotatingFileError) => void;
  /** Called when writing works again after a failure episode. */
  onRecover?: () => void;
  /** First retry delay after a failure (doubles per failed retry, capped at 30 s). */
  retryDelayMs?: number;
  /** Text kept for retry while failing (default `maxBytes`); older pending text is dropped and counted. */
  maxBacklogChars?: number;
}

/** An append-only log file with size-based rotation that never throws into its caller. */
export interface RotatingFile {
  /** The current file's path. */
  readonly path: string;
  /** True between a failure and the next successful write. */
  readonly isFailing: boolean;
  /**
   * Queue text (one batch of complete lines, `\n`-terminated; UTF-8 bytes or a string) for an
   * ordered, asynchronous append. A byte array is written as is and must not be modified afterwards.
   */
  write(text: string | Uint8Array): void;
  /** Resolves once everything queued so far is written, or writing is failing (then it is kept for retry). */
  flush(): Promise<void>;
  /** Change the limits (`logs.fileMaxBytes`, `logs.fileCount`) for later writes. */
  setLimits(limits: { maxBytes?: number; count?: number }): void;
  /** Flush, then close the file. Later writes are ignored. */
  close(): Promise<void>;
}

/**
 * Create the daemon's own log file (docs/architecture.md §13; docs/daemon-protocol.md §12: the
 * original tray's log grows forever). Writes are queued and coalesced: batches queued while a write is in
 * flight are joined into the next `write` call (up to 1 MiB), and they stay in order. Write failures (EACCES, ENOSPC, EROFS…) are reported once
 * per episode through `onError`, the text is kept (bounded) and retried on the next batch after a
 * backoff, or by a timer; the capture path never sees an exception. The in-memory log store is
 * independent of this file, so a failing disk never loses what the store holds.
 */
export function createRotatingFile(options: RotatingFileOptions): RotatingFile {
  const path = options.path;
  let maxBytes = options.maxBytes ?? DEFAULT_LOG_FILE_MAX_BYTES;
  let count = options.count ?? DEFAULT_LOG_FILE_COUNT;
  const initialRetry = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
  const maxBacklog = options.maxBacklogChars ?? maxBytes;

  /** Pending batches, oldest first. Sizes below count string characters and array bytes alike. */
  const queue: (string | Uint8Array)[] = [];
  let queuedChars = 0;
  /** Characters dropped from the backlog during the current failure episode. */
  let droppedChars = 0;
  let handle: FileHandle | null = null;
  let size = 0;
  let running: Promise<void> | null = null;
  let isFailing = false;
  let failureCode = '';
  let retryDelay = initialRetry;
  let retryAt = 0;
  let retryTimer: NodeJS.Timeout | null = null;
  let closed = false;

  async function openFile(): Promise<FileHandle> {
    if (handle) return handle;
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const h = await open(path, 'a', 0o600);
    try {
      size = (await h.stat()).size;
    } catch (error) {
      await h.close().catch(() => undefined);
      throw error;
    }
    handle = h;
    return h;
  }

  async function closeHandle(): Promise<void> {
    const h = handle;
    handle = null;
    // Closing can fail on a broken disk; the handle is gone either way and we reopen on retry.
    if (h) await h.close().catch(() => undefined);
  }

  async function rotate(): Promise<void> {
    await closeHandle();
    for (let i = count - 1; i >= 1; i--) {
      await renameIfExists(`${path}.${i}`, `${path}.${i + 1}`);
    }
    // rename() replaces an existing `.1`…`.count`, which is how the oldest file is removed.
    await renameIfExists(path, `${path}.1`);
  }

  async function writeParts(parts: readonly (string | Uint8Array)[]): Promise<void> {
    let bytes = 0;
    for (const part of parts) bytes += byteLength(part);
    let h = await openFile();
    if (size > 0 && size + bytes > maxBytes) {
      await rotate();
      h = await openFile();
    }
    let bytesWritten: number;
    if (parts.length === 1 && typeof parts[0] === 'string') {
      // Writing the string directly lets Node encode it outside the JS heap (no Buffer per batch).
      bytesWritten = (await h.write(parts[0], null, 'utf8')).bytesWritten;
    } else {
      // Several batches (the capture's chunk bytes among them): one gathered write, no copy.
      bytesWritten = (await h.writev(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p))))
        .bytesWritten;
    }
    if (bytesWritten < bytes) {
      // A short write (rare on regular files): finish from one Buffer.
      const buf = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
      let offset = bytesWritten;
      while (offset < buf.length) offset += (await h.write(buf, offset, buf.length - offset)).bytesWritten;
    }
    size += bytes;
  }

  function gapNote(): string {
    if (droppedChars === 0) return '';
    const note =
      `${new Date().toISOString()} [luna-tray] WARNING [log-file] ${droppedChars} characters of daemon ` +
      `output could not be written to this file (${failureCode || 'write error'}); they were still shown in the app\n`;
    droppedChars = 0;
    return note;
  }

  /**
   * Take the oldest queued batches, joined, up to {@link MAX_WRITE_BYTES} (at least one batch): while
   * one write is in flight the capture keeps queueing, and the next write takes all of that at once,
   * so a flood costs a few large writes instead of one thread-pool round trip per chunk.
   */
  function takeQueued(): (string | Uint8Array)[] {
    // Never join past `maxBytes`, so a joined write never makes a file bigger than a lone batch would.
    const limit = Math.min(MAX_WRITE_BYTES, maxBytes);
    let n = 1;
    let chars = queue[0]!.length;
    let bytes = byteLength(queue[0]!);
    while (n < queue.length) {
      const next = byteLength(queue[n]!);
      if (bytes + next > limit) break;
      bytes += next;
      chars += queue[n++]!.length;
    }
    queuedChars -= chars;
    const parts = queue.splice(0, n);
    // Consecutive strings are joined (one copy); byte arrays are passed through untouched.
    const merged: (string | Uint8Array)[] = [];
    for (const part of parts) {
      const last = merged.length - 1;
      if (typeof part === 'string' && last >= 0 && typeof merged[last] === 'string') merged[last] += part;
      else merged.push(part);
    }
    return merged;
  }

  async function drain(): Promise<void> {
    while (queue.length > 0) {
      // In order; the gap note (if any) goes in front of the first text written after a failure.
      const note = gapNote();
      const parts = takeQueued();
      if (note !== '') parts.unshift(note);
      try {
        await writeParts(parts);
      } catch (error) {
        await closeHandle();
        // Keep the text for the retry, as one batch in front of anything queued meanwhile.
        const text =
          parts.length === 1
            ? parts[0]!
            : Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
        queue.unshift(text);
        queuedChars += text.length;
        trimBacklog();
        if (!isFailing) {
          isFailing = true;
          failureCode = (error as NodeJS.ErrnoException | undefined)?.code ?? '';
          reportError(error);
        }
        retryAt = Date.now() + retryDelay;
        armRetryTimer(retryDelay);
        retryDelay = Math.min(retryDelay * 2, MAX_RETRY_DELAY_MS);
        return;
      }
      if (isFailing) {
        isFailing = false;
        retryDelay = initialRetry;
        if (retryTimer) clearTimeout(retryTimer);
        retryTimer = null;
        try {
          options.onRecover?.();
        } catch {
          // A failing callback must not break logging; the file itself is fine again.
        }
      }
    }
  }

  function reportError(error: unknown): void {
    try {
      options.onError?.(new RotatingFileError(path, error));
    } catch {
      // onError is a notification; its own failure must never reach the capture path.
    }
  }

  function trimBacklog(): void {
    while (queuedChars > maxBacklog && queue.length > 1) {
      const dropped = queue.shift()!;
      queuedChars -= dropped.length;
      droppedChars += dropped.length;
    }
    if (queuedChars > maxBacklog && queue.length === 1) {
      // One oversized pending text: keep its newest part.
      const only = queue[0]!;
      const keep =
        typeof only === 'string'
          ? only.slice(only.length - maxBacklog)
          : only.subarray(only.length - maxBacklog);
      droppedChars += only.length - keep.length;
      queue[0] = keep;
      queuedChars = keep.length;
    }
  }

  function armRetryTimer(delay: number): void {
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = setTimeout(() => {
      retryTimer = null;
      schedule(true);
    }, delay);
    // A pending retry must not keep a finished process alive.
    retryTimer.unref();
  }

  function schedule(force = false): void {
    if (running || queue.length === 0) return;
    if (isFailing && !force && Date.now() < retryAt) return;
    cancelStart();
    running = drain().finally(() => {
      running = null;
      if (!isFailing && queue.length > 0) schedule();
    });
  }

  /**
   * A write from an idle writer starts on the next turn of the event loop, not at once: the capture
   * queues each chunk as a few parts (the line completed from the previous chunk, then the chunk's
   * own bytes), and a stream often delivers several chunks in one turn. Starting at once wrote the
   * first ~100-byte part alone, one thread-pool round trip per chunk for almost nothing
   * (docs/benchmarks.md, issue 20); now everything queued in the turn goes out in one gathered write.
   * `flush` and `close` start a pending write at once.
   */
  let startImmediate: NodeJS.Immediate | null = null;
  function scheduleSoon(): void {
    if (running || startImmediate || queue.length === 0) return;
    startImmediate = setImmediate(() => {
      startImmediate = null;
      schedule();
    });
  }
  function cancelStart(): void {
    if (startImmediate) clearImmediate(startImmediate);
    startImmediate = null;
  }

  return {
    path,
    get isFailing() {
      return isFailing;
    },
    write(text) {
      if (closed || text.length === 0) return;
      queue.push(text);
      queuedChars += text.length;
      if (isFailing) trimBacklog();
      scheduleSoon();
    },
    async flush() {
      if (startImmediate) schedule();
      while (running) {
        await running;
        if (isFailing) return;
        schedule();
      }
    },
    setLimits(limits) {
      if (limits.maxBytes !== undefined) maxBytes = limits.maxBytes;
      if (limits.count !== undefined) count = limits.count;
    },
    async close() {
      if (closed) return;
      if (startImmediate) schedule();
      if (running) await running;
      if (!isFailing) schedule();
      while (running) await running;
      closed = true;
      cancelStart();
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = null;
      await closeHandle();
    },
  };
}

async function renameIfExists(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    // A missing older file is normal (fewer rotations so far than `count`).
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
