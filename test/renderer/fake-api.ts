import type { EventChannel, EventPayload } from '../../src/shared/contract/events.js';
import type { InvokeChannel, InvokeRequest, InvokeResponse } from '../../src/shared/contract/invoke.js';
import type { RendererApi } from '../../src/shared/contract/renderer-api.js';
import type { ApiResult } from '../../src/shared/contract/result.js';
import type { LogEntry, LogLevel } from '../../src/shared/log-entry.js';

type Handler<K extends InvokeChannel> = (
  req: InvokeRequest<K>,
) => ApiResult<InvokeResponse<K>> | Promise<ApiResult<InvokeResponse<K>>>;

/**
 * An in-memory `RendererApi` (docs/architecture.md §7): handlers per channel, `emit` for pushes, a call log.
 */
export function createFakeApi() {
  const handlers = new Map<InvokeChannel, Handler<InvokeChannel>>();
  const listeners = new Map<EventChannel, Set<(p: unknown) => void>>();
  const connection = new Set<(c: boolean) => void>();
  const calls: { channel: InvokeChannel; request: unknown }[] = [];
  const api: RendererApi = {
    kind: 'electron',
    async invoke<K extends InvokeChannel>(
      channel: K,
      request: InvokeRequest<K>,
    ): Promise<ApiResult<InvokeResponse<K>>> {
      calls.push({ channel, request });
      const h = handlers.get(channel) as Handler<K> | undefined;
      if (!h) return { ok: false, error: { code: 'internal', message: `no fake handler for ${channel}` } };
      return h(request);
    },
    on<K extends EventChannel>(channel: K, l: (p: EventPayload<K>) => void) {
      let s = listeners.get(channel);
      if (!s) listeners.set(channel, (s = new Set()));
      s.add(l as (p: unknown) => void);
      return () => void s.delete(l as (p: unknown) => void);
    },
    onConnection(l) {
      connection.add(l);
      return () => void connection.delete(l);
    },
  };
  return {
    api,
    calls,
    handle<K extends InvokeChannel>(channel: K, h: Handler<K>) {
      handlers.set(channel, h);
    },
    emit<K extends EventChannel>(channel: K, payload: EventPayload<K>) {
      for (const l of listeners.get(channel) ?? []) l(payload);
    },
  };
}

/** A log entry with deterministic fields. */
export function entry(
  seq: number,
  text = `line ${seq}`,
  level: LogLevel = 'info',
  ts = 1_700_000_000_000 + seq,
): LogEntry {
  return { seq, ts, source: 'stdout', level, text };
}

/** Entries `from..to` inclusive. */
export function range(from: number, to: number, gen = (s: number) => entry(s)): LogEntry[] {
  const out: LogEntry[] = [];
  for (let s = from; s <= to; s++) out.push(gen(s));
  return out;
}

/** A server-side log ring that answers `logs:get-since` like the real one (exclusive `seq`). */
export class FakeRing {
  entries: LogEntry[] = [];
  constructor(readonly capacity = 1_000_000) {}
  add(...e: LogEntry[]) {
    this.entries.push(...e);
    if (this.entries.length > this.capacity) this.entries.splice(0, this.entries.length - this.capacity);
  }
  page(seq: number, limit?: number) {
    const after = this.entries.filter((e) => e.seq > seq);
    const entries = limit ? after.slice(0, limit) : after;
    return {
      entries,
      firstSeq: this.entries[0]?.seq ?? 0,
      lastSeq: this.entries[this.entries.length - 1]?.seq ?? 0,
    };
  }
}
