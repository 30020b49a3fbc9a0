/**
 * Client of the Luna daemon's socket protocol (docs/daemon-protocol.md §5, §8).
 *
 * One new TCP connection per request (what the repository's own client does, and what the legacy
 * server requires, §5.2). Every request has a connect timeout, a reply timeout and an AbortSignal;
 * on timeout or abort the socket is destroyed.
 */
import net from 'node:net';

import { z } from 'zod';

import type { DaemonInfo } from '../../shared/daemon-info.js';
import type { Generation } from '../../shared/daemon-status.js';

import { DaemonError, fromSocketError } from './errors.js';
import { DEFAULT_MAX_FRAME_BYTES, FrameReader, encodeFrame, looksLikeLegacyFrame } from './framing.js';
import { DEFAULT_MAX_DEPTH, decodePickle } from './pickle-decode.js';
import { encodePickle, type PickleValue } from './pickle-encode.js';
import { normalizeInfo } from './normalize-info.js';

/** Default daemon address (docs/daemon-protocol.md §2). */
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 19283;

/** Options of one low-level exchange. */
export interface ExchangeOptions {
  host: string;
  port: number;
  generation: Generation;
  /** Connect timeout (default 2000 ms). */
  connectTimeoutMs?: number;
  /** Reply timeout, counted from the completed connect (default 10,000 ms). */
  timeoutMs?: number;
  maxFrameBytes?: number;
  maxDepth?: number;
  signal?: AbortSignal;
}

/** A decoded reply and what was observed on the wire. */
export interface ExchangeResult {
  value: PickleValue;
  /** Bytes of the reply frame, header included. */
  bytes: number;
  latencyMs: number;
}

/**
 * Send one framed request body and read one framed reply on a fresh connection, then close it.
 * Rejects only with {@link DaemonError}.
 */
export function exchange(body: Uint8Array, o: ExchangeOptions): Promise<ExchangeResult> {
  const connectTimeoutMs = o.connectTimeoutMs ?? 2000;
  const timeoutMs = o.timeoutMs ?? 10_000;
  const maxFrameBytes = o.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const where = `${o.host}:${o.port}`;
  return new Promise<ExchangeResult>((resolve, reject) => {
    if (o.signal?.aborted) {
      reject(
        new DaemonError('aborted', `request to ${where} aborted before it started`, {
          cause: o.signal.reason,
        }),
      );
      return;
    }
    const started = performance.now();
    const reader = new FrameReader({ generation: o.generation, maxFrameBytes });
    /** The first bytes received, kept to recognise the other generation's framing (docs/daemon-protocol.md §7). */
    let head = Buffer.alloc(0);
    let received = 0;
    let connected = false;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const socket = net.connect({ host: o.host, port: o.port });
    socket.setNoDelay(true);

    const onAbort = (): void =>
      finish(new DaemonError('aborted', `request to ${where} aborted`, { cause: o.signal?.reason }));
    o.signal?.addEventListener('abort', onAbort, { once: true });

    const legacyReplyTo = (cause: unknown): DaemonError | undefined => {
      if (o.generation !== 'current' || !looksLikeLegacyFrame(head, maxFrameBytes)) return undefined;
      return new DaemonError(
        'wrong-generation',
        `${where} answered with 4-byte framing: it is a LEGACY Luna daemon (server.py), not the current one (docs/daemon-protocol.md §1, §7)`,
        { cause },
      );
    };

    function finish(err: DaemonError | null, value?: PickleValue): void {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err) reject(err);
      else resolve({ value: value as PickleValue, bytes: received, latencyMs: performance.now() - started });
    }

    timer = setTimeout(
      () =>
        finish(new DaemonError('timeout', `connecting to ${where} timed out after ${connectTimeoutMs} ms`)),
      connectTimeoutMs,
    );
    socket.once('connect', () => {
      connected = true;
      if (timer) clearTimeout(timer);
      timer = setTimeout(
        () =>
          finish(
            new DaemonError(
              'timeout',
              `${where} did not reply within ${timeoutMs} ms` +
                (received > 0 ? ` (${received} bytes of a reply received)` : ''),
            ),
          ),
        timeoutMs,
      );
      socket.write(encodeFrame(body, o.generation));
    });
    socket.on('data', (chunk: Buffer) => {
      if (settled) return;
      received += chunk.length;
      if (head.length < 16) head = Buffer.concat([head, chunk.subarray(0, 16 - head.length)]);
      let frames: Buffer[];
      try {
        frames = reader.push(chunk);
      } catch (e) {
        finish(legacyReplyTo(e) ?? (e as DaemonError));
        return;
      }
      const frame = frames[0];
      if (!frame) return;
      try {
        finish(null, decodePickle(frame, { maxDepth: o.maxDepth ?? DEFAULT_MAX_DEPTH }));
      } catch (e) {
        finish(e as DaemonError);
      }
    });
    socket.on('error', (e) => finish(legacyReplyTo(e) ?? fromSocketError(e, o.host, o.port, connected)));
    socket.on('close', () =>
      finish(
        legacyReplyTo(undefined) ??
          new DaemonError(
            'closed',
            `${where} closed the connection ${received > 0 ? `after ${received} bytes, ` : ''}before a complete reply`,
          ),
      ),
    );
  });
}

