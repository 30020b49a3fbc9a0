/**
 * ComfyUI WebSocket `/ws?clientId=…` (docs/comfyui.md, "WebSocket"): typed message parsing, binary preview
 * frames and a small socket wrapper. No `Origin` header is sent (docs/comfyui.md, "Origin checks": `ws` sends
 * none unless asked).
 */
import { randomUUID } from 'node:crypto';

import WebSocket from 'ws';

import { ComfyUnreachableError } from './errors.js';
import { classifyNetworkError, normalizeBaseUrl } from './client.js';
import { isJsonObject, jsonText, parseJsonLossless, type JsonObject, type JsonValue } from './json.js';

/** Per-node entry of `progress_state`. */
export interface ComfyNodeProgress {
  value: number;
  max: number;
  /** `running`, `finished` or `error`. */
  state: string;
  node_id?: string;
  prompt_id?: string;
  display_node_id?: string;
  parent_node_id?: string | null;
  real_node_id?: string;
}

/**
 * Every JSON message listed in docs/comfyui.md, "WebSocket", plus `unknown` for custom types (ignored, never
 * thrown).
 */
export type ComfyWsMessage =
  | { type: 'status'; data: { queueRemaining: number; sid?: string } }
  | { type: 'execution_start'; data: { prompt_id: string; timestamp?: number } }
  | { type: 'execution_cached'; data: { prompt_id: string; nodes: string[]; timestamp?: number } }
  | { type: 'executing'; data: { node: string | null; display_node?: string; prompt_id?: string } }
  | { type: 'progress'; data: { value: number; max: number; prompt_id?: string; node?: string | null } }
  | { type: 'progress_state'; data: { prompt_id: string; nodes: Record<string, ComfyNodeProgress> } }
  | {
      type: 'executed';
      data: { node: string; display_node?: string; output: JsonObject | null; prompt_id: string };
    }
  | { type: 'execution_success'; data: { prompt_id: string; timestamp?: number } }
  | {
      type: 'execution_error';
      data: {
        prompt_id: string;
        node_id: string | null;
        node_type: string | null;
        executed: string[];
        exception_message: string;
        exception_type: string;
        traceback: string[];
        current_inputs?: JsonValue;
        current_outputs?: JsonValue;
        timestamp?: number;
      };
    }
  | {
      type: 'execution_interrupted';
      data: {
        prompt_id: string;
        node_id: string | null;
        node_type: string | null;
        executed: string[];
        timestamp?: number;
      };
    }
  | { type: 'feature_flags'; data: JsonObject }
  | { type: 'logs'; data: JsonObject }
  | { type: 'unknown'; rawType: string; data: JsonValue };

/**
 * A binary frame (docs/comfyui.md, "WebSocket"). Types other than 1, 3 and 4 are skipped (parse returns
 * null).
 */
export type ComfyBinaryFrame =
  | { kind: 'preview'; eventType: 1; mime: 'image/jpeg' | 'image/png'; image: Buffer }
  | { kind: 'preview'; eventType: 4; mime: string; image: Buffer; metadata: JsonObject }
  | { kind: 'text'; eventType: 3; nodeId: string; promptId?: string; text: string };

const str = (v: JsonValue | undefined): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: JsonValue | undefined): number =>
  typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : 0;
const strOrNull = (v: JsonValue | undefined): string | null =>
  typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null;
const strArr = (v: JsonValue | undefined): string[] => (Array.isArray(v) ? v.map((x) => jsonText(x)) : []);

