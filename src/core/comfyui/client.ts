/**
 * HTTP client for one ComfyUI instance (docs/comfyui.md, "HTTP routes"). undici with explicit timeouts; no
 * `Origin` header (docs/comfyui.md, "Origin checks"); every JSON reply parsed losslessly (docs/comfyui.md,
 * "Workflow conversion" P15) because history and queue items carry seeds.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import type * as UndiciModule from 'undici';
import type { Agent, Dispatcher, FormData } from 'undici';

import {
  ComfyBadResponseError,
  ComfyHttpError,
  ComfyUnreachableError,
  ComfyValidationError,
  excerpt,
  type ComfyErrorDetail,
  type ComfyNodeError,
  type UnreachableReason,
} from './errors.js';
import {
  isJsonObject,
  jsonText,
  parseJsonLossless,
  stringifyJson,
  type JsonObject,
  type JsonValue,
} from './json.js';

/** Options of {@link ComfyClient}. */
export interface ComfyClientOptions {
  /** Connect timeout, ms (default 3000). */
  connectTimeoutMs?: number;
  /** Time allowed for the reply headers and between body chunks, ms (default 15000). */
  timeoutMs?: number;
  /** Use this dispatcher instead of a private Agent (tests, shared pools). Not closed by `close()`. */
  dispatcher?: Dispatcher;
  /** Largest JSON reply read, bytes (default {@link DEFAULT_MAX_JSON_BYTES}). */
  maxJsonBytes?: number;
  /** Largest reply of the routes that list nodes or embed prompts (/object_info, /queue, /history), bytes (default 64 MiB). */
  maxLargeJsonBytes?: number;
}

/** Default cap of a JSON reply (docs/comfyui.md "Bounded replies"). */
export const DEFAULT_MAX_JSON_BYTES = 8 * 1024 * 1024;
/** Default cap of /object_info, /queue and /history replies. */
export const DEFAULT_MAX_LARGE_JSON_BYTES = 64 * 1024 * 1024;
/** Default cap of one `/view` download. */
export const DEFAULT_MAX_DOWNLOAD_BYTES = 512 * 1024 * 1024;

/** A reply or download exceeded its size cap; the transfer was stopped. */
export class ComfyTooLargeError extends ComfyBadResponseError {
  constructor(
    url: string,
    readonly limitBytes: number,
    what = 'reply',
  ) {
    super(url, `the ${what} is larger than the ${formatSize(limitBytes)} limit; stopped reading it`, '');
  }
}