/**
 * Encoded bodies of parameterless requests (`ping`, `get_info`, …), by command: the health checks
 * send the same bytes again and again, and encoding them each time was a visible part of a ping.
 */
const bodyCache = new Map<string, Uint8Array>();
const BODY_CACHE_MAX = 64;

/** The pickled request `{...params, cmd}`; cached when there are no parameters. */
function requestBody(cmd: string, params: Record<string, PickleValue | undefined>): Uint8Array {
  for (const k in params)
    if (Object.hasOwn(params, k)) return encodePickle({ ...params, cmd }, { protocol: 4 });
  let body = bodyCache.get(cmd);
  if (!body) {
    body = encodePickle({ cmd }, { protocol: 4 });
    if (bodyCache.size < BODY_CACHE_MAX) bodyCache.set(cmd, body);
  }
  return body;
}

/** Options of {@link LunaClient}. */
export interface LunaClientOptions {
  host?: string;
  port?: number;
  /** Protocol generation (default `'current'`); see `probeGeneration` to find out. */
  generation?: Generation;
  /** Connect timeout per request (default 2000 ms). */
  connectTimeoutMs?: number;
  /** Reply timeout per request (default 10,000 ms). */
  timeoutMs?: number;
  /** Largest reply frame accepted (default 64 MiB). */
  maxFrameBytes?: number;
  /** Deepest reply nesting accepted (default 256). */
  maxDepth?: number;
}

/** Per-call options. */
export interface RequestOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** A decoded reply dict. */
export type Reply = { [key: string]: PickleValue };

/** Result of {@link LunaClient.ping}. `time` is the daemon's epoch seconds (null for legacy `health`). */
export interface PingResult {
  latencyMs: number;
  time: number | null;
}

/** Result of {@link LunaClient.devices} (`get_devices`, docs/daemon-protocol.md §8.1). */
export interface DevicesResult {
  devices: { clip?: string; vae?: string; llm?: string };
  availableGpus: string[];
  hasCuda: boolean;
}

/** Result of {@link LunaClient.setDevice}. */
export interface SetDeviceResult {
  oldDevice: string;
  newDevice: string;
  message: string;
}

/** Attention modes the current daemon accepts (docs/daemon-protocol.md §8.1: `sage` and `xformers` are rejected). */
export type AttentionMode = 'auto' | 'flash' | 'split' | 'pytorch';

/** Result of {@link LunaClient.loraCacheStats} (`lora_cache_stats`, docs/daemon-protocol.md §8.1). */
export interface LoraCacheStats {
  entries: number;
  sizeMb: number;
  maxSizeMb: number;
  hits: number;
  misses: number;
  hitRatePercent: number;
  cachedLoras: string[];
}

const num = z.union([z.number(), z.bigint().transform((v) => Number(v))]);
const pingReply = z.object({ pong: z.literal(true), time: num });
const healthReply = z.object({ status: z.literal('ok') });
const unloadReply = z.object({ unloaded: z.array(z.string()).default([]), message: z.string().default('') });
const messageReply = z.object({ message: z.string().default('') });
const devicesReply = z.object({
  devices: z
    .object({ clip: z.string().optional(), vae: z.string().optional(), llm: z.string().optional() })
    .default({}),
  available_gpus: z.array(z.string()).default([]),
  has_cuda: z.boolean().default(false),
});
const setDeviceReply = z.object({
  old_device: z.string(),
  new_device: z.string(),
  message: z.string().default(''),
});
const attentionReply = z.object({ mode: z.string(), message: z.string().default('') });
const loraReply = z.object({
  entries: num.default(0),
  size_mb: num.default(0),
  max_size_mb: num.default(0),
  hits: num.default(0),
  misses: num.default(0),
  hit_rate_percent: num.default(0),
  cached_loras: z.array(z.string()).default([]),
});

