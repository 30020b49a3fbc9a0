import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { LogBuffer } from '../../src/renderer/features/logs/log-buffer.js';
import { LogSync, type LogSyncListener } from '../../src/renderer/features/logs/log-sync.js';
import type { LogEntry } from '../../src/shared/log-entry.js';
import { FakeRing, createFakeApi, entry, range } from './fake-api.js';

const seqs = (b: LogBuffer) => b.entries.map((e) => e.seq);

function setup(opts: { capacity?: number; ringCapacity?: number; pageLimit?: number } = {}) {
  const fake = createFakeApi();
  const ring = new FakeRing(opts.ringCapacity);
  fake.handle('logs:get-since', (req) => ({ ok: true, value: ring.page(req.seq, opts.pageLimit) }));
  const buffer = new LogBuffer(opts.capacity);
  const events = { resets: 0, appended: [] as number[], notices: [] as (string | null)[] };
  const listener: LogSyncListener = {
    reset: () => void events.resets++,
    appended: (added) => events.appended.push(...added.map((e) => e.seq)),
    notice: (m) => void events.notices.push(m),
  };
  const sync = new LogSync(fake.api, buffer, listener);
  return { fake, ring, buffer, sync, events };
}

describe('LogBuffer', () => {
  it('classifies batches against lastSeq', () => {
    const b = new LogBuffer();
    expect(b.classify([entry(1)])).toBe('contiguous');
    b.append(range(1, 5));
    expect(b.classify(range(3, 5))).toBe('duplicate');
    expect(b.classify(range(4, 7))).toBe('contiguous');
    expect(b.classify(range(8, 9))).toBe('gap');
    expect(b.classify([entry(2, 'another server')])).toBe('conflict');
  });

  it('drops duplicates and out-of-order repeats, evicts beyond capacity but keeps lastSeq', () => {
    const b = new LogBuffer(5);
    b.append([entry(2), entry(1), entry(3), entry(2)]);
    expect(seqs(b)).toEqual([1, 2, 3]);
    const { added, evicted } = b.append(range(3, 9));
    expect(added.map((e) => e.seq)).toEqual([5, 6, 7, 8, 9]);
    expect(evicted).toBe(4);
    expect(seqs(b)).toEqual([5, 6, 7, 8, 9]);
    expect(b.lastSeq).toBe(9);
    expect(b.get(7)?.text).toBe('line 7');
    expect(b.get(2)).toBeUndefined();
  });
});

describe('LogSync', () => {
  it('loads the backlog, then appends pushes without duplicates', async () => {
    const { ring, buffer, sync, fake } = setup();
    ring.add(...range(1, 10));
    await sync.load();
    expect(seqs(buffer)).toEqual(range(1, 10).map((e) => e.seq));
    expect(fake.calls[0]).toEqual({ channel: 'logs:get-since', request: { seq: 0, limit: 100_000 } });
    ring.add(...range(11, 12));
    sync.handleAppended(range(9, 12));
    expect(seqs(buffer).slice(-4)).toEqual([9, 10, 11, 12]);
    expect(buffer.entries).toHaveLength(12);
  });

  it('queues pushes that arrive during the load and dedupes them against the page', async () => {
    const { ring, buffer, sync } = setup();
    ring.add(...range(1, 5));
    const loading = sync.load();
    ring.add(...range(6, 7));
    sync.handleAppended(range(4, 7));
    await loading;
    await sync.idle();
    expect(seqs(buffer)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('fills a gap with logs:get-since {seq: lastSeq}', async () => {
    const { ring, buffer, sync, fake } = setup();
    ring.add(...range(1, 3));
    await sync.load();
    ring.add(...range(4, 8));
    sync.handleAppended(range(7, 8)); // 4..6 were missed
    await sync.idle();
    expect(seqs(buffer)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(fake.calls.at(-1)).toEqual({ channel: 'logs:get-since', request: { seq: 3, limit: 100_000 } });
  });

  it('accepts a gap the server can no longer fill, with a notice, and does not loop', async () => {
    const { ring, buffer, sync, events, fake } = setup({ ringCapacity: 3 });
    ring.add(...range(1, 3));
    await sync.load();
    ring.add(...range(4, 10)); // ring now holds 8..10
    sync.handleAppended(range(10, 10));
    await sync.idle();
    expect(seqs(buffer)).toEqual([1, 2, 3, 8, 9, 10]);
    expect(events.notices.at(-1)).toMatch(/^4 log entries were dropped/);
    expect(fake.calls.filter((c) => c.channel === 'logs:get-since')).toHaveLength(2);
  });

  it('follows capped pages until the server lastSeq', async () => {
    const { ring, buffer, sync } = setup({ pageLimit: 4 });
    ring.add(...range(1, 10));
    await sync.load();
    expect(seqs(buffer)).toEqual(range(1, 10).map((e) => e.seq));
  });

  it('reloads when the server restarted (snapshot logSeq below lastSeq)', async () => {
    const { ring, buffer, sync, events } = setup();
    ring.add(...range(1, 20));
    await sync.load();
    ring.entries = range(1, 4, (s) => entry(s, `new server ${s}`));
    await sync.resync(4);
    expect(seqs(buffer)).toEqual([1, 2, 3, 4]);
    expect(buffer.entries[0]!.text).toBe('new server 1');
    expect(events.resets).toBe(2);
  });

  it('reloads when a push reuses a seq with different content', async () => {
    const { ring, buffer, sync } = setup();
    ring.add(...range(1, 5));
    await sync.load();
    ring.entries = range(1, 6, (s) => entry(s, `after restart ${s}`, 'info', 5 + s));
    sync.handleAppended(ring.entries.slice(4));
    await sync.idle();
    expect(buffer.entries.map((e) => e.text)).toEqual(ring.entries.map((e) => e.text));
  });

  it('reloads when a fill finds the server behind us', async () => {
    const { ring, buffer, sync } = setup();
    ring.add(...range(1, 9));
    await sync.load();
    ring.entries = range(1, 2, (s) => entry(s, `fresh ${s}`));
    await sync.resync(null);
    expect(buffer.entries.map((e) => e.text)).toEqual(['fresh 1', 'fresh 2']);
  });

  it('reports a failed load as a notice', async () => {
    const fake = createFakeApi();
    fake.handle('logs:get-since', () => ({
      ok: false,
      error: { code: 'unavailable', message: 'server gone' },
    }));
    const notices: (string | null)[] = [];
    const sync = new LogSync(fake.api, new LogBuffer(), {
      reset() {},
      appended() {},
      notice: (m) => void notices.push(m),
    });
    await sync.load();
    expect(notices.at(-1)).toBe('Could not load the log: server gone');
  });

  it('property: any delivery of overlapping, repeated, shuffled batches ends as exactly 1..N', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 60 }),
        fc.array(fc.tuple(fc.nat(60), fc.nat(8)), { maxLength: 30 }),
        async (n, batches) => {
          const { ring, buffer, sync } = setup();
          ring.add(...range(1, n));
          const loading = sync.load();
          for (const [start, len] of batches) {
            const from = Math.min(n, start + 1);
            sync.handleAppended(ring.entries.slice(from - 1, Math.min(n, from + len)));
          }
          await loading;
          await sync.idle();
          sync.handleAppended(ring.entries.slice(-1));
          await sync.idle();
          expect(seqs(buffer)).toEqual(ring.entries.map((e: LogEntry) => e.seq));
        },
      ),
      { numRuns: 200 },
    );
  });
});
