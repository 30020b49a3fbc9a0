import { eventContract, type EventChannel, type EventPayload } from '../../shared/contract/events.js';
import { EVENTS_PATH, httpPathOf } from '../../shared/contract/http-routes.js';
import {
  invokeContract,
  type InvokeChannel,
  type InvokeRequest,
  type InvokeResponse,
} from '../../shared/contract/invoke.js';
import type { RendererApi } from '../../shared/contract/renderer-api.js';
import { createRetryTimer } from '../../shared/retry-timer.js';
import {
  apiErrorCodeSchema,
  apiErrorSchema,
  type ApiErrorCode,
  type ApiResult,
} from '../../shared/contract/result.js';

/** The subset of `WebSocket` the bridge uses (a fake implements it in tests). */
export interface SocketLike {
  onopen: ((ev: Event) => void) | null;
  onclose: ((ev: CloseEvent) => void) | null;
  onerror: ((ev: Event) => void) | null;
  onmessage: ((ev: MessageEvent) => void) | null;
  close(code?: number, reason?: string): void;
}

/** Options of `createHttpBridge`. Everything but `baseUrl` is injectable for tests. */
export interface HttpBridgeOptions {
  /** The server's origin, e.g. `http://127.0.0.1:19299` (the page's own `location.origin`). */
  baseUrl: string;
  fetch?: typeof fetch;
  createSocket?: (url: string) => SocketLike;
  setTimeout?: (fn: () => void, ms: number) => unknown;
  clearTimeout?: (handle: unknown) => void;
  /** First reconnect delay and cap (issue: 250 ms → 5 s). */
  backoffMs?: { initial: number; max: number };
  /** Per-call timeout; the stop sequence can take several seconds, so be generous. */
  invokeTimeoutMs?: number;
}

/** The HTTP bridge: a `RendererApi` plus `dispose()` (closes the event socket for good). */
export type HttpBridge = RendererApi & { dispose(): void };

const REOPEN_HINT = 'Reopen the panel with `luna-tray open` (the session is no longer valid).';

/**
 * `RendererApi` over the headless server (docs/architecture.md §7): invoke = `POST /api/<domain>/<verb>` with
 * the request as JSON and the `ApiResult` as the reply; push events on one WebSocket
 * (`/api/events`, messages `{type, data}`), reconnected with backoff. Auth is the session cookie the
 * server set when the one-time URL was opened, so nothing secret lives in the page.
 */