/**
 * Typed client of one Luna daemon. Methods reject with {@link DaemonError} only; a reply carrying
 * `error` or `success: False` is a `daemon-error`, never a fake success.
 */
export class LunaClient {
  readonly host: string;
  readonly port: number;
  readonly generation: Generation;
  private readonly opts: Required<Omit<LunaClientOptions, 'host' | 'port' | 'generation'>>;

  constructor(options: LunaClientOptions = {}) {
    this.host = options.host ?? DEFAULT_HOST;
    this.port = options.port ?? DEFAULT_PORT;
    this.generation = options.generation ?? 'current';
    if (!Number.isInteger(this.port) || this.port <= 0 || this.port > 65535) {
      throw new RangeError(`LunaClient: port must be an integer 1–65535, got ${String(options.port)}`);
    }
    this.opts = {
      connectTimeoutMs: options.connectTimeoutMs ?? 2000,
      timeoutMs: options.timeoutMs ?? 10_000,
      maxFrameBytes: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      maxDepth: options.maxDepth ?? DEFAULT_MAX_DEPTH,
    };
  }

  /**
   * Send `{"cmd": cmd, ...params}` and return the decoded reply dict. Throws `daemon-error` for a
   * reply with an `error` key or `success: False`, and `garbage` when the reply is not a dict.
   */
  async request(
    cmd: string,
    params: Record<string, PickleValue | undefined> = {},
    options: RequestOptions = {},
  ): Promise<Reply> {
    const { value } = await this.requestRaw(cmd, params, options);
    if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
      throw new DaemonError('garbage', `reply to "${cmd}" is not a dict`);
    }
    const reply = value;
    if (Object.hasOwn(reply, 'error') || reply.success === false) {
      const err = reply.error;
      let text: string;
      if (typeof err === 'string' && err !== '') text = err;
      else if (err === undefined && typeof reply.message === 'string' && reply.message !== '')
        text = reply.message;
      else if (err === '' || err === undefined || err === null) {
        // A pool timeout answers {"error": ""} (docs/daemon-protocol.md §5.4).
        text = '(empty error message: probably a daemon-side timeout, docs/daemon-protocol.md §5.4)';
      } else text = JSON.stringify(err, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
      throw new DaemonError('daemon-error', `the daemon rejected "${cmd}": ${text}`);
    }
    return reply;
  }

  /** Like {@link request} without any checks on the reply; also returns timing. */
  async requestRaw(
    cmd: string,
    params: Record<string, PickleValue | undefined> = {},
    options: RequestOptions = {},
  ): Promise<ExchangeResult> {
    const body = requestBody(cmd, params);
    const base: ExchangeOptions = {
      host: this.host,
      port: this.port,
      generation: this.generation,
      connectTimeoutMs: this.opts.connectTimeoutMs,
      timeoutMs: options.timeoutMs ?? this.opts.timeoutMs,
      maxFrameBytes: this.opts.maxFrameBytes,
      maxDepth: this.opts.maxDepth,
    };
    try {
      return await exchange(body, options.signal ? { ...base, signal: options.signal } : base);
    } catch (e) {
      throw await this.diagnoseMismatch(e as DaemonError, options.signal);
    }
  }

  /**
   * A generation mismatch shows up as a reset (current client → legacy server, which closes with
   * unread bytes, docs/daemon-protocol.md §7 step 4) or as a timeout (legacy client → current server, which waits for
   * an enormous body, docs/daemon-protocol.md §7). Confirm with the other generation's liveness command and a short
   * timeout; the confirmation itself never sends 4-byte framing to a server we think is current.
   */
  private async diagnoseMismatch(err: DaemonError, signal?: AbortSignal): Promise<DaemonError> {
    const suspicious =
      (this.generation === 'current' && err.code === 'reset') ||
      (this.generation === 'legacy' && err.code === 'timeout');
    if (!suspicious || signal?.aborted) return err;
    const other: Generation = this.generation === 'current' ? 'legacy' : 'current';
    const cmd = other === 'current' ? 'ping' : 'health';
    try {
      const { value } = await exchange(encodePickle({ cmd }), {
        host: this.host,
        port: this.port,
        generation: other,
        connectTimeoutMs: this.opts.connectTimeoutMs,
        timeoutMs: Math.min(1000, this.opts.timeoutMs),
        maxFrameBytes: this.opts.maxFrameBytes,
        ...(signal ? { signal } : {}),
      });
      const ok =
        other === 'current' ? pingReply.safeParse(value).success : healthReply.safeParse(value).success;
      if (!ok) return err;
      return new DaemonError(
        'wrong-generation',
        `${this.host}:${this.port} is a ${other.toUpperCase()} Luna daemon, but this client speaks the ${this.generation} protocol (docs/daemon-protocol.md §1, §7)`,
        { cause: err },
      );
    } catch {
      // The confirmation failed too: the original error is the honest answer.
      return err;
    }
  }

