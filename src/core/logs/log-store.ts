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

/**
 * Told the `seq` range `[firstSeq, lastSeq]` of each appended batch, without the entries: the cheap
 * way to follow the store (read what you need with {@link LogStore.since} or {@link LogStore.tail}).
 * No entry object is built for a batch that only has range listeners.
 */
export type LogRangeListener = (firstSeq: number, lastSeq: number) => void;

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

/**
 * The ring's columns: one slot per entry. An entry's text is `text[slot].slice(start[slot],
 * end[slot])`: the capture path stores a reference to the decoded chunk and the line's offsets
 * ({@link LogStore.appendSpan}), so a line costs no allocation at all until somebody reads it.
 */
interface Columns {
  ts: Float64Array;
  level: Uint8Array;
  source: Uint8Array;
  logger: (string | undefined)[];
  /** The daemon id the entry is tagged with (one shared string per daemon: no allocation per line). */
  daemon: (string | undefined)[];
  /** A string, or the pure-ASCII bytes of a chunk (read back as latin1: one byte, one character). */
  text: (string | Buffer)[];
  start: Int32Array;
  end: Int32Array;
}

/**
 * Slots allocated up front; the columns double up to the capacity as entries arrive. A full-size ring
 * is ~1.2 MiB of arrays per store at the default 50,000 even while the daemon prints nothing (an idle
 * `serve`, docs/benchmarks.md "idle"; one store per daemon).
 */
export const INITIAL_LOG_SLOTS = 1024;

function makeColumns(capacity: number): Columns {
  return {
    ts: new Float64Array(capacity),
    level: new Uint8Array(capacity),
    source: new Uint8Array(capacity),
    logger: new Array<string | undefined>(capacity).fill(undefined),
    daemon: new Array<string | undefined>(capacity).fill(undefined),
    text: new Array<string | Buffer>(capacity).fill(''),
    start: new Int32Array(capacity),
    end: new Int32Array(capacity),
  };
}

/**
 * In-memory ring buffer of log entries (docs/architecture.md §13). `seq` starts at 1 and increases by one per
 * entry for the life of the store, so clients can resume with {@link since} and detect gaps. Memory
 * is bounded by the capacity: old entries are overwritten in place.
 *
 * Entries are stored in columns (typed arrays for time, level, source and text offsets; arrays for
 * the strings) rather than as objects: an object or string kept for 50,000 lines outlives V8's young
 * generation and gets promoted, and promoting one per line of a log flood cost more than all the
 * parsing (docs/benchmarks.md, "log capture"). The capture path appends {@link appendSpan}s — the
 * decoded chunk plus the line's offsets — and {@link since} and {@link tail} build entry objects on
 * demand. Memory stays bounded by the capacity: a slot holds at most one chunk reference, and a chunk
 * is at most one pipe read (64 KiB).
 */
export class LogStore {
  #cols: Columns;
  #capacity: number;
  /** Index of the oldest entry in the columns. */
  #head = 0;
  #size = 0;
  #lastSeq = 0;
  readonly #listeners = new Set<LogListener>();
  readonly #rangeListeners = new Set<LogRangeListener>();
  /** `seq` of the first entry appended since the last {@link commit}. */
  #uncommittedFrom = 1;
  readonly #onListenerError: (error: unknown) => void;

