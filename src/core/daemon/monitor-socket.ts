/**
 * Client of the daemon's WebSocket monitor (docs/daemon-protocol.md §10, default port 19285): a
 * `status` message right after the handshake and then every second, plus `scaling` events.
 *
 * The server is a hand-written RFC 6455 subset, so: parse tolerantly (`Infinity` is sent as a bare
 * token), send no pings (a masked ping leaves its mask key unread and desynchronises the stream),
 * keep client frames tiny, and expect abrupt closes (code 1006). The server drops a client that has
 * sent nothing for one second, so one connection is kept for its whole life by sending
 * {@link MONITOR_KEEPALIVE_FRAME} every {@link MONITOR_KEEPALIVE_MS}. No Origin header is sent.
 */
import { Buffer } from 'node:buffer';

import WebSocket from 'ws';

import type { DaemonInfo } from '../../shared/daemon-info.js';
import type { Generation } from '../../shared/daemon-status.js';

import { normalizeInfo } from './normalize-info.js';

/** Default monitor port (docs/daemon-protocol.md §2). */
export const DEFAULT_MONITOR_PORT = 19285;

/**
 * How often the feed sends {@link MONITOR_KEEPALIVE_FRAME} to stay connected: the daemon drops a
 * client whose socket stays silent for its 1 s read timeout (docs/daemon-protocol.md §10), and a
 * client sending every 0.5–0.8 s was observed to stay.
 */
export const MONITOR_KEEPALIVE_MS = 600;

/**
 * The keep-alive: any frame read within the daemon's 1 s timeout keeps the client, and JSON other
 * than `get_status` is read and ignored (docs/daemon-protocol.md §10). `get_status` would add an
 * immediate status reply to every keep-alive, 1.7 extra messages a second per daemon to receive and
 * parse for nothing (bench: multi-daemon); an empty object gets none.
 */
export const MONITOR_KEEPALIVE_FRAME = '{}';

/** Options of {@link createMonitorSocket}. */
export interface MonitorSocketOptions {
  host?: string;
  port?: number;
  /** Every `status` message, normalised, with the daemon's raw `data`. */
  onStatus: (info: DaemonInfo, raw: Record<string, unknown>) => void;
  /** `scaling` events (pool scale-up/down). `vram_available_gb` may be null (it was `Infinity`). */
  onScaling?: (data: Record<string, unknown>) => void;
  /** Called with true after each handshake and false after each close. */
  onConnectionChange?: (connected: boolean) => void;
  /** Largest accepted message (default 4 MiB); a larger one closes the socket, which then reconnects. */
  maxPayloadBytes?: number;
  /** Reconnect backoff: starts at `initialMs` (default 500), doubles up to `maxMs` (default 10,000). */
  reconnect?: { initialMs?: number; maxMs?: number };
  /** Which info format to expect; by default detected per message (`uptime_sec` vs `uptime_seconds`). */
  generation?: Generation;
  /** Handshake timeout (default 5000 ms). */
  handshakeTimeoutMs?: number;
  /** Keep-alive period (default {@link MONITOR_KEEPALIVE_MS}); 0 sends nothing (the daemon then drops us). */
  keepAliveMs?: number;
}

/** Handle returned by {@link createMonitorSocket}. */
export interface MonitorSocket {
  /** Ask for an immediate `status` (sends `{"type": "get_status"}`); false when not connected. */
  requestStatus(): boolean;
  /** Close for good: no reconnects, and no callbacks after a final `onConnectionChange(false)` (if connected). */
  dispose(): void;
  readonly connected: boolean;
  /** Messages ignored because they were not valid JSON objects (counted, never thrown). */
  readonly invalidMessages: number;
}

/**
 * Replace the bare tokens `Infinity`, `-Infinity` and `NaN` OUTSIDE strings with `null`, so Python's
 * `json.dumps` output parses (docs/daemon-protocol.md §10 pitfall). Text inside strings is never touched.
 */
export function sanitizeNonFiniteJson(text: string): string {
  let out = '';
  let last = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) {
      inString = true;
    } else if (c === 0x49 /* I */ && text.startsWith('Infinity', i)) {
      const start = text.charCodeAt(i - 1) === 0x2d /* - */ ? i - 1 : i;
      out += text.slice(last, start) + 'null';
      i += 7;
      last = i + 1;
    } else if (c === 0x4e /* N */ && text.startsWith('NaN', i)) {
      out += text.slice(last, i) + 'null';
      i += 2;
      last = i + 1;
    }
  }
  return last === 0 ? text : out + text.slice(last);
}

/**
 * Deepest nesting accepted in a monitor message. Real messages are 4 levels deep; a hostile one
 * nested 500,000 deep parses fine but overflows the stack of every recursive consumer (the info
 * normaliser, `JSON.stringify` of the snapshot, structured clone over IPC), crashing the host.
 */