/** Parse one text frame; null when it is not a `{type, data}` JSON object. */
export function parseWsText(text: string): ComfyWsMessage | null {
  let v: JsonValue;
  try {
    v = parseJsonLossless(text);
  } catch {
    return null;
  }
  if (!isJsonObject(v) || typeof v['type'] !== 'string') return null;
  const type = v['type'];
  const d = isJsonObject(v['data']) ? v['data'] : {};
  const pid = str(d['prompt_id']);
  switch (type) {
    case 'status': {
      const st = isJsonObject(d['status']) ? d['status'] : {};
      const ei = isJsonObject(st['exec_info']) ? st['exec_info'] : {};
      const sid = str(d['sid']);
      return {
        type,
        data: { queueRemaining: num(ei['queue_remaining']), ...(sid !== undefined ? { sid } : {}) },
      };
    }
    case 'execution_start':
    case 'execution_success':
      return { type, data: { prompt_id: pid ?? '', ...ts(d) } };
    case 'execution_cached':
      return { type, data: { prompt_id: pid ?? '', nodes: strArr(d['nodes']), ...ts(d) } };
    case 'executing': {
      // display_node and prompt_id are optional: the reconnect replay carries neither (docs/comfyui.md,
      // "WebSocket").
      const dn = strOrNull(d['display_node']);
      return {
        type,
        data: {
          node: strOrNull(d['node']),
          ...(dn !== null ? { display_node: dn } : {}),
          ...(pid !== undefined ? { prompt_id: pid } : {}),
        },
      };
    }
    case 'progress':
      return {
        type,
        data: {
          value: num(d['value']),
          max: num(d['max']),
          ...(pid !== undefined ? { prompt_id: pid } : {}),
          node: strOrNull(d['node']),
        },
      };
    case 'progress_state': {
      const nodes: Record<string, ComfyNodeProgress> = {};
      const raw = isJsonObject(d['nodes']) ? d['nodes'] : {};
      for (const [k, n] of Object.entries(raw)) {
        if (!isJsonObject(n)) continue;
        nodes[k] = {
          ...(n as unknown as ComfyNodeProgress),
          value: num(n['value']),
          max: num(n['max']),
          state: jsonText(n['state'] ?? ''),
        };
      }
      return { type, data: { prompt_id: pid ?? '', nodes } };
    }
    case 'executed': {
      const dn = strOrNull(d['display_node']);
      return {
        type,
        data: {
          node: strOrNull(d['node']) ?? '',
          ...(dn !== null ? { display_node: dn } : {}),
          output: isJsonObject(d['output']) ? d['output'] : null,
          prompt_id: pid ?? '',
        },
      };
    }
    case 'execution_error':
      return {
        type,
        data: {
          prompt_id: pid ?? '',
          node_id: strOrNull(d['node_id']),
          node_type: strOrNull(d['node_type']),
          executed: strArr(d['executed']),
          exception_message: jsonText(d['exception_message'] ?? ''),
          exception_type: jsonText(d['exception_type'] ?? ''),
          traceback: strArr(d['traceback']),
          ...(d['current_inputs'] !== undefined ? { current_inputs: d['current_inputs'] } : {}),
          ...(d['current_outputs'] !== undefined ? { current_outputs: d['current_outputs'] } : {}),
          ...ts(d),
        },
      };
    case 'execution_interrupted':
      return {
        type,
        data: {
          prompt_id: pid ?? '',
          node_id: strOrNull(d['node_id']),
          node_type: strOrNull(d['node_type']),
          executed: strArr(d['executed']),
          ...ts(d),
        },
      };
    case 'feature_flags':
    case 'logs':
      return { type, data: d };
    default:
      return { type: 'unknown', rawType: type, data: v['data'] ?? null };
  }
}

function ts(d: JsonObject): { timestamp?: number } {
  return typeof d['timestamp'] === 'number' ? { timestamp: d['timestamp'] } : {};
}

/**
 * Parse a binary frame (docs/comfyui.md, "WebSocket"; big-endian u32 fields). `textHasPromptId` must be true
 * only when the SERVER advertised `supports_progress_text_metadata`. Returns null for unknown or truncated
 * frames.
 */