  private parse<T>(cmd: string, schema: z.ZodType<T>, reply: Reply): T {
    const r = schema.safeParse(reply);
    if (!r.success) {
      throw new DaemonError(
        'garbage',
        `unexpected reply to "${cmd}": ${r.error.issues[0]?.message ?? 'invalid'}`,
        {
          cause: r.error,
        },
      );
    }
    return r.data;
  }

  private unsupported(what: string): never {
    throw new DaemonError(
      'unsupported',
      `the legacy Luna daemon has no "${what}" command (docs/daemon-protocol.md §8.4)`,
    );
  }

  /** Liveness round trip: current `ping`, legacy `health` (docs/daemon-protocol.md §4). */
  async ping(options: RequestOptions = {}): Promise<PingResult> {
    if (this.generation === 'legacy') {
      const t0 = performance.now();
      const reply = await this.request('health', {}, options);
      this.parse('health', healthReply, reply);
      return { latencyMs: performance.now() - t0, time: null };
    }
    const t0 = performance.now();
    const reply = await this.request('ping', {}, options);
    const r = this.parse('ping', pingReply, reply);
    return { latencyMs: performance.now() - t0, time: r.time };
  }

  /** Normalised daemon info: current `get_info`, legacy `info`. */
  async info(options: RequestOptions = {}): Promise<DaemonInfo> {
    const reply = await this.request(this.generation === 'legacy' ? 'info' : 'get_info', {}, options);
    return normalizeInfo(reply, this.generation);
  }

  /** `unload_models` (current only): drops the CLIP pool (docs/daemon-protocol.md §8.1). */
  async unload(options: RequestOptions = {}): Promise<{ unloaded: string[]; message: string }> {
    if (this.generation === 'legacy') this.unsupported('unload_models');
    const reply = await this.request('unload_models', {}, options);
    return this.parse('unload_models', unloadReply, reply);
  }

  /** `shutdown`: the daemon replies at once and exits about 0.5–1.5 s later (docs/daemon-protocol.md §9). */
  async shutdown(options: RequestOptions = {}): Promise<{ message: string }> {
    const reply = await this.request('shutdown', {}, options);
    return this.parse('shutdown', messageReply, reply);
  }

  /** `get_devices` (current only). */
  async devices(options: RequestOptions = {}): Promise<DevicesResult> {
    if (this.generation === 'legacy') this.unsupported('get_devices');
    const r = this.parse('get_devices', devicesReply, await this.request('get_devices', {}, options));
    return { devices: r.devices, availableGpus: r.available_gpus, hasCuda: r.has_cuda };
  }

  /** `set_clip_device` / `set_vae_device` / `set_llm_device` (current only); `device` is `cpu` or `cuda:N`. */
  async setDevice(
    kind: 'clip' | 'vae' | 'llm',
    device: string,
    options: RequestOptions = {},
  ): Promise<SetDeviceResult> {
    const cmd = `set_${kind}_device`;
    if (this.generation === 'legacy') this.unsupported(cmd);
    const r = this.parse(cmd, setDeviceReply, await this.request(cmd, { device }, options));
    return { oldDevice: r.old_device, newDevice: r.new_device, message: r.message };
  }

  /** `set_attention_mode` (current only). Invalid modes come back as `daemon-error`. */
  async setAttentionMode(
    mode: AttentionMode | (string & {}),
    options: RequestOptions = {},
  ): Promise<{ mode: string; message: string }> {
    if (this.generation === 'legacy') this.unsupported('set_attention_mode');
    return this.parse(
      'set_attention_mode',
      attentionReply,
      await this.request('set_attention_mode', { mode }, options),
    );
  }

  /** `lora_cache_stats` (current only). */
  async loraCacheStats(options: RequestOptions = {}): Promise<LoraCacheStats> {
    if (this.generation === 'legacy') this.unsupported('lora_cache_stats');
    const r = this.parse('lora_cache_stats', loraReply, await this.request('lora_cache_stats', {}, options));
    return {
      entries: r.entries,
      sizeMb: r.size_mb,
      maxSizeMb: r.max_size_mb,
      hits: r.hits,
      misses: r.misses,
      hitRatePercent: r.hit_rate_percent,
      cachedLoras: r.cached_loras,
    };
  }
}
