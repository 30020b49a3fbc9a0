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
  /** Queue text (one batch of complete lines, `\n`-terminated) for an ordered, asynchronous append. */
  write(text: string): void;
  /** Resolves once everything queued so far is written, or writing is failing (then it is kept for retry). */
  flush(): Promise<void>;
  /** Change the limits (`logs.fileMaxBytes`, `logs.fileCount`) for later writes. */
  setLimits(limits: { maxBytes?: number; count?: number }): void;
  /** Flush, then close the file. Later writes are ignored. */
  close(): Promise<void>;
}

/**
 * Create the daemon's own log file (STYLE.md §9.8, spec/luna-daemon.md §15 problem 11: the original
 * tray's log grows forever). Writes are queued and coalesced, so each batch costs at most one
 * `write` call and batches stay in order. Write failures (EACCES, ENOSPC, EROFS…) are reported once
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

  const queue: string[] = [];
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

  async function writeText(text: string): Promise<void> {
    const bytes = Buffer.byteLength(text);
    let h = await openFile();
    if (size > 0 && size + bytes > maxBytes) {
      await rotate();
      h = await openFile();
    }
    // Writing the string directly lets Node encode it outside the JS heap (no Buffer per batch).
    const { bytesWritten } = await h.write(text, null, 'utf8');
    if (bytesWritten < bytes) {
      // A short write (rare on regular files): finish from a Buffer.
      const buf = Buffer.from(text, 'utf8');
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

  async function drain(): Promise<void> {
    while (queue.length > 0) {
      // One write per queued batch, in order: joining queued batches first would copy them again.
      const note = gapNote();
      const text = note === '' ? queue.shift()! : note + queue.shift()!;
      queuedChars -= text.length - note.length;
      try {
        await writeText(text);
      } catch (error) {
        await closeHandle();
        // Keep the text for the retry, in front of anything queued meanwhile.
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
      const keep = only.slice(only.length - maxBacklog);
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
    running = drain().finally(() => {
      running = null;
      if (!isFailing && queue.length > 0) schedule();
    });
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
      schedule();
    },
    async flush() {
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
      if (running) await running;
      if (!isFailing) schedule();
      while (running) await running;
      closed = true;
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