export function createHttpBridge(opts: HttpBridgeOptions): HttpBridge {
  const doFetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const createSocket = opts.createSocket ?? ((url: string) => new WebSocket(url));
  const setT = opts.setTimeout ?? ((fn: () => void, ms: number) => globalThis.setTimeout(fn, ms));
  const clearT = opts.clearTimeout ?? ((h: unknown) => globalThis.clearTimeout(h as number));
  const backoff = opts.backoffMs ?? { initial: 250, max: 5_000 };
  const invokeTimeoutMs = opts.invokeTimeoutMs ?? 120_000;
  const base = opts.baseUrl.replace(/\/+$/, '');

  const listeners = new Map<EventChannel, Set<(payload: unknown) => void>>();
  const connectionListeners = new Set<(connected: boolean) => void>();
  let connected: boolean | null = null;
  let socket: SocketLike | null = null;
  const retry = createRetryTimer({
    initialMs: backoff.initial,
    maxMs: backoff.max,
    setTimeout: setT,
    clearTimeout: clearT,
  });
  let disposed = false;

  const setConnected = (value: boolean) => {
    if (connected === value) return;
    connected = value;
    for (const l of [...connectionListeners]) l(value);
  };

  const onMessage = (raw: unknown) => {
    if (typeof raw !== 'string') return;
    let msg: { type?: unknown; data?: unknown };
    try {
      msg = JSON.parse(raw) as typeof msg;
    } catch {
      console.warn('event socket: message is not JSON, ignored');
      return;
    }
    if (typeof msg.type !== 'string' || !(msg.type in eventContract)) return;
    const channel = msg.type as EventChannel;
    const subs = listeners.get(channel);
    if (!subs || subs.size === 0) return;
    const parsed = eventContract[channel].safeParse(msg.data);
    if (!parsed.success) {
      console.warn(
        `event socket: ${channel} payload does not match the contract, ignored`,
        parsed.error.issues,
      );
      return;
    }
    for (const l of [...subs]) {
      try {
        l(parsed.data);
      } catch (e) {
        // One failing view must not stop the others from hearing the event.
        console.error(`listener of ${channel} failed`, e);
      }
    }
  };

  const connect = () => {
    if (disposed) return;
    let s: SocketLike;
    try {
      s = createSocket(wsUrlOf(base));
    } catch {
      scheduleReconnect();
      return;
    }
    socket = s;
    s.onopen = () => {
      retry.reset();
      setConnected(true);
    };
    s.onmessage = (ev) => onMessage(ev.data);
    // Browsers hide why an upgrade failed (401 looks like any close, code 1006): the app probes
    // with an invoke to tell "server gone" from "session invalid".
    s.onerror = () => undefined;
    s.onclose = () => {
      if (socket !== s) return;
      socket = null;
      setConnected(false);
      scheduleReconnect();
    };
  };

  const scheduleReconnect = () => {
    if (!disposed) retry.schedule(connect);
  };

  const invoke = async <K extends InvokeChannel>(
    channel: K,
    request: InvokeRequest<K>,
  ): Promise<ApiResult<InvokeResponse<K>>> => {
    const controller = new AbortController();
    const timer = setT(() => controller.abort(), invokeTimeoutMs);
    let res: Response;
    try {
      res = await doFetch(base + httpPathOf(channel), {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(request ?? {}),
        credentials: 'same-origin',
        signal: controller.signal,
      });
    } catch (e) {
      const aborted = controller.signal.aborted;
      return failure(
        'unavailable',
        aborted
          ? `${channel}: no reply within ${invokeTimeoutMs / 1000} s`
          : `Cannot reach the Luna Tray server (${errorText(e)})`,
      );
    } finally {
      clearT(timer);
    }
    if (res.status === 401) return failure('unauthorized', `Not authorised. ${REOPEN_HINT}`);
    if (res.status === 403) return failure('forbidden', `Forbidden by the server. ${REOPEN_HINT}`);
    let body: unknown;
    try {
      body = await res.json();
    } catch {
      return failure(
        res.status === 404 ? 'not-found' : 'internal',
        `${channel}: HTTP ${res.status} without a JSON reply`,
      );
    }
    return parseReply(channel, res.status, body);
  };

  connect();

  return {
    kind: 'http',
    invoke,
    on<K extends EventChannel>(channel: K, listener: (payload: EventPayload<K>) => void): () => void {
      let subs = listeners.get(channel);
      if (!subs) listeners.set(channel, (subs = new Set()));
      const l = listener as (payload: unknown) => void;
      subs.add(l);
      return () => void subs.delete(l);
    },
    onConnection(listener: (connected: boolean) => void): () => void {
      connectionListeners.add(listener);
      return () => void connectionListeners.delete(listener);
    },
    dispose() {
      disposed = true;
      retry.cancel();
      const s = socket;
      socket = null;
      s?.close(1000, 'panel closed');
    },
  };
}

/** `http://host:port` → `ws://host:port/api/events` (`https` → `wss`). */
export function wsUrlOf(baseUrl: string): string {
  const u = new URL(EVENTS_PATH, baseUrl);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.toString();
}

/** Check a reply body against `ApiResult<response schema>`; anything else becomes an error value. */
export function parseReply<K extends InvokeChannel>(
  channel: K,
  status: number,
  body: unknown,
): ApiResult<InvokeResponse<K>> {
  const b = body as { ok?: unknown; value?: unknown; error?: unknown } | null;
  if (b && b.ok === true) {
    const parsed = invokeContract[channel].response.safeParse(b.value);
    if (parsed.success) return { ok: true, value: parsed.data as InvokeResponse<K> };
    return failure('internal', `${channel}: the server's reply does not match the contract`);
  }
  if (b && b.ok === false) {
    const parsed = apiErrorSchema.safeParse(b.error);
    if (parsed.success) return { ok: false, error: parsed.data };
    const e = b.error as { code?: unknown; message?: unknown } | null;
    // An error code this panel does not know yet: keep the server's message.
    const code = apiErrorCodeSchema.safeParse(e?.code).success ? (e?.code as ApiErrorCode) : 'internal';
    return failure(code, typeof e?.message === 'string' ? e.message : `${channel}: HTTP ${status}`);
  }
  const code: ApiErrorCode = status === 400 ? 'invalid-input' : status === 404 ? 'not-found' : 'internal';
  return failure(code, `${channel}: unexpected reply (HTTP ${status})`);
}

function failure(code: ApiErrorCode, message: string): ApiResult<never> {
  return { ok: false, error: { code, message } };
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