export function parseBinaryFrame(buf: Buffer, textHasPromptId = false): ComfyBinaryFrame | null {
  if (buf.length < 4) return null;
  const type = buf.readUInt32BE(0);
  try {
    if (type === 1) {
      if (buf.length < 8) return null;
      const fmt = buf.readUInt32BE(4);
      return {
        kind: 'preview',
        eventType: 1,
        mime: fmt === 2 ? 'image/png' : 'image/jpeg',
        image: buf.subarray(8),
      };
    }
    if (type === 4) {
      const len = buf.readUInt32BE(4);
      if (8 + len > buf.length) return null;
      const meta = parseJsonLossless(buf.subarray(8, 8 + len).toString('utf8'));
      const metadata = isJsonObject(meta) ? meta : {};
      return {
        kind: 'preview',
        eventType: 4,
        mime: str(metadata['image_type']) ?? 'image/jpeg',
        image: buf.subarray(8 + len),
        metadata,
      };
    }
    if (type === 3) {
      let off = 4;
      let promptId: string | undefined;
      if (textHasPromptId) {
        const pl = buf.readUInt32BE(off);
        promptId = buf.subarray(off + 4, off + 4 + pl).toString('utf8');
        off += 4 + pl;
      }
      const nl = buf.readUInt32BE(off);
      if (off + 4 + nl > buf.length) return null;
      const nodeId = buf.subarray(off + 4, off + 4 + nl).toString('utf8');
      const text = buf.subarray(off + 4 + nl).toString('utf8');
      return { kind: 'text', eventType: 3, nodeId, text, ...(promptId !== undefined ? { promptId } : {}) };
    }
  } catch {
    return null;
  }
  // Custom nodes may send other event numbers (100+): skip, never throw (docs/comfyui.md, "WebSocket").
  return null;
}

/** Options of {@link openComfySocket}. */
export interface ComfySocketOptions {
  /**
   * Our client id. Default: a fresh uuid hex. Never reuse an id whose previous socket may still be open
   * (docs/comfyui.md, "WebSocket").
   */
  clientId?: string;
  /** Send the feature-flag handshake asking for type-4 previews (default true). */
  previewMetadata?: boolean;
  /** Time to wait for the upgrade and the first `status` message, ms (default 5000). */
  connectTimeoutMs?: number;
  /** Send a ws ping this often, ms; a missing pong for 2 intervals closes the socket (default 15000, 0 = off). */
  pingIntervalMs?: number;
  /** Largest message accepted, bytes (default {@link DEFAULT_WS_MAX_PAYLOAD}); a bigger one closes the socket (1009). */
  maxPayload?: number;
}

/** Default WebSocket message cap: previews are a few MB at most, JSON messages far less. */
export const DEFAULT_WS_MAX_PAYLOAD = 32 * 1024 * 1024;

/** A connected socket. */
export interface ComfySocket {
  /** The id the server knows us by (the `sid` of its first message): pass it as `client_id`. */
  readonly clientId: string;
  /** Server feature flags from the handshake reply (empty until it arrives or when not negotiated). */
  readonly serverFlags: JsonObject;
  /** Subscribe to JSON messages; returns a disposer. */
  onMessage(fn: (m: ComfyWsMessage) => void): () => void;
  /** Subscribe to binary frames (unknown types already skipped); returns a disposer. */
  onBinary(fn: (f: ComfyBinaryFrame) => void): () => void;
  /** Called once when the socket closes for any reason; returns a disposer. */
  onClose(fn: (info: { code: number; reason: string; byUs: boolean }) => void): () => void;
  /** True until closed. */
  readonly open: boolean;
  /** Close and wait for the close to complete (so the id can be reused safely afterwards). */
  close(): Promise<void>;
}

/**
 * Connect to `/ws?clientId=…` and resolve after the server's first `status` message (so the server has
 * registered us before we queue anything: events for unknown sids are dropped, docs/comfyui.md, "WebSocket").
 */
