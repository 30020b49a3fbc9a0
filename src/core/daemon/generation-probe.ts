/**
 * Which daemon generation answers on a port? Implements docs/daemon-protocol.md §7 exactly: probe with
 * the CURRENT framing first; only after a reset, a close, or a 4-byte-framed reply, confirm LEGACY
 * with a FRESH connection sending a 4-byte-framed `health`. Never the reverse order: a 4-byte
 * request makes a current daemon wait forever for an enormous body.
 */
import type { DaemonError } from './errors.js';
import { exchange } from './luna-client.js';
import { encodePickle, type PickleValue } from './pickle-encode.js';

/** What answers on the port. `none`: nothing listens. `not-luna`: something that is not a Luna daemon. */
export type ProbedGeneration = 'current' | 'legacy' | 'not-luna' | 'none';

/** Result of {@link probeGeneration}; `detail` says why, for logs and the UI. */
export interface ProbeResult {
  generation: ProbedGeneration;
  detail: string;
}

/** Options of {@link probeGeneration}. */
export interface ProbeOptions {
  host?: string;
  port: number;
  /** Overall deadline for both steps (default 2000 ms). */
  timeoutMs?: number;
  /** Abort the probe: it then rejects with `DaemonError('aborted')`. */
  signal?: AbortSignal;
  /** Largest reply accepted (default 1 MiB: liveness replies are tiny). */
  maxFrameBytes?: number;
}

function isRec(v: PickleValue): v is { [k: string]: PickleValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function describe(v: PickleValue): string {
  try {
    const s = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
    return s.length > 120 ? `${s.slice(0, 117)}...` : s;
  } catch {
    return typeof v;
  }
}

/** Probe `host:port` (docs/daemon-protocol.md §7). Resolves within `timeoutMs` (plus scheduling) and never hangs. */
export async function probeGeneration(opts: ProbeOptions): Promise<ProbeResult> {
  const host = opts.host ?? '127.0.0.1';
  const { port } = opts;
  const timeoutMs = opts.timeoutMs ?? 2000;
  const maxFrameBytes = opts.maxFrameBytes ?? 1024 * 1024;
  const deadline = performance.now() + timeoutMs;
  const remaining = (): number => Math.max(1, Math.round(deadline - performance.now()));
  const where = `${host}:${port}`;
  const base = { host, port, maxFrameBytes, ...(opts.signal ? { signal: opts.signal } : {}) };

  // Step 1: an 8-byte-framed ping.
  let suspectLegacy: string;
  try {
    const t = remaining();
    const { value } = await exchange(encodePickle({ cmd: 'ping' }), {
      ...base,
      generation: 'current',
      connectTimeoutMs: t,
      timeoutMs: t,
    });
    if (isRec(value) && value.pong === true) {
      return { generation: 'current', detail: `${where} answered an 8-byte-framed ping with pong` };
    }
    return {
      generation: 'not-luna',
      detail: `${where} answered ping with an unexpected value: ${describe(value)}`,
    };
  } catch (e) {
    const err = e as DaemonError;
    switch (err.code) {
      case 'aborted':
        throw err;
      case 'refused':
        return { generation: 'none', detail: err.message };
      case 'wrong-generation':
        suspectLegacy = `${where} sent a 4-byte-framed reply to an 8-byte-framed ping`;
        break;
      case 'reset':
        // A legacy server closes with our unread bytes in its buffer: an RST (docs/daemon-protocol.md §7 step 4).
        suspectLegacy = `${where} reset the connection after an 8-byte-framed ping`;
        break;
      case 'closed':
        suspectLegacy = `${where} closed the connection without a complete reply`;
        break;
      default:
        // Timeouts (a silent server), garbage, oversized frames (an HTTP banner read as a length) …
        return {
          generation: 'not-luna',
          detail: `${where} did not answer ping like a Luna daemon: ${err.message}`,
        };
    }
  }

  // Step 2: confirm legacy on a FRESH connection with a 4-byte-framed health.
  if (deadline - performance.now() < 1) {
    return { generation: 'not-luna', detail: `${suspectLegacy}; no time left to confirm a legacy daemon` };
  }
  try {
    const t = remaining();
    const { value } = await exchange(encodePickle({ cmd: 'health' }), {
      ...base,
      generation: 'legacy',
      connectTimeoutMs: t,
      timeoutMs: t,
    });
    if (isRec(value) && value.status === 'ok') {
      const st = typeof value.service_type === 'string' ? ` (service type ${value.service_type})` : '';
      return { generation: 'legacy', detail: `${suspectLegacy}; a 4-byte-framed health answered ok${st}` };
    }
    return {
      generation: 'not-luna',
      detail: `${suspectLegacy}; health answered an unexpected value: ${describe(value)}`,
    };
  } catch (e) {
    const err = e as DaemonError;
    if (err.code === 'aborted') throw err;
    if (err.code === 'refused') {
      // The listener went away between the two connections.
      return { generation: 'none', detail: `${suspectLegacy}; then ${err.message}` };
    }
    return {
      generation: 'not-luna',
      detail: `${suspectLegacy}; the legacy health check failed: ${err.message}`,
    };
  }
}