  constructor(options: LogStoreOptions = {}) {
    this.#capacity = checkCapacity(options.capacity ?? DEFAULT_LOG_CAPACITY);
    this.#cols = makeColumns(Math.min(this.#capacity, INITIAL_LOG_SLOTS));
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
    // Spans appended but not committed yet go out first, as their own batch (order is kept).
    this.commit();
    const entries = batch as LogEntry[];
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      e.seq = this.#lastSeq + 1;
      this.#put(
        e.ts,
        SOURCE_CODE[e.source],
        LEVEL_CODE[e.level],
        e.logger,
        e.text,
        0,
        e.text.length,
        e.daemon,
      );
    }
    this.#notify(entries);
    return entries;
  }

  /**
   * The capture hot path: keep one entry whose text is `str.slice(start, end)` WITHOUT building that
   * string or an entry object (the store keeps `str` and the offsets). `str` may also be a Buffer of
   * pure ASCII (the text is then its bytes `start…end`). Listeners hear of it at the next
   * {@link commit}, together with the rest of the batch.
   */
  appendSpan(
    ts: number,
    source: LogSource,
    level: LogLevel,
    logger: string | undefined,
    str: string | Buffer,
    start: number,
    end: number,
    daemon?: string,
  ): void {
    this.#put(ts, SOURCE_CODE[source], LEVEL_CODE[level], logger, str, start, end, daemon);
  }

  /** Notify listeners (once) of everything appended with {@link appendSpan} since the last commit. */
  commit(): void {
    if (this.#uncommittedFrom > this.#lastSeq) return;
    this.#notify(null);
  }

  #put(
    tsValue: number,
    sourceCode: number,
    levelCode: number,
    loggerValue: string | undefined,
    str: string | Buffer,
    start: number,
    end: number,
    daemonValue: string | undefined,
  ): void {
    const cap = this.#capacity;
    this.#lastSeq++;
    let slot: number;
    if (this.#size < cap) {
      // Not full yet, so nothing was evicted and the head is slot 0: the ring has not wrapped.
      slot = this.#head + this.#size;
      if (slot >= cap) slot -= cap;
      if (slot >= this.#cols.ts.length) this.#grow();
      this.#size++;
    } else {
      slot = this.#head;
      this.#head = slot + 1 === cap ? 0 : slot + 1;
    }
    const cols = this.#cols;
    cols.ts[slot] = tsValue;
    cols.level[slot] = levelCode;
    cols.source[slot] = sourceCode;
    cols.logger[slot] = loggerValue;
    cols.daemon[slot] = daemonValue;
    cols.text[slot] = str;
    cols.start[slot] = start;
    cols.end[slot] = end;
  }

  /** Double the columns (up to the capacity), keeping slots 0…size-1 where they are. */
  #grow(): void {
    const old = this.#cols;
    const cols = makeColumns(Math.min(this.#capacity, old.ts.length * 2));
    cols.ts.set(old.ts);
    cols.level.set(old.level);
    cols.source.set(old.source);
    cols.start.set(old.start);
    cols.end.set(old.end);
    for (let i = 0; i < old.text.length; i++) {
      cols.logger[i] = old.logger[i];
      cols.daemon[i] = old.daemon[i];
      cols.text[i] = old.text[i]!;
    }
    this.#cols = cols;
  }

  /**
   * Tell the listeners about `[#uncommittedFrom, lastSeq]`. `entries` are that range's objects when
   * the caller has them ({@link append}); otherwise they are built only if a {@link subscribe}
   * listener exists (from the ring, so entries already evicted by a huge batch are not included).
   */
  #notify(entries: LogEntry[] | null): void {
    const from = this.#uncommittedFrom;
    const to = this.#lastSeq;
    this.#uncommittedFrom = to + 1;
    for (const listener of this.#rangeListeners) {
      try {
        listener(from, to);
      } catch (error) {
        this.#onListenerError(error);
      }
    }
    if (this.#listeners.size === 0) return;
    const batch = entries ?? this.since(from - 1).entries;
    for (const listener of this.#listeners) {
      try {
        listener(batch);
      } catch (error) {
        this.#onListenerError(error);
      }
    }
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
    const cols = makeColumns(Math.min(capacity, Math.max(keep, INITIAL_LOG_SLOTS)));
    const from = this.#head + this.#size - keep;
    for (let i = 0; i < keep; i++) {
      const j = (from + i) % oldCap;
      cols.ts[i] = old.ts[j]!;
      cols.level[i] = old.level[j]!;
      cols.source[i] = old.source[j]!;
      cols.logger[i] = old.logger[j];
      cols.daemon[i] = old.daemon[j];
      cols.text[i] = old.text[j]!;
      cols.start[i] = old.start[j]!;
      cols.end[i] = old.end[j]!;
    }
    this.#cols = cols;
    this.#capacity = capacity;
    this.#head = 0;
    this.#size = keep;
  }

  /** Drop every entry (numbering continues, so clients see the gap). */
  clear(): void {
    this.#cols = makeColumns(Math.min(this.#capacity, INITIAL_LOG_SLOTS));
    this.#head = 0;
    this.#size = 0;
  }

  /**
   * Call `listener` with every appended batch; returns the disposer. This builds an entry object per
   * line for every batch while subscribed; prefer {@link onAppend} on hot paths.
   */
  subscribe(listener: LogListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Call `listener` with the `seq` range of every appended batch; returns the disposer. */
  onAppend(listener: LogRangeListener): () => void {
    this.#rangeListeners.add(listener);
    return () => {
      this.#rangeListeners.delete(listener);
    };
  }

  #slice(offset: number, count: number): LogEntry[] {
    const out = new Array<LogEntry>(count);
    const cap = this.#capacity;
    const { ts, level, source, logger, daemon, text, start, end } = this.#cols;
    const firstSeq = this.firstSeq;
    for (let i = 0; i < count; i++) {
      const j = (this.#head + offset + i) % cap;
      const str = text[j]!;
      const a = start[j]!;
      const b = end[j]!;
      let entryText: string;
      if (typeof str !== 'string') entryText = str.toString('latin1', a, b);
      else entryText = a === 0 && b === str.length ? str : str.slice(a, b);
      out[i] = {
        seq: firstSeq + offset + i,
        ts: ts[j]!,
        source: SOURCES[source[j]!]!,
        level: LEVELS[level[j]!]!,
        logger: logger[j],
        text: entryText,
      };
      // Only tagged entries carry the key: a single untagged daemon's entries look as they always did.
      const d = daemon[j];
      if (d !== undefined) out[i]!.daemon = d;
    }
    return out;
  }
}