export function openComfySocket(baseUrl: string, options: ComfySocketOptions = {}): Promise<ComfySocket> {
  const base = normalizeBaseUrl(baseUrl);
  const wsUrl = `${base.replace(/^http/i, 'ws')}/ws?clientId=${encodeURIComponent(options.clientId ?? randomUUID().replace(/-/g, ''))}`;
  const timeoutMs = options.connectTimeoutMs ?? 5_000;
  const pingMs = options.pingIntervalMs ?? 15_000;
  const msgFns = new Set<(m: ComfyWsMessage) => void>();
  const binFns = new Set<(f: ComfyBinaryFrame) => void>();
  const closeFns = new Set<(info: { code: number; reason: string; byUs: boolean }) => void>();

  return new Promise<ComfySocket>((resolve, reject) => {
    const ws = new WebSocket(wsUrl, {
      handshakeTimeout: timeoutMs,
      perMessageDeflate: false,
      maxPayload: options.maxPayload ?? DEFAULT_WS_MAX_PAYLOAD,
    });
    let settled = false;
    let byUs = false;
    let isOpen = true;
    let serverFlags: JsonObject = {};
    let sid = '';
    let missedPongs = 0;
    let pinger: NodeJS.Timeout | undefined;
    const closed = new Promise<void>((r) => ws.once('close', () => r()));

    const timer = setTimeout(
      () =>
        fail(
          new ComfyUnreachableError(base, 'timeout', `no WebSocket status message within ${timeoutMs} ms`),
        ),
      timeoutMs,
    );

    function fail(err: Error): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      byUs = true;
      ws.terminate();
      reject(err);
    }

    const api: ComfySocket = {
      get clientId() {
        return sid;
      },
      get serverFlags() {
        return serverFlags;
      },
      get open() {
        return isOpen;
      },
      onMessage(fn) {
        msgFns.add(fn);
        return () => msgFns.delete(fn);
      },
      onBinary(fn) {
        binFns.add(fn);
        return () => binFns.delete(fn);
      },
      onClose(fn) {
        closeFns.add(fn);
        return () => closeFns.delete(fn);
      },
      async close() {
        byUs = true;
        if (ws.readyState === WebSocket.CLOSED) return;
        ws.close(1000);
        const t = setTimeout(() => ws.terminate(), 1_000);
        await closed;
        clearTimeout(t);
      },
    };

    ws.on('open', () => {
      // The server examines only the first client text frame (docs/comfyui.md, "WebSocket").
      if (options.previewMetadata ?? true) {
        ws.send(JSON.stringify({ type: 'feature_flags', data: { supports_preview_metadata: true } }));
      }
      if (pingMs > 0) {
        pinger = setInterval(() => {
          if (missedPongs >= 2) {
            ws.terminate();
            return;
          }
          missedPongs++;
          ws.ping();
        }, pingMs);
        pinger.unref();
      }
    });
    ws.on('pong', () => {
      missedPongs = 0;
    });
    ws.on('message', (data, isBinary) => {
      const buf = Array.isArray(data)
        ? Buffer.concat(data)
        : Buffer.isBuffer(data)
          ? data
          : Buffer.from(data);
      if (isBinary) {
        const f = parseBinaryFrame(buf, serverFlags['supports_progress_text_metadata'] === true);
        if (f) for (const fn of binFns) fn(f);
        return;
      }
      const m = parseWsText(buf.toString('utf8'));
      if (!m) return;
      if (m.type === 'feature_flags') serverFlags = m.data;
      if (!settled && m.type === 'status' && m.data.sid) {
        sid = m.data.sid;
        settled = true;
        clearTimeout(timer);
        resolve(api);
      }
      for (const fn of msgFns) fn(m);
    });
    ws.on('error', (err) => {
      if (!settled) {
        const reason = classifyNetworkError(err);
        fail(
          reason
            ? new ComfyUnreachableError(base, reason, err.message, { cause: err })
            : new ComfyUnreachableError(base, 'other', `WebSocket ${wsUrl}: ${err.message}`, { cause: err }),
        );
      }
    });
    ws.on('close', (code, reason) => {
      isOpen = false;
      if (pinger) clearInterval(pinger);
      if (!settled)
        fail(
          new ComfyUnreachableError(
            base,
            'reset',
            `WebSocket closed before the first status message (code ${code})`,
          ),
        );
      for (const fn of closeFns) fn({ code, reason: reason.toString('utf8'), byUs });
    });
  });
}
