import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { describe, expect, it, vi } from 'vitest';

import type { LogEntry } from '../../../src/shared/log-entry.js';
import { LogStore, type NewLogEntry } from '../../../src/core/logs/log-store.js';

function entries(n: number, from = 0): NewLogEntry[] {
  return Array.from({ length: n }, (_, i) => ({
    ts: 1,
    source: 'stderr' as const,
    level: 'info' as const,
    text: `l${from + i}`,
  }));
}
const texts = (es: readonly LogEntry[]): string[] => es.map((e) => e.text);

describe('LogStore', () => {
  it('numbers entries from 1 and returns them', () => {
    const store = new LogStore({ capacity: 10 });
    expect(store.lastSeq).toBe(0);
    expect(store.since(0)).toEqual({ entries: [], firstSeq: 1, lastSeq: 0 });
    const out = store.append(entries(3));
    expect(out.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(store.append(entries(2, 3)).map((e) => e.seq)).toEqual([4, 5]);
    expect(store.lastSeq).toBe(5);
    expect(store.append([])).toEqual([]);
  });

  it('since(seq) returns the entries after seq, oldest first, with an optional limit', () => {
    const store = new LogStore({ capacity: 10 });
    store.append(entries(6));
    expect(texts(store.since(3).entries)).toEqual(['l3', 'l4', 'l5']);
    expect(texts(store.since(0, 2).entries)).toEqual(['l0', 'l1']);
    expect(store.since(6).entries).toEqual([]);
    expect(store.since(99).entries).toEqual([]);
    expect(texts(store.tail(2).entries)).toEqual(['l4', 'l5']);
  });

  it('evicts the oldest beyond capacity and reports the gap through firstSeq', () => {
    const store = new LogStore({ capacity: 4 });
    store.append(entries(3));
    store.append(entries(7, 3));
    expect(store.size).toBe(4);
    const slice = store.since(0);
    expect(slice.firstSeq).toBe(7);
    expect(slice.lastSeq).toBe(10);
    expect(slice.entries.map((e) => e.seq)).toEqual([7, 8, 9, 10]);
    expect(texts(store.since(8).entries)).toEqual(['l8', 'l9']);
  });

  it('changes capacity at runtime, keeping the newest entries', () => {
    const store = new LogStore({ capacity: 5 });
    store.append(entries(5));
    store.setCapacity(3);
    expect(store.capacity).toBe(3);
    expect(texts(store.since(0).entries)).toEqual(['l2', 'l3', 'l4']);
    store.setCapacity(6);
    store.append(entries(4, 5));
    expect(texts(store.since(0).entries)).toEqual(['l3', 'l4', 'l5', 'l6', 'l7', 'l8']);
    expect(store.lastSeq).toBe(9);
    expect(() => store.setCapacity(0)).toThrow(RangeError);
  });

  it('calls listeners once per batch, and the disposer unsubscribes', () => {
    const store = new LogStore();
    const listener = vi.fn();
    const dispose = store.subscribe(listener);
    store.append(entries(100));
    store.append(entries(1));
    expect(listener).toHaveBeenCalledTimes(2);
    expect((listener.mock.calls[0]![0] as LogEntry[]).length).toBe(100);
    dispose();
    store.append(entries(1));
    expect(listener).toHaveBeenCalledTimes(2);
  });

  it('a throwing listener does not break appending or other listeners', () => {
    const errors: unknown[] = [];
    const store = new LogStore({ onListenerError: (e) => errors.push(e) });
    const good = vi.fn();
    store.subscribe(() => {
      throw new Error('bad subscriber');
    });
    store.subscribe(good);
    expect(store.append(entries(2))).toHaveLength(2);
    expect(good).toHaveBeenCalledTimes(1);
    expect(errors).toHaveLength(1);
  });

  it('clear() drops entries but numbering continues', () => {
    const store = new LogStore({ capacity: 5 });
    store.append(entries(3));
    store.clear();
    expect(store.since(0)).toEqual({ entries: [], firstSeq: 4, lastSeq: 3 });
    expect(store.append(entries(1))[0]!.seq).toBe(4);
  });

  it('stays bounded under a 1,000,000-line flood', () => {
    // A real GC before measuring, so the numbers are retained memory, not garbage.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const rssBefore = process.memoryUsage().rss;
    const store = new LogStore({ capacity: 50_000 });
    for (let b = 0; b < 1000; b++) {
      const batch: NewLogEntry[] = new Array(1000);
      for (let i = 0; i < 1000; i++) {
        batch[i] = {
          ts: b,
          source: 'stderr',
          level: 'info',
          text: `2025 flood line ${b * 1000 + i} `.padEnd(100, 'x'),
        };
      }
      store.append(batch);
    }
    expect(store.lastSeq).toBe(1_000_000);
    expect(store.size).toBe(50_000);
    const all = store.since(0);
    expect(all.entries).toHaveLength(50_000);
    expect(all.firstSeq).toBe(950_001);
    expect(all.entries[0]!.text.startsWith('2025 flood line 950000 ')).toBe(true);
    gc();
    // 50,000 entries of ~100 characters are ~10 MB; 1M retained entries would be > 150 MB.
    const heapGrownMb = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
    expect(heapGrownMb).toBeLessThan(40);
    expect(heapGrownMb).toBeGreaterThan(3); // the 50,000 entries really are held
    // RSS only roughly: freed pages are not always returned to the OS at once.
    expect((process.memoryUsage().rss - rssBefore) / 1e6).toBeLessThan(400);
  });

  it('an empty store holds a small ring that grows to its capacity as entries arrive', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    // Ten idle daemons' stores at 200,000 entries: full-size columns were ~5 MB of arrays each.
    const idle = Array.from({ length: 10 }, () => new LogStore({ capacity: 200_000 }));
    gc();
    expect((process.memoryUsage().heapUsed - heapBefore) / 1e6).toBeLessThan(3);
    expect(idle.every((s) => s.capacity === 200_000)).toBe(true);

    // Growing keeps every entry in order, across several doublings, then wraps at the capacity.
    const store = new LogStore({ capacity: 5000 });
    for (let b = 0; b < 6; b++) store.append(entries(1000, b * 1000));
    expect(store.size).toBe(5000);
    expect(store.firstSeq).toBe(1001);
    expect(texts(store.since(0).entries)).toEqual(texts(entries(5000, 1000) as LogEntry[]));
    store.appendSpan(1, 'stdout', 'info', undefined, 'abc', 0, 3);
    store.commit();
    expect(texts(store.tail(2).entries)).toEqual(['l5999', 'abc']);

    // After a shrink and a clear the ring starts small again and still fills to the capacity.
    store.setCapacity(3);
    expect(texts(store.since(0).entries)).toEqual(['l5998', 'l5999', 'abc']);
    store.setCapacity(3000);
    store.append(entries(2000, 10_000));
    expect(store.size).toBe(2003);
    expect(store.since(0).entries[2003 - 1]!.text).toBe('l11999');
    store.clear();
    store.append(entries(3001, 20_000));
    expect(store.size).toBe(3000);
    expect(store.tail(1).entries[0]!.text).toBe('l23000');
    expect(store.since(0).entries[0]!.text).toBe('l20001');
  });

  it('keeps spans of a shared string and builds their text only when read', () => {
    const store = new LogStore({ capacity: 3 });
    const chunk = 'one\ntwo\nthree\nfour\n';
    const ranges: [number, number][] = [];
    store.onAppend((a, b) => ranges.push([a, b]));
    store.appendSpan(1, 'stdout', 'info', undefined, chunk, 0, 3);
    store.appendSpan(2, 'stderr', 'warning', 'L', chunk, 4, 7);
    expect(ranges).toEqual([]); // nothing is announced before commit()
    store.commit();
    store.commit(); // nothing new: no second notification
    expect(ranges).toEqual([[1, 2]]);
    store.appendSpan(3, 'stdout', 'error', undefined, chunk, 8, 13);
    store.appendSpan(4, 'stdout', 'info', undefined, chunk, 14, 18);
    store.commit();
    expect(ranges).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(store.since(0).entries).toEqual([
      { seq: 2, ts: 2, source: 'stderr', level: 'warning', logger: 'L', text: 'two' },
      { seq: 3, ts: 3, source: 'stdout', level: 'error', logger: undefined, text: 'three' },
      { seq: 4, ts: 4, source: 'stdout', level: 'info', logger: undefined, text: 'four' },
    ]);
    store.setCapacity(2);
    expect(texts(store.since(0).entries)).toEqual(['three', 'four']);
  });

  it('gives subscribers the committed spans as entries, and append() commits pending spans first', () => {
    const store = new LogStore({ capacity: 10 });
    const batches: string[][] = [];
    store.subscribe((es) => batches.push(texts(es)));
    const chunk = 'a\nb\n';
    store.appendSpan(1, 'stdout', 'info', undefined, chunk, 0, 1);
    store.appendSpan(1, 'stdout', 'info', undefined, chunk, 2, 3);
    store.append(entries(1));
    expect(batches).toEqual([['a', 'b'], ['l0']]);
    expect(store.since(0).entries.map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it('builds no entry objects for a batch when only range listeners follow the store', () => {
    const store = new LogStore({ capacity: 10 });
    const since = vi.spyOn(store, 'since');
    const seen: number[] = [];
    store.onAppend((_a, b) => seen.push(b));
    store.appendSpan(1, 'stdout', 'info', undefined, 'x\n', 0, 1);
    store.commit();
    expect(seen).toEqual([1]);
    expect(since).not.toHaveBeenCalled();
    const off = store.subscribe(() => undefined);
    store.appendSpan(1, 'stdout', 'info', undefined, 'y\n', 0, 1);
    store.commit();
    expect(since).toHaveBeenCalledTimes(1);
    off();
  });

  it('keeps spans of ASCII bytes and reads them back as text', () => {
    const store = new LogStore({ capacity: 4 });
    const bytes = Buffer.from('alpha\nbeta\n');
    store.appendSpan(1, 'stderr', 'info', 'L', bytes, 0, 5);
    store.appendSpan(2, 'stderr', 'error', 'L', bytes, 6, 10);
    store.commit();
    expect(store.since(0).entries.map((e) => [e.seq, e.level, e.text])).toEqual([
      [1, 'info', 'alpha'],
      [2, 'error', 'beta'],
    ]);
    store.setCapacity(1);
    expect(texts(store.tail(5).entries)).toEqual(['beta']);
  });
});
