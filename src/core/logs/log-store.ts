import type { LogEntry, LogLevel, LogSource } from '../../shared/log-entry.js';

/** Default capacity, mirroring the `logs.bufferSize` setting's default. */
export const DEFAULT_LOG_CAPACITY = 50_000;

/** A log entry before the store numbers it. */
export type NewLogEntry = Omit<LogEntry, 'seq'> & { seq?: number };

/** Result of {@link LogStore.since}. */
export interface LogSlice {
  /** Oldest first. */
  entries: LogEntry[];
  /**
   * `seq` of the oldest entry still held (`lastSeq + 1` when the store is empty). A client whose
   * last seen `seq` is below `firstSeq - 1` missed entries that were already evicted.
   */
  firstSeq: number;
  /** `seq` of the newest entry ever appended (0 before the first). */
  lastSeq: number;
}

/** Receives each appended batch (one call per batch, never per line). */
export type LogListener = (entries: readonly LogEntry[]) => void;

/** Options of {@link LogStore}. */
export interface LogStoreOptions {
  /** Entries kept (`logs.bufferSize`). */
  capacity?: number;
  /** Where exceptions thrown by listeners go (they never break the capture path). */
  onListenerError?: (error: unknown) => void;
}

function checkCapacity(capacity: number): number {
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new RangeError(`log store capacity must be a positive integer, got ${String(capacity)}`);
  }
  return capacity;
}

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warning', 'error', 'critical'];
const SOURCES: readonly LogSource[] = ['stdout', 'stderr', 'supervisor'];
const LEVEL_CODE: Record<LogLevel, number> = { debug: 0, info: 1, warning: 2, error: 3, critical: 4 };
const SOURCE_CODE: Record<LogSource, number> = { stdout: 0, stderr: 1, supervisor: 2 };

/** The ring's columns: one slot per entry. */
interface Columns {
  ts: Float64Array;
  level: Uint8Array;
  source: Uint8Array;
  logger: (string | undefined)[];
  text: string[];
}

function makeColumns(capacity: number): Columns {
  return {
    ts: new Float64Array(capacity),
    level: new Uint8Array(capacity),
    source: new Uint8Array(capacity),
    logger: new Array<string | undefined>(capacity).fill(undefined),
    text: new Array<string>(capacity).fill(''),
  };
}

/**
 * In-memory ring buffer of log entries (STYLE.md §9.8). `seq` starts at 1 and increases by one per
 * entry for the life of the store, so clients can resume with {@link since} and detect gaps. Memory
 * is bounded by the capacity: old entries are overwritten in place.
 *
 * Entries are stored in columns (typed arrays for time, level and source; arrays for the strings)
 * rather than as the objects passed to {@link append}: an object kept for 50,000 lines outlives V8's
 * young generation and gets promoted, and promoting one object per line of a log flood costs as much
 * as all the parsing. {@link since} and {@link tail} build fresh entry objects on demand.
 */
export class LogStore {
  #cols: Columns;
  #capacity: number;
  /** Index of the oldest entry in the columns. */
  #head = 0;
  #size = 0;
  #lastSeq = 0;
  readonly #listeners = new Set<LogListener>();
  readonly #onListenerError: (error: unknown) => void;

  constructor(options: LogStoreOptions = {}) {
    this.#capacity = checkCapacity(options.capacity ?? DEFAULT_LOG_CAPACITY);
    this.#cols = makeColumns(this.#capacity);
    this.#onListenerError =
      options.onListenerError ??
      ((error) => {
        // A broken subscriber must not stop logging; make it visible instead of swallowing it.
        console.error('LogStore listener failed:', error);
      });
  }

  /** Maximum number of entries held. */
  get capacity(): number {
    return this.#capacity;
  }

  /** Number of entries held now. */
  get size(): number {
    return this.#size;
  }