/** `512 MiB`, `8 MiB`, `300 KiB`. */
export function formatSize(bytes: number): string {
  if (bytes >= 1024 ** 3 && bytes % 1024 ** 3 === 0) return `${bytes / 1024 ** 3} GiB`;
  if (bytes >= 1024 ** 2) return `${+(bytes / 1024 ** 2).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}

/** `512M`, `2G`, `100k`, `1048576`, `64MiB` → bytes; null when not a size. */
export function parseSize(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (!m) return null;
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase()] ?? 1;
  const n = Math.floor(Number(m[1]) * mult);
  return n > 0 && Number.isSafeInteger(n) ? n : null;
}

/** `/system_stats` (docs/comfyui.md, "HTTP routes"); every field beyond the basics is optional. */
export interface ComfySystemStats {
  system: {
    os?: string;
    ram_total?: number;
    ram_free?: number;
    comfyui_version?: string;
    python_version?: string;
    pytorch_version?: string;
    embedded_python?: boolean;
    argv?: string[];
    [key: string]: JsonValue | undefined;
  };
  devices: Array<{
    name: string;
    type: string;
    index: number | null;
    vram_total: number;
    vram_free: number;
    torch_vram_total?: number;
    torch_vram_free?: number;
  }>;
}

/** One queue item, decoded from its positional array (docs/comfyui.md, "HTTP routes"). */
export interface ComfyQueueItem {
  number: number;
  promptId: string;
  prompt: JsonObject;
  extraData: JsonObject;
  outputsToExecute: string[];
}

/** `/queue`, pending sorted into execution order. */
export interface ComfyQueue {
  running: ComfyQueueItem[];
  pending: ComfyQueueItem[];
}

/** One file reference in history outputs (`images`, `gifs`, `audio`, …). */
export interface ComfyFileRef {
  filename: string;
  subfolder: string;
  type: string;
}

/** A history entry (docs/comfyui.md, "HTTP routes"). */
export interface ComfyHistoryEntry {
  prompt: JsonValue[];
  outputs: Record<string, Record<string, JsonValue>>;
  status?: {
    /** `success` or `error` (interrupts are stored as errors, docs/comfyui.md, "HTTP routes"). */
    status_str: string;
    completed: boolean;
    messages: Array<[string, JsonObject]>;
  };
  meta?: Record<string, JsonObject>;
}

/** POST /prompt success (docs/comfyui.md, "HTTP routes"). */
export interface QueuePromptResult {
  promptId: string;
  number: number;
  /** Non-empty when only some outputs validated (partial validity, still queued). */
  nodeErrors: Record<string, ComfyNodeError>;
}

/** POST /prompt options. */
export interface QueuePromptOptions {
  clientId?: string;
  promptId?: string;
  extraData?: JsonObject;
  front?: boolean;
  partialExecutionTargets?: string[];
  /** `{nodeId: title}`, only used to make a validation error readable. */
  titles?: Record<string, string>;
}

/** POST /upload/image input. */
export interface UploadImageOptions {
  /** File bytes or a Blob. */
  data: Uint8Array | Blob;
  /** Target file name (the server uses the part's filename, docs/comfyui.md, "HTTP routes"). */
  filename: string;
  overwrite?: boolean;
  type?: 'input' | 'temp' | 'output';
  subfolder?: string;
}

/** POST /upload/image reply. */
export interface UploadImageResult {
  name: string;
  subfolder: string;
  type: string;
}

/** Node definitions keyed by class (docs/comfyui.md, "HTTP routes"). Kept as lossless JSON. */
export type ObjectInfoMap = Record<string, JsonObject>;

interface RawResponse {
  status: number;
  contentType: string;
  text: string;
}

type Undici = typeof UndiciModule;
let undiciModule: Promise<Undici> | null = null;

/**
 * undici is loaded on the first request, not with this module: it costs ~15 MiB of RSS, and an idle
 * `serve` whose ComfyUI is not running never sends one (the monitor probes with a TCP connect first;
 * docs/benchmarks.md, "idle").
 */
function loadUndici(): Promise<Undici> {
  return (undiciModule ??= import('undici'));
}

/** Client for one ComfyUI base URL. Call `close()` when done (it owns a connection pool). */
export class ComfyClient {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:8188`. */
  readonly url: string;
  /** The caller's dispatcher, or our own Agent once the first request made it (see {@link loadUndici}). */
  private dispatcher: Dispatcher | null;
  private readonly ownsDispatcher: boolean;
  private readonly connectTimeoutMs: number;
  private closed = false;
  private readonly timeoutMs: number;
  private readonly maxJsonBytes: number;
  private readonly maxLargeJsonBytes: number;

  constructor(baseUrl: string, options: ComfyClientOptions = {}) {
    this.url = normalizeBaseUrl(baseUrl);
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.maxJsonBytes = options.maxJsonBytes ?? DEFAULT_MAX_JSON_BYTES;
    this.maxLargeJsonBytes = options.maxLargeJsonBytes ?? DEFAULT_MAX_LARGE_JSON_BYTES;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 3_000;
    this.dispatcher = options.dispatcher ?? null;
    this.ownsDispatcher = !options.dispatcher;
  }

  /** Our dispatcher, made on first use; after `close()` a closed one (requests fail as before). */
  private dispatcherOf(undici: Undici): Dispatcher {
    if (this.dispatcher) return this.dispatcher;
    const agent: Agent = new undici.Agent({
      connect: { timeout: this.connectTimeoutMs },
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      keepAliveTimeout: 2_000,
    });
    if (this.closed) void agent.close();
    this.dispatcher = agent;
    return agent;
  }

  /** GET /system_stats. */
  async systemStats(signal?: AbortSignal): Promise<ComfySystemStats> {
    const v = await this.getJson('/system_stats', signal);
    if (!isJsonObject(v) || !isJsonObject(v['system']) || !Array.isArray(v['devices'])) {
      throw new ComfyBadResponseError(
        this.url + '/system_stats',
        'expected {system, devices}',
        stringifyJson(v),
      );
    }
    return v as unknown as ComfySystemStats;
  }

  /** GET /features (server capability flags). */
  async features(signal?: AbortSignal): Promise<JsonObject> {
    return this.getObject('/features', signal);
  }

  /** GET /prompt → `queue_remaining` (pending + running). */
  async queueRemaining(signal?: AbortSignal): Promise<number> {
    const v = await this.getObject('/prompt', signal);
    const info = v['exec_info'];
    const n = isJsonObject(info) ? info['queue_remaining'] : undefined;
    return typeof n === 'number' ? n : 0;
  }

  /**
   * GET /queue, pending sorted by (number, prompt_id) as the frontend does (docs/comfyui.md, "HTTP routes":
   * the raw heap is unsorted).
   */
  async getQueue(signal?: AbortSignal): Promise<ComfyQueue> {
    const v = await this.getObject('/queue', signal);
    const conv = (a: JsonValue | undefined): ComfyQueueItem[] =>
      (Array.isArray(a) ? a : [])
        .filter((x): x is JsonValue[] => Array.isArray(x))
        .map((item) => decodeQueueItem(item));
    const pending = conv(v['queue_pending']).sort(
      (a, b) => a.number - b.number || (a.promptId < b.promptId ? -1 : 1),
    );
    return { running: conv(v['queue_running']), pending };
  }

  /** POST /queue {clear: true}: drop every pending item (not the running one). */
  async clearQueue(signal?: AbortSignal): Promise<void> {
    await this.postJson('/queue', { clear: true }, signal);
  }

  /** POST /queue {delete: ids}: drop pending items (unknown ids are ignored by the server). */
  async deleteFromQueue(promptIds: string[], signal?: AbortSignal): Promise<void> {
    await this.postJson('/queue', { delete: promptIds }, signal);
  }

  /**
   * POST /prompt. Throws {@link ComfyValidationError} on 400. A 200 with non-empty `nodeErrors` means
   * partial validity: the prompt is queued and only the valid outputs run (docs/comfyui.md, "HTTP routes").
   */
  async queuePrompt(
    prompt: JsonObject,
    options: QueuePromptOptions = {},
    signal?: AbortSignal,
  ): Promise<QueuePromptResult> {
    const body: JsonObject = { prompt };
    if (options.clientId !== undefined) body['client_id'] = options.clientId;
    if (options.promptId !== undefined) body['prompt_id'] = options.promptId;
    if (options.extraData !== undefined) body['extra_data'] = options.extraData;
    if (options.front) body['front'] = true;
    if (options.partialExecutionTargets) body['partial_execution_targets'] = options.partialExecutionTargets;
    const res = await this.raw('POST', '/prompt', stringifyJson(body), 'application/json', signal);
    if (res.status === 400) {
      const v = tryParse(res.text);
      if (isJsonObject(v) && isJsonObject(v['error'])) {
        const err = v['error'] as unknown as ComfyErrorDetail;
        // Older servers sent `node_errors: []` for the whole-prompt errors (docs/comfyui.md, "HTTP routes").
        const ne = isJsonObject(v['node_errors'])
          ? (v['node_errors'] as unknown as Record<string, ComfyNodeError>)
          : {};
        throw new ComfyValidationError(
          {
            type: String(err.type ?? ''),
            message: String(err.message ?? ''),
            details: String(err.details ?? ''),
            extra_info: err.extra_info ?? {},
          },
          ne,
          options.titles,
        );
      }
    }
    const v = this.expectJson(res, '/prompt');
    if (!isJsonObject(v) || typeof v['prompt_id'] !== 'string') {
      throw new ComfyBadResponseError(this.url + '/prompt', 'no prompt_id in the reply', res.text);
    }
    const num = v['number'];
    return {
      promptId: v['prompt_id'],
      number: typeof num === 'number' ? num : Number(num ?? 0),
      nodeErrors: isJsonObject(v['node_errors'])
        ? (v['node_errors'] as unknown as Record<string, ComfyNodeError>)
        : {},
    };
  }

  /**
   * GET /history/{id} → the entry, or null while unknown or unfinished (the server answers `{}`,
   * docs/comfyui.md, "HTTP routes").
   */
  async history(promptId: string, signal?: AbortSignal): Promise<ComfyHistoryEntry | null> {
    const v = await this.getObject(`/history/${encodeURIComponent(promptId)}`, signal);
    const e = v[promptId];
    return isJsonObject(e) ? (e as unknown as ComfyHistoryEntry) : null;
  }

  /** GET /history[?max_items&offset] → entries keyed by prompt id, oldest first. */
  async historyAll(
    page: { maxItems?: number; offset?: number } = {},
    signal?: AbortSignal,
  ): Promise<Record<string, ComfyHistoryEntry>> {
    const q = new URLSearchParams();
    if (page.maxItems !== undefined) q.set('max_items', String(page.maxItems));
    if (page.offset !== undefined) q.set('offset', String(page.offset));
    const qs = q.toString();
    return (await this.getObject(`/history${qs ? `?${qs}` : ''}`, signal)) as unknown as Record<
      string,
      ComfyHistoryEntry
    >;
  }

  /** POST /history {clear} / {delete}. */
  async clearHistory(promptIds?: string[], signal?: AbortSignal): Promise<void> {
    await this.postJson('/history', promptIds ? { delete: promptIds } : { clear: true }, signal);
  }

  /**
   * GET /view → the file bytes as a stream (docs/comfyui.md, "HTTP routes"). Throws {@link ComfyHttpError} on
   * 4xx/5xx.
   */
  async view(ref: ComfyFileRef, signal?: AbortSignal): Promise<Readable> {
    const q = new URLSearchParams({
      filename: ref.filename,
      type: ref.type || 'output',
      subfolder: ref.subfolder ?? '',
    });
    const target = `${this.url}/view?${q.toString()}`;
    const res = await this.send(target, { method: 'GET', signal });
    if (res.statusCode !== 200) {
      const text = await this.readCapped(res, target, 64 * 1024).catch(() => '');
      throw new ComfyHttpError(target, res.statusCode, excerpt(text));
    }
    return res.body;
  }

  /**
   * Stream a `/view` file into `filePath`, stopping at `maxBytes` (default 512 MiB) with a
   * {@link ComfyTooLargeError}. `exclusive` refuses to replace an existing file. A failed download
   * leaves no partial file behind.
   */
  async download(
    ref: ComfyFileRef,
    filePath: string,
    signal?: AbortSignal,
    opts: { maxBytes?: number; exclusive?: boolean } = {},
  ): Promise<number> {
    const max = opts.maxBytes ?? DEFAULT_MAX_DOWNLOAD_BYTES;
    await mkdir(dirname(filePath), { recursive: true });
    const body = await this.view(ref, signal);
    const url = `${this.url}/view?filename=${encodeURIComponent(ref.filename)}`;
    let written = 0;
    const cap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        written += chunk.length;
        if (written > max) cb(new ComfyTooLargeError(url, max, `file ${JSON.stringify(ref.filename)}`));
        else cb(null, chunk);
      },
    });
    let created = false;
    try {
      const out = createWriteStream(filePath, { flags: opts.exclusive ? 'wx' : 'w' });
      out.once('open', () => (created = true));
      await pipeline(body, cap, out, signal ? { signal } : {});
      return written;
    } catch (e) {
      body.destroy();
      if (created) await rm(filePath, { force: true }).catch(() => undefined);
      throw e;
    }
  }

  /**
   * POST /upload/image (multipart). The returned `name` may differ from the one sent (docs/comfyui.md, "HTTP
   * routes").
   */
  async uploadImage(opts: UploadImageOptions, signal?: AbortSignal): Promise<UploadImageResult> {
    const form = new (await loadUndici()).FormData();
    const blob = opts.data instanceof Blob ? opts.data : new Blob([new Uint8Array(opts.data)]);
    form.append('image', blob, opts.filename);
    if (opts.overwrite) form.append('overwrite', 'true');
    form.append('type', opts.type ?? 'input');
    if (opts.subfolder) form.append('subfolder', opts.subfolder);
    const target = `${this.url}/upload/image`;
    const res = await this.send(target, { method: 'POST', body: form, signal });
    const text = await this.readCapped(res, target, this.maxJsonBytes);
    const v = this.expectJson(
      { status: res.statusCode, contentType: String(res.headers['content-type'] ?? ''), text },
      '/upload/image',
    );
    if (!isJsonObject(v) || typeof v['name'] !== 'string')
      throw new ComfyBadResponseError(target, 'no name in the upload reply', text);
    return {
      name: v['name'],
      subfolder: jsonText(v['subfolder'] ?? ''),
      type: jsonText(v['type'] ?? 'input'),
    };
  }

  /** GET /object_info (all classes). Can take seconds on large installs. */
  async objectInfo(signal?: AbortSignal): Promise<ObjectInfoMap> {
    return (await this.getObject('/object_info', signal)) as ObjectInfoMap;
  }

  /** GET /object_info/{class} → its definition, or null when unknown (the server answers `{}`). */
  async objectInfoOf(nodeClass: string, signal?: AbortSignal): Promise<JsonObject | null> {
    const v = await this.getObject(`/object_info/${encodeURIComponent(nodeClass)}`, signal);
    const d = v[nodeClass];
    return isJsonObject(d) ? d : null;
  }

  /**
   * POST /interrupt: global, or only `promptId` if it is the running prompt (docs/comfyui.md, "HTTP routes").
   */
  async interrupt(promptId?: string, signal?: AbortSignal): Promise<void> {
    await this.postJson('/interrupt', promptId ? { prompt_id: promptId } : {}, signal);
  }

  /** POST /free (default: unload models and free memory, docs/comfyui.md, "HTTP routes"). */
  async free(
    opts: { unloadModels?: boolean; freeMemory?: boolean } = {},
    signal?: AbortSignal,
  ): Promise<void> {
    await this.postJson(
      '/free',
      { unload_models: opts.unloadModels ?? true, free_memory: opts.freeMemory ?? true },
      signal,
    );
  }

  /** Release the connection pool. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.ownsDispatcher && this.dispatcher) await this.dispatcher.close().catch(() => undefined);
  }

  // ---- plumbing ----

  private async getObject(path: string, signal?: AbortSignal): Promise<JsonObject> {
    const v = await this.getJson(path, signal);
    if (!isJsonObject(v))
      throw new ComfyBadResponseError(this.url + path, 'expected a JSON object', stringifyJson(v));
    return v;
  }

  /** The byte cap of a JSON reply from `path`. */
  private capOf(path: string): number {
    return /^\/(object_info|queue|history)(\/|\?|$)/.test(path) ? this.maxLargeJsonBytes : this.maxJsonBytes;
  }

  private async getJson(path: string, signal?: AbortSignal): Promise<JsonValue> {
    return this.expectJson(await this.raw('GET', path, undefined, undefined, signal), path);
  }

  private async postJson(path: string, body: JsonObject, signal?: AbortSignal): Promise<void> {
    const res = await this.raw('POST', path, stringifyJson(body), 'application/json', signal);
    if (res.status < 200 || res.status >= 300)
      throw new ComfyHttpError(this.url + path, res.status, excerpt(res.text));
  }

  private expectJson(res: RawResponse, path: string): JsonValue {
    if (res.status < 200 || res.status >= 300)
      throw new ComfyHttpError(this.url + path, res.status, excerpt(res.text));
    try {
      return parseJsonLossless(res.text);
    } catch {
      throw new ComfyBadResponseError(
        this.url + path,
        `HTTP ${res.status} but the body is not JSON`,
        excerpt(res.text),
      );
    }
  }

  private async raw(
    method: 'GET' | 'POST',
    path: string,
    body?: string,
    contentType?: string,
    signal?: AbortSignal,
  ): Promise<RawResponse> {
    const target = this.url + path;
    const res = await this.send(target, {
      method,
      body,
      headers: contentType ? { 'content-type': contentType } : {},
      signal,
    });
    const text = await this.readCapped(res, target, this.capOf(path));
    return { status: res.statusCode, contentType: String(res.headers['content-type'] ?? ''), text };
  }

  /** The reply body as text, refusing more than `max` bytes (by Content-Length, or while streaming). */
  private async readCapped(res: Dispatcher.ResponseData, target: string, max: number): Promise<string> {
    const declared = Number(res.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > max) {
      res.body.destroy();
      throw new ComfyTooLargeError(target, max);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > max) {
          res.body.destroy();
          throw new ComfyTooLargeError(target, max);
        }
        chunks.push(chunk);
      }
    } catch (e) {
      if (e instanceof ComfyTooLargeError) throw e;
      throw this.mapError(e, target);
    }
    return Buffer.concat(chunks, size).toString('utf8');
  }

  private async send(
    target: string,
    opts: {
      method: 'GET' | 'POST';
      body?: string | FormData;
      headers?: Record<string, string>;
      signal?: AbortSignal;
    },
  ): Promise<Dispatcher.ResponseData> {
    const undici = await loadUndici();
    try {
      return await undici.request(target, {
        method: opts.method,
        body: opts.body,
        headers: opts.headers,
        signal: opts.signal,
        dispatcher: this.dispatcherOf(undici),
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
    } catch (e) {
      throw this.mapError(e, target);
    }
  }

  private mapError(e: unknown, target: string): unknown {
    if (isAbort(e)) return e;
    const reason = classifyNetworkError(e);
    if (!reason) return e;
    const detail = reason === 'timeout' ? `no reply within ${this.timeoutMs} ms from ${target}` : describe(e);
    return new ComfyUnreachableError(this.url, reason, detail, { cause: e });
  }
}

/** `http://host:port/` → `http://host:port`; a bare `host:port` gets `http://`. */
export function normalizeBaseUrl(u: string): string {
  const withScheme = /^[a-z]+:\/\//i.test(u) ? u : `http://${u}`;
  return withScheme.replace(/\/+$/, '');
}

/** Map a network error to an {@link UnreachableReason}, or null when it is not a network error. */
export function classifyNetworkError(e: unknown): UnreachableReason | null {
  const codes = collectCodes(e);
  if (codes.some((c) => c === 'ECONNREFUSED')) return 'refused';
  if (
    codes.some(
      (c) =>
        c === 'UND_ERR_CONNECT_TIMEOUT' ||
        c === 'UND_ERR_HEADERS_TIMEOUT' ||
        c === 'UND_ERR_BODY_TIMEOUT' ||
        c === 'ETIMEDOUT',
    )
  )
    return 'timeout';
  if (codes.some((c) => c === 'ENOTFOUND' || c === 'EAI_AGAIN')) return 'dns';
  if (
    codes.some((c) => c === 'ECONNRESET' || c === 'UND_ERR_SOCKET' || c === 'EPIPE' || c === 'UND_ERR_CLOSED')
  )
    return 'reset';
  if (codes.some((c) => c === 'EHOSTUNREACH' || c === 'ENETUNREACH' || c === 'EADDRNOTAVAIL')) return 'other';
  return null;
}

function collectCodes(e: unknown, depth = 0): string[] {
  if (!e || typeof e !== 'object' || depth > 4) return [];
  const out: string[] = [];
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string') out.push(code);
  const cause = (e as { cause?: unknown }).cause;
  if (cause) out.push(...collectCodes(cause, depth + 1));
  const errors = (e as { errors?: unknown }).errors;
  if (Array.isArray(errors)) for (const x of errors) out.push(...collectCodes(x, depth + 1));
  return out;
}

function describe(e: unknown): string {
  const codes = collectCodes(e);
  const msg = e instanceof Error ? e.message : String(e);
  return codes[0] && !msg.includes(codes[0])
    ? `${codes[0]} ${msg}`.trim()
    : msg || (codes[0] ?? 'unknown error');
}

function isAbort(e: unknown): boolean {
  return e instanceof Error && (e.name === 'AbortError' || (e as { code?: unknown }).code === 'ABORT_ERR');
}

function tryParse(text: string): JsonValue | undefined {
  try {
    return parseJsonLossless(text);
  } catch {
    return undefined;
  }
}

function decodeQueueItem(item: JsonValue[]): ComfyQueueItem {
  // [number, prompt_id, prompt, extra_data, outputs_to_execute(, sensitive)] — tolerate 6 elements
  // (docs/comfyui.md, "HTTP routes").
  const [num, id, prompt, extra, outs] = item;
  return {
    number: typeof num === 'number' ? num : Number(num ?? 0),
    promptId: jsonText(id ?? ''),
    prompt: isJsonObject(prompt) ? prompt : {},
    extraData: isJsonObject(extra) ? extra : {},
    outputsToExecute: Array.isArray(outs) ? outs.map(String) : [],
  };
}
