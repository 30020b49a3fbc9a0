import type { LogEntry } from '../../../shared/log-entry.js';
import { lowerBoundBySeq } from '../../lib/log-filter.js';

/** How many entries the panel keeps: the e2e floods 100,000 lines, the server ring holds 50,000 by default. */
export const MAX_CLIENT_ENTRIES = 100_000;

/** How a batch relates to what the buffer already holds. */
export type BatchKind =
  /** Nothing newer than `lastSeq`. */
  | 'duplicate'
  /** Continues right after `lastSeq`. */
  | 'contiguous'
  /** Starts after `lastSeq + 1`: something was missed. */
  | 'gap'
  /** Reuses a seq we hold with different content: the server restarted and its seqs began again at 1. */
  | 'conflict';

/**
 * The client-side log ring: entries sorted by `seq`, unique, at most `capacity` (oldest evicted).
 * `lastSeq` is the newest seq ever applied and survives eviction, so "give me everything after
 * lastSeq" stays right.
 */
export class LogBuffer {
  private items: LogEntry[] = [];
  private last = 0;

  constructor(readonly capacity = MAX_CLIENT_ENTRIES) {}

  /** The entries, oldest first. Do not mutate. */
  get entries(): readonly LogEntry[] {
    return this.items;
  }

  /** The newest seq applied since the last `clear()` (0 when none). */
  get lastSeq(): number {
    return this.last;
  }

  /** Forget everything (server restarted). */
  clear(): void {
    this.items = [];
    this.last = 0;
  }

  /** The entry with this seq, if still held. */
  get(seq: number): LogEntry | undefined {
    const i = lowerBoundBySeq(this.items, seq);
    const e = this.items[i];
    return e && e.seq === seq ? e : undefined;
  }

  /** Classify a batch against what is held (see `BatchKind`). */
  classify(batch: readonly LogEntry[]): BatchKind {
    let firstNew = Infinity;
    for (const e of batch) {
      if (e.seq <= this.last) {
        const held = this.get(e.seq);
        if (held && (held.ts !== e.ts || held.text !== e.text)) return 'conflict';
      } else if (e.seq < firstNew) {
        firstNew = e.seq;
      }
    }
    if (firstNew === Infinity) return 'duplicate';
    return firstNew > this.last + 1 ? 'gap' : 'contiguous';
  }

  /**
   * Append the entries of `batch` newer than `lastSeq` (in seq order, duplicates dropped), then evict
   * the oldest beyond capacity. Gaps are accepted here; deciding whether to fill them first is the
   * caller's job (`LogSync`).
   */
  append(batch: readonly LogEntry[]): { added: LogEntry[]; evicted: number } {
    const fresh = batch.filter((e) => e.seq > this.last);
    if (!isSortedUnique(fresh)) {
      fresh.sort((a, b) => a.seq - b.seq);
      for (let i = fresh.length - 1; i > 0; i--) if (fresh[i]!.seq === fresh[i - 1]!.seq) fresh.splice(i, 1);
    }
    if (fresh.length === 0) return { added: [], evicted: 0 };
    const held = this.items.length;
    for (const e of fresh) this.items.push(e);
    this.last = fresh[fresh.length - 1]!.seq;
    const excess = this.items.length - this.capacity;
    // One splice per batch (not a shift per entry): a memmove of at most `capacity` pointers.
    if (excess > 0) this.items.splice(0, excess);
    // When one batch overflows the whole ring, its own oldest entries are evicted too.
    const added = excess > held ? fresh.slice(excess - held) : fresh;
    return { added, evicted: Math.max(0, excess) };
  }
}

function isSortedUnique(a: readonly LogEntry[]): boolean {
  for (let i = 1; i < a.length; i++) if (a[i]!.seq <= a[i - 1]!.seq) return false;
  return true;
}
