import type { RendererApi } from '../../../shared/contract/renderer-api.js';
import type { LogEntry } from '../../../shared/log-entry.js';
import type { LogBuffer } from './log-buffer.js';

/** What the log view hears from the sync. */
export interface LogSyncListener {
  /** The buffer was cleared (initial load, or the server restarted): rebuild everything. */
  reset(): void;
  /** New entries were appended (`added` in seq order; older ones may have been evicted). */
  appended(added: readonly LogEntry[]): void;
  /** A sticky notice for the user (missing entries, failed loads); `null` clears it. */
  notice(message: string | null): void;
}

/** Page rounds per sync, in case the server caps page sizes. */
const MAX_PAGES_PER_SYNC = 50;

/**
 * Keeps the `LogBuffer` equal to the server's log without gaps or duplicates (docs/architecture.md §13):
 * pushes (`logs:appended`) are applied when they continue `lastSeq`; a gap, a reconnect or a
 * server restart triggers a `logs:get-since` fill or a full reload. Pushes arriving while a fetch
 * is in flight are queued and applied afterwards, deduplicated by seq.
 */
export class LogSync {
  private busy = 0;
  private chain: Promise<void> = Promise.resolve();
  private pending: LogEntry[] = [];

  constructor(
    private readonly api: Pick<RendererApi, 'invoke'>,
    readonly buffer: LogBuffer,
    private readonly listener: LogSyncListener,
  ) {}

  /** Clear and load the whole server ring (`logs:get-since {seq: 0}`). */
  load(): Promise<void> {
    return this.schedule(() => this.reload());
  }

  /**
   * After a reconnect: reload when the server restarted (its log seq went backwards), else fetch
   * what was missed since `lastSeq`.
   */
  resync(serverLogSeq: number | null): Promise<void> {
    if (serverLogSeq !== null && serverLogSeq < this.buffer.lastSeq)
      return this.schedule(() => this.reload());
    return this.schedule(() => this.fill());
  }

  /** A `logs:appended` push. */
  handleAppended(entries: readonly LogEntry[]): void {
    if (this.busy > 0) {
      this.pending.push(...entries);
      return;
    }
    this.applyBatch(entries, false);
  }

  /** Resolves when no fetch is in flight (tests). */
  async idle(): Promise<void> {
    while (this.busy > 0) await this.chain;
  }

  private applyBatch(entries: readonly LogEntry[], afterFetch: boolean): void {
    switch (this.buffer.classify(entries)) {
      case 'duplicate':
        return;
      case 'contiguous':
        this.apply(entries);
        return;
      case 'conflict':
        // The server restarted: its ring holds these entries too, the reload brings them.
        void this.schedule(() => this.reload());
        return;
      case 'gap':
        if (afterFetch) {
          // We just asked the server for everything after lastSeq: what is still missing is gone
          // (evicted from its ring, or the fetch failed). Show it rather than loop.
          this.noteMissing(entries);
          this.apply(entries);
        } else {
          this.pending.push(...entries);
          void this.schedule(() => this.fill());
        }
    }
  }

  private apply(entries: readonly LogEntry[]): void {
    const { added } = this.buffer.append(entries);
    if (added.length > 0) this.listener.appended(added);
  }

  private noteMissing(entries: readonly LogEntry[]): void {
    if (this.buffer.lastSeq === 0) return;
    let first = Infinity;
    for (const e of entries) if (e.seq > this.buffer.lastSeq && e.seq < first) first = e.seq;
    const missing = first - this.buffer.lastSeq - 1;
    if (missing > 0 && Number.isFinite(missing)) {
      this.listener.notice(`${missing} log entries were dropped before they reached the panel.`);
    }
  }

  private schedule(task: () => Promise<void>): Promise<void> {
    this.busy++;
    const run = this.chain.then(task).finally(() => {
      this.busy--;
      if (this.busy === 0 && this.pending.length > 0) {
        const queued = this.pending;
        this.pending = [];
        this.applyBatch(queued, true);
      }
    });
    // A failed task must not poison the chain (errors become notices inside the tasks).
    this.chain = run.catch(() => undefined);
    return this.chain;
  }

  private async reload(): Promise<void> {
    this.buffer.clear();
    this.listener.reset();
    this.listener.notice(null);
    if ((await this.fetchAfterLast()) === 'restarted') {
      // Restarted again while we were loading: one more clean reload, then give up looping.
      this.buffer.clear();
      this.listener.reset();
      await this.fetchAfterLast();
    }
  }

  private async fill(): Promise<void> {
    if ((await this.fetchAfterLast()) === 'restarted') await this.reload();
  }

  /** Fetch pages after `lastSeq` until the server's last seq is reached. */
  private async fetchAfterLast(): Promise<'done' | 'failed' | 'restarted'> {
    for (let round = 0; round < MAX_PAGES_PER_SYNC; round++) {
      // One page as large as our own buffer (the contract allows up to 200,000): a 100k backlog is one
      // round trip, not several 50k pages applied one after another (bench: panel render).
      const res = await this.api.invoke('logs:get-since', {
        seq: this.buffer.lastSeq,
        limit: Math.min(this.buffer.capacity, 200_000),
      });
      if (!res.ok) {
        this.listener.notice(`Could not load the log: ${res.error.message}`);
        return 'failed';
      }
      const page = res.value;
      const kind = this.buffer.classify(page.entries);
      // A server whose newest seq is below ours started again from 1.
      if (page.lastSeq < this.buffer.lastSeq || kind === 'conflict') return 'restarted';
      if (kind === 'gap') this.noteMissing(page.entries);
      this.apply(page.entries);
      const newest = page.entries.length > 0 ? page.entries[page.entries.length - 1]!.seq : page.lastSeq;
      if (page.entries.length === 0 || newest >= page.lastSeq) return 'done';
    }
    return 'done';
  }
}