export const MAX_MONITOR_MESSAGE_DEPTH = 64;

/**
 * True when `text` cannot nest deeper than `limit`: it has at most `limit` opening brackets in all
 * (brackets inside strings only make the count larger, so the answer stays safe). Real messages
 * have about fifteen, and a few native `indexOf` calls are much cheaper than walking the parsed
 * value, which matters for a message that arrives every second (bench: idle).
 */
function fewBrackets(text: string, limit: number): boolean {
  let n = 0;
  for (const open of ['{', '[']) {
    for (let i = text.indexOf(open); i !== -1; i = text.indexOf(open, i + 1)) if (++n > limit) return false;
  }
  return true;
}

/** True when `v` nests objects/arrays more than `limit` levels deep (iterative: no recursion). */
function nestedDeeperThan(v: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[v, 1]];
  while (stack.length > 0) {
    const [x, depth] = stack.pop()!;
    if (depth > limit) return true;
    for (const child of Array.isArray(x) ? x : Object.values(x as object)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

/**
 * Parse a monitor message tolerantly; undefined when it is not a JSON object, or nests deeper than
 * {@link MAX_MONITOR_MESSAGE_DEPTH}.
 */
export function parseMonitorMessage(text: string): Record<string, unknown> | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    try {
      v = JSON.parse(sanitizeNonFiniteJson(text));
    } catch {
      return undefined;
    }
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  if (fewBrackets(text, MAX_MONITOR_MESSAGE_DEPTH)) return v as Record<string, unknown>;
  return nestedDeeperThan(v, MAX_MONITOR_MESSAGE_DEPTH) ? undefined : (v as Record<string, unknown>);
}

/** A status message with its uptime value cut out, and where the uptime lives. */
interface UptimeSplit {
  /** The message text without the uptime field. */
  rest: string;
  key: 'uptime_sec' | 'uptime_seconds';
  value: number;
}

/** A JSON number as `json.dumps` writes a float or an int (no `NaN`/`Infinity`: those are tokens). */
const JSON_NUMBER = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * Split the one `"uptime_sec": <number>` (current) or `"uptime_seconds": <number>` (legacy) field
 * out of a message; null when there is none, more than one, or its value is not a plain number.
 * Native `indexOf` calls only: this runs for every feed message.
 */
function splitUptime(text: string): UptimeSplit | null {
  const at = text.indexOf('"uptime_sec');
  if (at === -1 || text.indexOf('"uptime_sec', at + 1) !== -1) return null;
  let i = at + '"uptime_sec'.length;
  let key: UptimeSplit['key'] = 'uptime_sec';
  if (text.startsWith('onds', i)) {
    key = 'uptime_seconds';
    i += 4;
  }
  if (!text.startsWith('":', i)) return null;
  i += 2;
  while (text.charCodeAt(i) === 0x20) i++;
  const start = i;
  const comma = text.indexOf(',', start);
  const brace = text.indexOf('}', start);
  const end = comma === -1 ? brace : brace === -1 ? comma : Math.min(comma, brace);
  if (end === -1) return null;
  const literal = text.slice(start, end).trimEnd();
  if (!JSON_NUMBER.test(literal)) return null;
  const value = Number(literal);
  if (!Number.isFinite(value)) return null;
  return { rest: text.slice(0, at) + text.slice(start + literal.length), key, value };
}

/** The last status message, for {@link repeatedStatus}. */
export interface StatusMemo {
  /** Its text without the uptime field. */
  rest: string;
  key: 'uptime_sec' | 'uptime_seconds';
  info: DaemonInfo;
  raw: Record<string, unknown>;
}

/**
 * Remember a fully parsed status message so that its repeats can skip parsing. Only when the text
 * has exactly one uptime field and it is the top-level one the info was built from.
 */
export function memoStatus(text: string, info: DaemonInfo, raw: Record<string, unknown>): StatusMemo | null {
  const split = splitUptime(text);
  if (!split || raw[split.key] !== split.value) return null;
  const ownKey = info.generation === 'current' ? 'uptime_sec' : 'uptime_seconds';
  if (split.key !== ownKey) return null;
  return { rest: split.rest, key: split.key, info, raw };
}

/**
 * An idle daemon sends the same status every second with only its uptime moving. When `text` is
 * the memo's message with nothing but another uptime, return what a full parse and
 * {@link normalizeInfo} would give (a new info and raw object, the uptime replaced) without doing
 * either; otherwise null. This is most of the feed's per-message cost on an idle daemon (bench: idle).
 */
export function repeatedStatus(
  text: string,
  memo: StatusMemo,
): { info: DaemonInfo; raw: Record<string, unknown> } | null {
  const split = splitUptime(text);
  if (!split || split.key !== memo.key || split.rest !== memo.rest) return null;
  const raw = { ...memo.raw, [split.key]: split.value };
  return { info: { ...memo.info, uptimeSec: split.value, raw }, raw };
}

function detectGeneration(data: Record<string, unknown>): Generation {
  return 'uptime_sec' in data || !('uptime_seconds' in data || 'version' in data) ? 'current' : 'legacy';
}

/** Connect to the monitor and keep reconnecting (with backoff) until disposed. */
export function createMonitorSocket(opts: MonitorSocketOptions): MonitorSocket {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? DEFAULT_MONITOR_PORT;
  const url = `ws://${host.includes(':') ? `[${host}]` : host}:${port}/`;
  const initialMs = opts.reconnect?.initialMs ?? 500;
  const maxMs = opts.reconnect?.maxMs ?? 10_000;
  let delay = initialMs;
  let ws: WebSocket | undefined;
  let timer: NodeJS.Timeout | undefined;
  let disposed = false;
  let connected = false;
  let invalid = 0;
  /** The last status message in full, to recognise its repeats cheaply. */
  let memo: StatusMemo | null = null;
  let keepAlive: NodeJS.Timeout | undefined;
  const keepAliveMs = opts.keepAliveMs ?? MONITOR_KEEPALIVE_MS;
  const stopKeepAlive = (): void => {
    if (keepAlive) clearInterval(keepAlive);
    keepAlive = undefined;
  };

  const setConnected = (c: boolean): void => {
    if (connected === c) return;
    connected = c;
    opts.onConnectionChange?.(c);
  };

  const onMessage = (data: WebSocket.RawData, isBinary: boolean): void => {
    if (disposed) return;
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    const text = isBinary ? undefined : buf.toString('utf8');
    const repeat = text !== undefined && memo ? repeatedStatus(text, memo) : null;
    if (repeat) {
      memo = { ...memo!, info: repeat.info, raw: repeat.raw };
      try {
        opts.onStatus(repeat.info, repeat.raw);
      } catch {
        invalid++;
      }
      return;
    }
    const msg = text === undefined ? undefined : parseMonitorMessage(text);
    if (!msg || typeof msg.type !== 'string') {
      invalid++;
      return;
    }
    const payload = msg.data;
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      invalid++;
      return;
    }
    const raw = payload as Record<string, unknown>;
    try {
      if (msg.type === 'status') {
        // Parsed from JSON: already JSON-safe, no deep copy needed (a per-second saving).
        const info = normalizeInfo(raw, opts.generation ?? detectGeneration(raw), { jsonSafe: true });
        memo = memoStatus(text!, info, raw);
        opts.onStatus(info, raw);
      } else if (msg.type === 'scaling') {
        opts.onScaling?.(raw);
      }
    } catch {
      // This runs inside the socket's 'message' event: a throw here would be an uncaught exception
      // that takes the whole host down. A message nothing can digest is just an invalid message.
      invalid++;
    }
    // Other types (`request`, `error` in docstrings) are never sent; ignore them (docs/daemon-protocol.md §10).
  };

  const scheduleReconnect = (): void => {
    if (disposed || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      connect();
    }, delay);
    delay = Math.min(maxMs, delay * 2);
  };

  function connect(): void {
    if (disposed) return;
    const sock = new WebSocket(url, {
      maxPayload: opts.maxPayloadBytes ?? 4 * 1024 * 1024,
      perMessageDeflate: false,
      handshakeTimeout: opts.handshakeTimeoutMs ?? 5000,
    });
    ws = sock;
    sock.on('open', () => {
      if (disposed) return;
      delay = initialMs;
      setConnected(true);
      stopKeepAlive();
      if (keepAliveMs > 0) {
        keepAlive = setInterval(() => {
          if (ws !== sock || sock.readyState !== WebSocket.OPEN) return;
          sock.send(MONITOR_KEEPALIVE_FRAME);
        }, keepAliveMs);
      }
    });
    sock.on('message', onMessage);
    // Errors are always followed by 'close'; the reconnect happens there.
    sock.on('error', () => undefined);
    sock.on('close', () => {
      if (ws === sock) {
        ws = undefined;
        stopKeepAlive();
      }
      if (disposed) return;
      setConnected(false);
      scheduleReconnect();
    });
  }

  connect();

  return {
    requestStatus(): boolean {
      if (!ws || ws.readyState !== WebSocket.OPEN) return false;
      ws.send('{"type": "get_status"}');
      return true;
    },
    dispose(): void {
      if (disposed) return;
      disposed = true;
      stopKeepAlive();
      if (timer) clearTimeout(timer);
      timer = undefined;
      const sock = ws;
      ws = undefined;
      // terminate(): no close handshake; the server would answer a close frame with a bare TCP close anyway.
      sock?.terminate();
      if (connected) {
        connected = false;
        opts.onConnectionChange?.(false);
      }
    },
    get connected() {
      return connected;
    },
    get invalidMessages() {
      return invalid;
    },
  };
}