  /** `seq` of the newest entry (0 before the first append). */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** `seq` of the oldest entry held (`lastSeq + 1` when empty). */
  get firstSeq(): number {
    return this.#lastSeq - this.#size + 1;
  }

  /**
   * Number the entries (`seq`), keep them (evicting the oldest beyond capacity), notify listeners
   * once with the whole batch, and return the numbered entries. The store takes ownership of the
   * objects passed in: their `seq` is set in place (no copy per line).
   */
  append(batch: readonly NewLogEntry[]): LogEntry[] {
    if (batch.length === 0) return [];
    const entries = batch as LogEntry[];
    const cap = this.#capacity;
    const { ts, level, source, logger, text } = this.#cols;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      e.seq = ++this.#lastSeq;
      let slot: number;
      if (this.#size < cap) {
        slot = (this.#head + this.#size) % cap;
        this.#size++;
      } else {
        slot = this.#head;
        this.#head = (this.#head + 1) % cap;
      }
      ts[slot] = e.ts;
      level[slot] = LEVEL_CODE[e.level];
      source[slot] = SOURCE_CODE[e.source];
      logger[slot] = e.logger;
      text[slot] = e.text;
    }
    for (const listener of this.#listeners) {
      try {
        listener(entries);
      } catch (error) {
        this.#onListenerError(error);
      }
    }
    return entries;
  }

  /**
   * Entries with `seq > afterSeq`, oldest first; at most `limit` of them (the OLDEST ones after
   * `afterSeq`, so a client can page forward). For "the newest N" use {@link tail}.
   */
  since(afterSeq: number, limit = Infinity): LogSlice {
    const first = this.firstSeq;
    const startSeq = Math.max(afterSeq + 1, first);
    const count = Math.max(0, Math.min(this.#lastSeq - startSeq + 1, limit));
    return { entries: this.#slice(startSeq - first, count), firstSeq: first, lastSeq: this.#lastSeq };
  }

  /** The newest `limit` entries, oldest first. */
  tail(limit: number): LogSlice {
    const count = Math.max(0, Math.min(this.#size, limit));
    return {
      entries: this.#slice(this.#size - count, count),
      firstSeq: this.firstSeq,
      lastSeq: this.#lastSeq,
    };
  }

  /** Change the capacity at runtime, keeping the newest entries that fit. */
  setCapacity(capacity: number): void {
    checkCapacity(capacity);
    if (capacity === this.#capacity) return;
    const keep = Math.min(this.#size, capacity);
    const old = this.#cols;
    const oldCap = this.#capacity;
    const cols = makeColumns(capacity);
    const from = this.#head + this.#size - keep;
    for (let i = 0; i < keep; i++) {
      const j = (from + i) % oldCap;
      cols.ts[i] = old.ts[j]!;
      cols.level[i] = old.level[j]!;
      cols.source[i] = old.source[j]!;
      cols.logger[i] = old.logger[j];
      cols.text[i] = old.text[j]!;
    }
    this.#cols = cols;
    this.#capacity = capacity;
    this.#head = 0;
    this.#size = keep;
  }

  /** Drop every entry (numbering continues, so clients see the gap). */
  clear(): void {
    this.#cols = makeColumns(this.#capacity);
    this.#head = 0;
    this.#size = 0;
  }

  /** Call `listener` with every appended batch; returns the disposer. */
  subscribe(listener: LogListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  #slice(offset: number, count: number): LogEntry[] {
    const out = new Array<LogEntry>(count);
    const cap = this.#capacity;
    const { ts, level, source, logger, text } = this.#cols;
    const firstSeq = this.firstSeq;
    for (let i = 0; i < count; i++) {
      const j = (this.#head + offset + i) % cap;
      out[i] = {
        seq: firstSeq + offset + i,
        ts: ts[j]!,
        source: SOURCES[source[j]!]!,
        level: LEVELS[level[j]!]!,
        logger: logger[j],
        text: text[j]!,
      };
    }
    return out;
  }
}
