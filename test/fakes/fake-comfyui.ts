/**
 * A faithful fake ComfyUI server for tests (docs/comfyui.md, "The API as Luna Tray relies on it"): real
 * node:http + ws on a free port. Every route at `X` and `/api/X`, the WS at `/ws` and `/api/ws`; delivery
 * rules of docs/comfyui.md, "WebSocket" (targeted events only to the submitting client id, `status`
 * broadcast); its event order with the history write BEFORE `executing {node: null}`; binary previews (type 1
 * legacy, type 4 after the handshake, type 3 text); 400 validation shapes; aiohttp-style text/plain 500s; the
 * origin middleware of docs/comfyui.md, "Origin checks"; the same-clientId replacement bug ("WebSocket"; on
 * by default, like the real server).
 *
 * Configurable misbehaviour: slow steps, an execution_error (OOM by default) at a node, forced
 * validation rejection, garbage bodies, non-JSON 5xx, accept-and-never-answer. "Down" = `close()` it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { posix } from 'node:path';

import { WebSocketServer, type WebSocket } from 'ws';

import {
  isJsonObject,
  jsonText,
  parseJsonLossless,
  stringifyJson,
  type JsonObject,
  type JsonValue,
} from '../../src/core/comfyui/json.js';

/** 1×1 transparent PNG. */
export const TINY_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

const DEFAULT_OBJECT_INFO = new URL('../fixtures/comfyui/object_info.json', import.meta.url);

/** Mutable behaviour switches (change them on `fake.behaviour` at any time). */
export interface FakeComfyBehaviour {
  /** Delay per sampler step, ms. */
  stepDelayMs: number;
  /** Delay per executed node, ms. */
  nodeDelayMs: number;
  /** Raise an execution_error when this node id executes. */
  failAtNode: string | null;
  /** The exception raised at `failAtNode`. */
  failure: { type: string; message: string };
  /** Reject every POST /prompt with a 400 `prompt_outputs_failed_validation`. */
  rejectValidation: boolean;
  /**
   * HTTP misbehaviour: garbage 200 bodies, text/plain 500, accept and never answer, or `huge`: a
   * valid JSON reply of {@link hugeBytes} bytes, streamed.
   */
  httpMode: 'normal' | 'garbage' | 'error500' | 'hang' | 'huge';
  /** Size of a `huge` reply, bytes. */
  hugeBytes: number;
  /** Hostile server: SaveImage reports these file names (any text), and /view serves them as named. */
  outputFilenames: string[] | null;
  /** Hostile server: /view streams this many bytes for any output file instead of the stored one. */
  viewBytes: number | null;
  /** A server from before 2025-09: POST /interrupt ignores `prompt_id` and stops whatever runs. */
  interruptIgnoresPromptId: boolean;
  /** Limit `httpMode` to these paths (without /api), e.g. ['/prompt']. Empty = all. */
  httpModePaths: string[];
  /** Send preview frames during sampler steps. */
  previews: boolean;
  /** Reproduce the same-clientId socket replacement bug (docs/comfyui.md, "WebSocket"). */
  sameIdReplacementBug: boolean;
  /** Sampler steps when a node has no `steps` input but is a sampler. */
  comfyuiVersion: string;
  /**
   * Report a CPU-only server (docs/comfyui.md, "HTTP routes": one `cpu` device, `index: null`, system RAM as
   * its memory).
   */
  cpu: boolean;
  os: string;
  argv: string[];
  devices: JsonObject[];
}

/** Options of {@link startFakeComfy}. */
export interface FakeComfyOptions extends Partial<FakeComfyBehaviour> {
  /** object_info map, or a path to a JSON file. Default: test/fixtures/comfyui/object_info.json. */
  objectInfo?: JsonObject | string;
  /** Port (default: a free one). */
  port?: number;
}

/** One recorded HTTP request. */
export interface FakeCall {
  method: string;
  /** Path without the `/api` prefix and without the query. */
  path: string;
  query: Record<string, string>;
  /** Parsed JSON body (lossless) when there was one, else the raw text or null. */
  body: JsonValue | string | null;
  at: number;
}

interface CachedNode {
  /** The node's UI output (history `outputs` entry), null for non-output nodes. */
  ui: JsonObject | null;
  batch: number;
}

interface QueueItem {
  number: number;
  promptId: string;
  prompt: JsonObject;
  extraData: JsonObject;
  outputs: string[];
}

/** A running fake. */
export interface FakeComfy {
  url: string;
  port: number;
  /** Every HTTP request, in order. */
  calls: FakeCall[];
  behaviour: FakeComfyBehaviour;
  /** History entries by prompt id (insertion order = completion order). */
  history: Map<string, JsonObject>;
  /** Files served by /view, keyed `type/subfolder/filename`. */
  files: Map<string, Buffer>;
  /** Client ids of currently registered sockets. */
  socketIds(): string[];
  /** Send a raw text frame to every socket (a custom node's message, or a hostile one). */
  broadcastRaw(text: string): void;
  /** Queue an API prompt as some OTHER client would (client_id not ours; null = no client_id). Returns the prompt id. */
  queuePromptFromOtherClient(apiPrompt: JsonObject, opts?: { clientId?: string | null }): Promise<string>;
  /** Resolve when `promptId` has a history entry. */
  waitForHistory(promptId: string, timeoutMs?: number): Promise<JsonObject>;
  close(): Promise<void>;
}

/** Start the fake on 127.0.0.1 and a free port. */
export async function startFakeComfy(opts: FakeComfyOptions = {}): Promise<FakeComfy> {
  const objectInfo: JsonObject =
    typeof opts.objectInfo === 'object'
      ? opts.objectInfo
      : (parseJsonLossless(readFileSync(opts.objectInfo ?? DEFAULT_OBJECT_INFO, 'utf8')) as JsonObject);
  const behaviour: FakeComfyBehaviour = {
    stepDelayMs: 5,
    nodeDelayMs: 1,
    failAtNode: null,
    failure: {
      type: 'torch.OutOfMemoryError',
      message: 'Allocation on device 0 would exceed allowed memory. (out of memory)',
    },
    rejectValidation: false,
    httpMode: 'normal',
    hugeBytes: 300 * 1024 * 1024,
    outputFilenames: null,
    viewBytes: null,
    interruptIgnoresPromptId: false,
    httpModePaths: [],
    previews: true,
    sameIdReplacementBug: true,
    comfyuiVersion: '0.8.0',
    cpu: false,
    os: 'linux',
    argv: ['main.py', '--port', '8188'],
    devices: [
      {
        name: 'cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync',
        type: 'cuda',
        index: 0,
        vram_total: 25393692672,
        vram_free: 24000000000,
        torch_vram_total: 0,
        torch_vram_free: 0,
      },
    ],
    ...stripUndefined(opts),
  };
  const calls: FakeCall[] = [];
  const history = new Map<string, JsonObject>();
  const files = new Map<string, Buffer>();
  const sockets = new Map<string, WebSocket>();
  const wsFlags = new WeakMap<WebSocket, JsonObject>();
  const openSockets = new Set<Socket>();
  const historyWaiters: Array<() => void> = [];
  let pending: QueueItem[] = [];
  let running: QueueItem | null = null;
  let runningNode: string | null = null;
  let counter = 0;
  let interruptFlag = false;
  let outputCounter = 0;
  let closed = false;

  // 0.8.0 (docs/comfyui.md): an integer max_upload_size, plus the `extension` entry.
  const serverFlags: JsonObject = {
    supports_preview_metadata: true,
    max_upload_size: 104857600,
    extension: { manager: { supports_v4: true } },
  };
  // The input folder holds the files its LoadImage combo lists (LoadImage validates existence, docs/comfyui.md).
  files.set('input//example.png', TINY_PNG);
  files.set('input//input.png', TINY_PNG);
  /** Execution cache: node signature → its outputs (docs/comfyui.md); only the last prompt's nodes are kept. */
  let cache = new Map<string, CachedNode>();

  // ---- WS delivery (docs/comfyui.md, "WebSocket") ----
  function sendJson(type: string, data: JsonObject, sid: string | null): void {
    const text = stringifyJson({ type, data });
    if (sid === null) for (const ws of sockets.values()) ws.send(text);
    else sockets.get(sid)?.send(text);
  }
  function sendBinary(buf: Buffer, sid: string | null): void {
    if (sid === null) for (const ws of sockets.values()) ws.send(buf);
    else sockets.get(sid)?.send(buf);
  }
  const queueRemaining = (): number => pending.length + (running ? 1 : 0);
  const broadcastStatus = (): void =>
    sendJson('status', { status: { exec_info: { queue_remaining: queueRemaining() } } }, null);

  // ---- HTTP ----
  const server = createServer((req, res) => {
    void handle(req, res).catch((e: unknown) => {
      if (!res.headersSent)
        text(res, 500, `500 Internal Server Error\n\nServer got itself in trouble (${String(e)})`);
    });
  });
  server.on('connection', (s) => {
    openSockets.add(s);
    s.on('close', () => openSockets.delete(s));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://x');
    let path = u.pathname;
    if (path.startsWith('/api/')) path = path.slice(4);
    const raw = await readBody(req);
    const ctype = String(req.headers['content-type'] ?? '');
    let body: JsonValue | string | null = null;
    if (raw.length > 0 && !ctype.startsWith('multipart/')) {
      const t = raw.toString('utf8');
      try {
        body = parseJsonLossless(t);
      } catch {
        body = t;
      }
    }
    calls.push({
      method: req.method ?? 'GET',
      path,
      query: Object.fromEntries(u.searchParams),
      body,
      at: Date.now(),
    });

    // Origin middleware (docs/comfyui.md, "Origin checks"): only when both Host and Origin are present and
    // Host is loopback.
    const origin = req.headers.origin;
    const host = req.headers.host;
    if (origin && host && isLoopbackHost(host) && !originMatches(origin, host)) return text(res, 403, '');

    const affected = behaviour.httpModePaths.length === 0 || behaviour.httpModePaths.includes(path);
    if (affected && behaviour.httpMode === 'hang') return; // accept and never answer
    if (affected && behaviour.httpMode === 'error500')
      return text(res, 500, '500 Internal Server Error\n\nServer got itself in trouble');
    if (affected && behaviour.httpMode === 'huge') return hugeJson(res, behaviour.hugeBytes);
    if (affected && behaviour.httpMode === 'garbage')
      return text(res, 200, '<html><body>garbage \u0000 not json', 'text/html');

    const method = req.method ?? 'GET';
    if (method === 'GET') {
      if (path === '/system_stats') {
        const ram = { total: 134000000000, free: 120000000000 };
        return json(res, 200, {
          system: {
            os: behaviour.os,
            ram_total: ram.total,
            ram_free: ram.free,
            comfyui_version: behaviour.comfyuiVersion,
            required_frontend_version: '1.35.9',
            installed_templates_version: '0.7.59',
            required_templates_version: '0.7.59',
            python_version: '3.12.3 (main) [GCC 13.2.0]',
            pytorch_version: behaviour.cpu ? '2.9.1+cpu' : '2.9.1+cu130',
            embedded_python: false,
            argv: behaviour.cpu ? [...behaviour.argv, '--cpu'] : behaviour.argv,
          },
          devices: behaviour.cpu
            ? [
                {
                  name: 'cpu',
                  type: 'cpu',
                  index: null,
                  vram_total: ram.total,
                  vram_free: ram.free,
                  torch_vram_total: ram.total,
                  torch_vram_free: ram.free,
                },
              ]
            : behaviour.devices,
        });
      }
      if (path === '/features') return json(res, 200, serverFlags);
      if (path === '/prompt') return json(res, 200, { exec_info: { queue_remaining: queueRemaining() } });
      if (path === '/queue') {
        const row = (q: QueueItem): JsonValue[] => [q.number, q.promptId, q.prompt, q.extraData, q.outputs];
        // Raw heap order, not sorted (docs/comfyui.md, "HTTP routes"): reverse insertion is a valid unsorted
        // heap-ish order for tests.
        return json(res, 200, {
          queue_running: running ? [row(running)] : [],
          queue_pending: [...pending].reverse().map(row),
        });
      }
      if (path === '/history') {
        const entries = [...history.entries()];
        const max = u.searchParams.get('max_items');
        const off = u.searchParams.get('offset');
        if (max !== null && !/^-?\d+$/.test(max))
          return text(res, 500, '500 Internal Server Error\n\nServer got itself in trouble');
        let sel = entries;
        if (off !== null)
          sel = entries.slice(Number(off), max !== null ? Number(off) + Number(max) : undefined);
        else if (max !== null) sel = entries.slice(Math.max(0, entries.length - Number(max)));
        return json(res, 200, Object.fromEntries(sel));
      }
      if (path.startsWith('/history/')) {
        const id = decodeURIComponent(path.slice(9));
        const e = history.get(id);
        return json(res, 200, e ? { [id]: e } : {});
      }
      if (path === '/object_info') return json(res, 200, objectInfo);
      if (path.startsWith('/object_info/')) {
        const cls = decodeURIComponent(path.slice(13));
        const d = objectInfo[cls];
        return json(res, 200, d ? { [cls]: d } : {});
      }
      if (path === '/view') return view(u, res);
      if (path === '/embeddings') return json(res, 200, []);
      if (path === '/models') return json(res, 200, ['checkpoints', 'loras', 'vae']);
    }
    if (method === 'POST') {
      if (path === '/prompt') return postPrompt(body, res);
      if (path === '/queue' || path === '/history') {
        if (!isJsonObject(body))
          return text(res, 500, '500 Internal Server Error\n\nServer got itself in trouble');
        if (path === '/queue') {
          if (body['clear'] === true) pending = [];
          if (Array.isArray(body['delete'])) {
            const del = new Set(body['delete'].map(String));
            pending = pending.filter((p) => !del.has(p.promptId));
          }
          broadcastStatus();
        } else {
          if (body['clear'] === true) history.clear();
          if (Array.isArray(body['delete'])) for (const id of body['delete']) history.delete(jsonText(id));
        }
        return text(res, 200, '');
      }
      if (path === '/interrupt') {
        const pid = isJsonObject(body) ? body['prompt_id'] : undefined;
        if (typeof pid === 'string' && !behaviour.interruptIgnoresPromptId) {
          if (running?.promptId === pid) interruptFlag = true;
        } else if (running) interruptFlag = true;
        return text(res, 200, '');
      }
      if (path === '/free') {
        if (!isJsonObject(body))
          return text(res, 500, '500 Internal Server Error\n\nServer got itself in trouble');
        // free_memory also resets the executor caches: the next run executes everything (docs/comfyui.md,
        // "HTTP routes").
        if (body['free_memory'] === true) cache = new Map();
        return text(res, 200, '');
      }
      if (path === '/upload/image') return upload(req, raw, res);
    }
    return text(res, 404, '404: Not Found');
  }

  function view(u: URL, res: ServerResponse): void {
    let filename = u.searchParams.get('filename');
    if (filename === null) return text(res, 404, '');
    if (behaviour.viewBytes !== null) return streamBytes(res, behaviour.viewBytes);
    if (behaviour.outputFilenames?.includes(filename)) {
      res.writeHead(200, { 'content-type': 'image/png' });
      return void res.end(TINY_PNG);
    }
    let type = u.searchParams.get('type') ?? 'output';
    const m = / \[(output|input|temp)\]$/.exec(filename);
    if (m) {
      type = m[1]!;
      filename = filename.slice(0, -m[0].length);
    }
    if (!filename || filename.startsWith('/') || filename.includes('..')) return text(res, 400, '');
    if (!['output', 'input', 'temp'].includes(type)) return text(res, 400, '');
    const sub = u.searchParams.get('subfolder') ?? '';
    if (sub.includes('..')) return text(res, 403, '');
    const data = files.get(`${type}/${sub}/${filename.split('/').pop()}`);
    if (!data) return text(res, 404, '');
    res.writeHead(200, { 'content-type': 'image/png', 'content-disposition': `filename="${filename}"` });
    res.end(data);
  }

  function upload(req: IncomingMessage, raw: Buffer, res: ServerResponse): void {
    const parts = parseMultipart(raw, String(req.headers['content-type'] ?? ''));
    const image = parts.find((p) => p.name === 'image' && p.filename !== undefined);
    if (!image || !image.filename) return text(res, 400, '');
    const field = (n: string): string => parts.find((p) => p.name === n)?.data.toString('utf8') ?? '';
    const type = field('type') || 'input';
    if (!['input', 'temp', 'output'].includes(type))
      return text(res, 500, '500 Internal Server Error\n\nServer got itself in trouble');
    const sub = field('subfolder');
    if (sub.includes('..') || image.filename.includes('..')) return text(res, 400, '');
    const overwrite = ['true', '1'].includes(field('overwrite'));
    let name = image.filename;
    if (!overwrite) {
      // Same name + identical content is reused; different content is renamed "stem (n).ext"
      // (docs/comfyui.md, "HTTP routes").
      const dot = name.lastIndexOf('.');
      const stem = dot > 0 ? name.slice(0, dot) : name;
      const ext = dot > 0 ? name.slice(dot) : '';
      for (let i = 1; ; i++) {
        const existing = files.get(`${type}/${sub}/${name}`);
        if (!existing || sha(existing) === sha(image.data)) break;
        name = `${stem} (${i})${ext}`;
      }
    }
    files.set(`${type}/${sub}/${name}`, image.data);
    json(res, 200, { name, subfolder: sub, type });
  }

  // ---- POST /prompt (docs/comfyui.md, "HTTP routes") ----
  function postPrompt(body: JsonValue | string | null, res: ServerResponse): void {
    if (!isJsonObject(body))
      return text(res, 500, '500 Internal Server Error\n\nServer got itself in trouble');
    if (!('prompt' in body)) {
      return json(res, 400, {
        error: {
          type: 'no_prompt',
          message: 'No prompt provided',
          details: 'No prompt provided',
          extra_info: {},
        },
        node_errors: {},
      });
    }
    const prompt = body['prompt'];
    if (!isJsonObject(prompt))
      return text(res, 500, '500 Internal Server Error\n\nServer got itself in trouble');
    let number: number;
    if (typeof body['number'] === 'number') number = body['number'] + 0.0;
    else if (body['front']) number = -++counter;
    else number = ++counter;
    const promptId = typeof body['prompt_id'] === 'string' ? body['prompt_id'] : randomUUID();
    const v = validatePrompt(prompt);
    if (!v.ok) return json(res, 400, { error: v.error, node_errors: v.nodeErrors });
    const extraData: JsonObject = isJsonObject(body['extra_data']) ? { ...body['extra_data'] } : {};
    if (body['client_id'] !== undefined) extraData['client_id'] = body['client_id'];
    extraData['create_time'] = Date.now();
    enqueue({ number, promptId, prompt, extraData, outputs: v.outputs });
    json(res, 200, { prompt_id: promptId, number, node_errors: v.nodeErrors });
  }

  function enqueue(item: QueueItem): void {
    pending.push(item);
    broadcastStatus();
    setImmediate(pump);
  }

  type Validation =
    | { ok: true; outputs: string[]; nodeErrors: JsonObject }
    | { ok: false; error: JsonObject; nodeErrors: JsonObject };

  function validatePrompt(prompt: JsonObject): Validation {
    for (const [id, n] of Object.entries(prompt)) {
      const ct = isJsonObject(n) ? n['class_type'] : undefined;
      if (typeof ct !== 'string' || !isJsonObject(objectInfo[ct])) {
        const what = typeof ct === 'string' ? ct : 'unknown';
        return {
          ok: false,
          error: {
            type: 'invalid_prompt',
            message: `Cannot execute because node ${what} does not exist.`,
            details: `Node ID '#${id}'`,
            extra_info: {},
          },
          nodeErrors: {},
        };
      }
    }
    const outputs = Object.keys(prompt).filter(
      (id) =>
        (objectInfo[(prompt[id] as JsonObject)['class_type'] as string] as JsonObject)['output_node'] ===
        true,
    );
    if (outputs.length === 0) {
      return {
        ok: false,
        error: { type: 'prompt_no_outputs', message: 'Prompt has no outputs', details: '', extra_info: {} },
        nodeErrors: {},
      };
    }
    const nodeErrors: JsonObject = {};
    const good: string[] = [];
    const errorsList: string[] = [];
    for (const out of outputs) {
      let bad: Array<[string, JsonValue[]]>;
      try {
        bad = behaviour.rejectValidation ? forcedError(prompt, out) : validateTree(prompt, out, new Set());
      } catch (ex) {
        bad = [
          [
            out,
            [
              {
                type: 'exception_during_validation',
                message: 'Exception when validating node',
                details: (ex as Error).message,
                extra_info: { exception_type: 'AttributeError', traceback: [] },
              },
            ],
          ],
        ];
      }
      if (bad.length === 0) {
        good.push(out);
        continue;
      }
      for (const [id, errs] of bad) {
        const existing = nodeErrors[id] as JsonObject | undefined;
        if (existing) (existing['dependent_outputs'] as JsonValue[]).push(out);
        else
          nodeErrors[id] = {
            errors: errs,
            dependent_outputs: [out],
            class_type: (prompt[id] as JsonObject)['class_type'] as string,
          };
        for (const e of errs)
          errorsList.push(
            `${jsonText((e as JsonObject)['message'])}: ${jsonText((e as JsonObject)['details'])}`,
          );
      }
    }
    if (good.length === 0) {
      return {
        ok: false,
        error: {
          type: 'prompt_outputs_failed_validation',
          message: 'Prompt outputs failed validation',
          details: errorsList.join('\n'),
          extra_info: {},
        },
        nodeErrors,
      };
    }
    return { ok: true, outputs: good, nodeErrors };
  }

  function forcedError(prompt: JsonObject, out: string): Array<[string, JsonValue[]]> {
    return [
      [
        out,
        [
          {
            type: 'custom_validation_failed',
            message: 'Rejected by the fake',
            details: 'rejectValidation is on',
            extra_info: {},
          },
        ],
      ],
    ];
  }

  function validateTree(prompt: JsonObject, id: string, seen: Set<string>): Array<[string, JsonValue[]]> {
    if (seen.has(id)) return [];
    seen.add(id);
    const node = prompt[id] as JsonObject;
    const def = objectInfo[node['class_type'] as string] as JsonObject;
    const inputs = isJsonObject(node['inputs']) ? node['inputs'] : {};
    const defInput = isJsonObject(def['input']) ? def['input'] : {};
    const required = isJsonObject(defInput['required']) ? defInput['required'] : {};
    const optional = isJsonObject(defInput['optional']) ? defInput['optional'] : {};
    const errs: JsonValue[] = [];
    const out: Array<[string, JsonValue[]]> = [];
    const all: Array<[string, JsonValue, boolean]> = [
      ...Object.entries(required).map(([k, v]): [string, JsonValue, boolean] => [k, v, true]),
      ...Object.entries(optional).map(([k, v]): [string, JsonValue, boolean] => [k, v, false]),
    ];
    for (const [name, spec, isReq] of all) {
      const val = inputs[name];
      const ei = (extra: JsonObject = {}): JsonObject => ({
        input_name: name,
        input_config: spec,
        received_value: val ?? null,
        ...extra,
      });
      if (val === undefined) {
        if (isReq)
          errs.push({
            type: 'required_input_missing',
            message: 'Required input is missing',
            details: name,
            extra_info: { input_name: name },
          });
        continue;
      }
      const arr = Array.isArray(spec) ? spec : [spec];
      const t = arr[0];
      if (Array.isArray(val)) {
        if (val.length !== 2 || typeof val[0] !== 'string' || !isJsonObject(prompt[val[0]])) {
          errs.push({
            type: 'bad_linked_input',
            message: 'Bad linked input, must be a length-2 list of [node_id, slot_index]',
            details: name,
            extra_info: ei(),
          });
          continue;
        }
        const src = objectInfo[jsonText((prompt[val[0]] as JsonObject)['class_type'])] as JsonObject;
        const srcOut = Array.isArray(src['output']) ? src['output'] : [];
        const received = srcOut[Number(val[1])] ?? null;
        if (!linkTypeMatches(received, t ?? null)) {
          errs.push({
            type: 'return_type_mismatch',
            message: 'Return type mismatch between linked nodes',
            details: `${name}, received_type(${jsonText(received)}) mismatch input_type(${jsonText(t ?? null)})`,
            extra_info: { input_name: name, input_config: spec, received_type: received, linked_node: val },
          });
          continue;
        }
        try {
          out.push(...validateTree(prompt, val[0], seen));
        } catch (ex) {
          // An exception inside an upstream node's validation is pinned on that node (execution.py).
          out.push([
            val[0],
            [
              {
                type: 'exception_during_inner_validation',
                message: 'Exception when validating inner node',
                details: (ex as Error).message,
                extra_info: {
                  input_name: name,
                  input_config: spec,
                  exception_message: (ex as Error).message,
                  exception_type: 'AttributeError',
                  traceback: ['  File "execution.py", line 730, in validate_inputs\n'],
                  linked_node: val,
                },
              },
            ],
          ]);
        }
        continue;
      }
      const o = isJsonObject(arr[1]) ? arr[1] : {};
      const plain = isJsonObject(val) && Array.isArray(val['__value__']) ? val['__value__'] : val;
      if (t === 'INT' || t === 'FLOAT') {
        const n =
          typeof plain === 'bigint'
            ? plain
            : typeof plain === 'number'
              ? plain
              : typeof plain === 'string' && /^-?\d+(\.\d+)?$/.test(plain.trim())
                ? Number(plain)
                : null;
        if (n === null || (t === 'INT' && typeof n === 'number' && !Number.isInteger(n))) {
          errs.push({
            type: 'invalid_input_type',
            message: `Failed to convert an input value to a ${t} value`,
            details: `${name}, ${jsonText(plain)}, invalid literal`,
            extra_info: ei(),
          });
          continue;
        }
        const min = o['min'];
        const max = o['max'];
        if ((typeof min === 'number' || typeof min === 'bigint') && n < min) {
          errs.push({
            type: 'value_smaller_than_min',
            message: `Value ${String(n)} smaller than min of ${String(min)}`,
            details: name,
            extra_info: ei(),
          });
        } else if ((typeof max === 'number' || typeof max === 'bigint') && n > max) {
          errs.push({
            type: 'value_bigger_than_max',
            message: `Value ${String(n)} bigger than max of ${String(max)}`,
            details: name,
            extra_info: ei(),
          });
        }
      } else if (node['class_type'] === 'LoadImage' && name === 'image') {
        // LoadImage has its own VALIDATE_INPUTS (the file must exist); a non-string raises inside it.
        if (typeof plain !== 'string')
          throw new Error(
            `'${typeof plain === 'number' ? 'int' : 'dict'}' object has no attribute 'endswith'`,
          );
        const m = / \[(input|output|temp)\]$/.exec(plain);
        const ref = m ? plain.slice(0, -m[0].length) : plain;
        const slash = ref.lastIndexOf('/');
        if (!files.has(`${m?.[1] ?? 'input'}/${ref.slice(0, Math.max(0, slash))}/${ref.slice(slash + 1)}`))
          errs.push({
            type: 'custom_validation_failed',
            message: 'Custom validation failed for node',
            details: `image - Invalid image file: ${plain}`,
            extra_info: { input_name: 'image' },
          });
      } else if ((Array.isArray(t) || t === 'COMBO') && o['image_upload'] !== true) {
        // (LoadImage-style nodes validate `image` with a custom VALIDATE_INPUTS, so uploads pass,
        // docs/comfyui.md, "HTTP routes".)
        const list = Array.isArray(t) ? t : Array.isArray(o['options']) ? o['options'] : [];
        if (!list.some((x) => x === plain)) {
          errs.push({
            type: 'value_not_in_list',
            message: 'Value not in list',
            details: `${name}: '${jsonText(plain)}' not in ${list.length > 20 ? '(list of length ' + list.length + ')' : JSON.stringify(list)}`,
            extra_info: ei({ input_config: list.length > 20 ? null : spec }),
          });
        }
      }
    }
    if (errs.length > 0) out.push([id, errs]);
    return out;
  }

  // ---- execution (docs/comfyui.md, "WebSocket") ----
  let pumping = false;
  function pump(): void {
    if (pumping || running || closed || pending.length === 0) return;
    pending.sort((a, b) => a.number - b.number || (a.promptId < b.promptId ? -1 : 1));
    running = pending.shift()!;
    pumping = true;
    void execute(running).finally(() => {
      pumping = false;
      running = null;
      runningNode = null;
      setImmediate(pump);
    });
  }

  async function execute(item: QueueItem): Promise<void> {
    const cid = item.extraData['client_id'];
    // docs/comfyui.md, "WebSocket": `None` client id → targeted events are not sent, broadcast-capable ones
    // go to everyone.
    const target: string | undefined =
      typeof cid === 'string' ? cid : cid === undefined || cid === null ? undefined : jsonText(cid);
    const messages: JsonValue[] = [];
    const pid = item.promptId;
    const add = (type: string, data: JsonObject, broadcast = false): void => {
      messages.push([type, data]);
      if (target !== undefined) sendJson(type, data, target);
      else if (broadcast) sendJson(type, data, null);
    };
    const toClient = (type: string, data: JsonObject): void => {
      if (target !== undefined) sendJson(type, data, target);
    };
    const bcastIfNone = (type: string, data: JsonObject): void =>
      sendJson(type, data, target === undefined ? null : target);
    interruptFlag = false; // reset when a prompt starts, as nodes.interrupt_processing(False) does
    broadcastStatus(); // dequeued, same count
    add('execution_start', { prompt_id: pid, timestamp: Date.now() });
    const sigs = signatures(item.prompt);
    const cachedIds = Object.keys(item.prompt).filter((id) => cache.has(sigs.get(id)!));
    add('execution_cached', { nodes: cachedIds, prompt_id: pid, timestamp: Date.now() });
    const outputs: JsonObject = {};
    const meta: JsonObject = {};
    const progressNodes: JsonObject = {};
    const executed: string[] = [];
    /** Batch size of each node's output (EmptyLatentImage's batch_size travels down the links). */
    const batch = new Map<string, number>();
    const used = new Map<string, CachedNode>();
    let outcome: 'success' | 'error' | 'interrupted' = 'success';
    const interrupted = (nodeId: string, ct: string): void => {
      outcome = 'interrupted';
      add(
        'execution_interrupted',
        { prompt_id: pid, node_id: nodeId, node_type: ct, executed: [...executed], timestamp: Date.now() },
        true,
      );
    };
    const failed = (nodeId: string, ct: string, type: string, message: string): void => {
      outcome = 'error';
      add('execution_error', {
        prompt_id: pid,
        node_id: nodeId,
        node_type: ct,
        executed: [...executed],
        exception_message: message,
        exception_type: type,
        traceback: ['  File "execution.py", line 496, in execute\n', `${type}: ${message}\n`],
        current_inputs: {},
        current_outputs: [],
        timestamp: Date.now(),
      });
    };
    for (const nodeId of executionOrder(item.prompt, item.outputs)) {
      const node = item.prompt[nodeId] as JsonObject;
      const ct = jsonText(node['class_type']);
      const def = objectInfo[ct] as JsonObject;
      const inputs = isJsonObject(node['inputs']) ? node['inputs'] : {};
      const sig = sigs.get(nodeId)!;
      const hit = cache.get(sig);
      if (hit) {
        // A cached node: no `executing`, its cached UI (if any) is replayed and kept in history
        // (docs/comfyui.md, "WebSocket").
        used.set(sig, hit);
        batch.set(nodeId, hit.batch);
        if (hit.ui) {
          outputs[nodeId] = hit.ui;
          meta[nodeId] = { node_id: nodeId, display_node: nodeId, parent_node: null, real_node_id: nodeId };
          toClient('executed', { node: nodeId, display_node: nodeId, output: hit.ui, prompt_id: pid });
        }
        continue;
      }
      // 0.8.0 order (docs/comfyui.md): progress_state (running) first, then `executing`, then the interrupt check.
      progressNodes[nodeId] = {
        value: 0,
        max: 1,
        state: 'running',
        node_id: nodeId,
        prompt_id: pid,
        display_node_id: nodeId,
        parent_node_id: null,
        real_node_id: nodeId,
      };
      bcastIfNone('progress_state', { prompt_id: pid, nodes: progressNodes });
      runningNode = nodeId;
      toClient('executing', { node: nodeId, display_node: nodeId, prompt_id: pid });
      if (interruptFlag) {
        interrupted(nodeId, ct);
        break;
      }
      if (behaviour.failAtNode === nodeId) {
        failed(nodeId, ct, behaviour.failure.type, behaviour.failure.message);
        break;
      }
      const steps = typeof inputs['steps'] === 'number' ? inputs['steps'] : 0;
      for (let s = 1; s <= steps; s++) {
        if (interruptFlag) break; // samplers check the flag at every step
        await sleep(behaviour.stepDelayMs);
        progressNodes[nodeId] = { ...(progressNodes[nodeId] as object), value: s, max: steps };
        bcastIfNone('progress_state', { prompt_id: pid, nodes: progressNodes });
        if (behaviour.previews) sendPreview(target, pid, nodeId, 'meta');
        bcastIfNone('progress', { value: s, max: steps, prompt_id: pid, node: nodeId });
        if (behaviour.previews) sendPreview(target, pid, nodeId, 'legacy');
      }
      if (interruptFlag && steps > 0) {
        interrupted(nodeId, ct);
        break;
      }
      // Any other node runs to its end; an interrupt meanwhile is seen at the next node (docs/comfyui.md).
      await sleep(behaviour.nodeDelayMs);
      let n = typeof inputs['batch_size'] === 'number' ? inputs['batch_size'] : 1;
      for (const v of Object.values(inputs))
        if (Array.isArray(v) && typeof v[0] === 'string') n = Math.max(n, batch.get(v[0]) ?? 1);
      batch.set(nodeId, n);
      let ui: JsonObject | null = null;
      if (def['output_node'] === true) {
        const saved = saveOutputs(ct, inputs, n);
        if ('error' in saved) {
          failed(nodeId, ct, 'Exception', saved.error);
          break;
        }
        ui = saved.ui;
      }
      progressNodes[nodeId] = { ...(progressNodes[nodeId] as object), state: 'finished' };
      bcastIfNone('progress_state', { prompt_id: pid, nodes: progressNodes });
      executed.push(nodeId);
      used.set(sig, { ui, batch: n });
      if (ui) {
        outputs[nodeId] = ui;
        meta[nodeId] = { node_id: nodeId, display_node: nodeId, parent_node: null, real_node_id: nodeId };
        toClient('executed', { node: nodeId, display_node: nodeId, output: ui, prompt_id: pid });
      }
    }
    cache = used; // clean_unused(): only this prompt's nodes stay cached
    if (outcome === 'success') add('execution_success', { prompt_id: pid, timestamp: Date.now() });
    // History is written AFTER the outcome message and BEFORE executing{null} (docs/comfyui.md, "HTTP
    // routes", "WebSocket").
    history.set(pid, {
      prompt: [item.number, pid, item.prompt, item.extraData, item.outputs],
      outputs,
      status: {
        status_str: outcome === 'success' ? 'success' : 'error',
        completed: outcome === 'success',
        messages,
      },
      meta,
    });
    for (const w of historyWaiters.splice(0)) w();
    running = null;
    runningNode = null;
    broadcastStatus();
    toClient('executing', { node: null, prompt_id: pid });
  }

  /**
   * What an output node leaves behind: SaveImage writes one file per batch item under the subfolder
   * of its prefix (`multi/x` → subfolder `multi`), numbered after the files already there; a prefix
   * escaping the output folder fails at execution. PreviewImage writes temp files; a text node
   * returns `{text: [...]}` (docs/comfyui.md).
   */
  function saveOutputs(ct: string, inputs: JsonObject, n: number): { ui: JsonObject } | { error: string } {
    if (ct === 'DynPromptProbe') return { ui: { text: [jsonText(inputs['text'] ?? '')] } };
    if (ct !== 'SaveImage') {
      const images: JsonValue[] = [];
      for (let i = 0; i < n; i++) {
        const filename = `ComfyUI_temp_${randomUUID().slice(0, 5)}_${String(++outputCounter).padStart(5, '0')}_.png`;
        files.set(`temp//${filename}`, TINY_PNG);
        images.push({ filename, subfolder: '', type: 'temp' });
      }
      return { ui: { images } };
    }
    const prefix = typeof inputs['filename_prefix'] === 'string' ? inputs['filename_prefix'] : 'ComfyUI';
    const norm = posix.normalize(prefix);
    if (norm.startsWith('/') || norm === '..' || norm.startsWith('../'))
      return {
        error:
          '**** ERROR: Saving image outside the output folder is not allowed.\n' +
          ` full_output_folder: /srv/ComfyUI/${posix.dirname(norm)}\n` +
          '         output_dir: /srv/ComfyUI/output\n' +
          '         commonpath: /srv/ComfyUI',
      };
    const sub = posix.dirname(norm) === '.' ? '' : posix.dirname(norm);
    const base = posix.basename(norm);
    let counter = 1;
    const re = new RegExp(`^output/${escapeRe(sub)}/${escapeRe(base)}_(\\d{5,})_\\.png$`);
    for (const k of files.keys()) {
      const m = re.exec(k);
      if (m) counter = Math.max(counter, Number(m[1]) + 1);
    }
    const images: JsonValue[] = [];
    if (behaviour.outputFilenames)
      return {
        ui: {
          images: behaviour.outputFilenames.map((f) => ({ filename: f, subfolder: sub, type: 'output' })),
        },
      };
    for (let i = 0; i < n; i++) {
      const filename = `${base.replace('%batch_num%', String(i))}_${String(counter++).padStart(5, '0')}_.png`;
      files.set(`output/${sub}/${filename}`, TINY_PNG);
      images.push({ filename, subfolder: sub, type: 'output' });
    }
    return { ui: { images } };
  }

  /** Cache keys as execution.py builds them: class, literal inputs, and the linked nodes' keys. */
  function signatures(prompt: JsonObject): Map<string, string> {
    const out = new Map<string, string>();
    const visit = (id: string, depth: number): string => {
      const known = out.get(id);
      if (known !== undefined) return known;
      const node = prompt[id];
      if (!isJsonObject(node) || depth > 1000) return `missing:${id}`;
      const inputs = isJsonObject(node['inputs']) ? node['inputs'] : {};
      const parts = Object.keys(inputs)
        .sort()
        .map((k) => {
          const v = inputs[k]!;
          return Array.isArray(v) && v.length === 2 && typeof v[0] === 'string'
            ? [k, 'link', visit(v[0], depth + 1), jsonText(v[1] ?? 0)]
            : [k, stringifyJson(v)];
        });
      const sig = sha(Buffer.from(stringifyJson([jsonText(node['class_type']), parts as JsonValue])));
      out.set(id, sig);
      return sig;
    };
    for (const id of Object.keys(prompt)) visit(id, 0);
    return out;
  }

  function sendPreview(
    target: string | undefined,
    pid: string,
    nodeId: string,
    which: 'meta' | 'legacy',
  ): void {
    const recipients =
      target === undefined ? [...sockets.values()] : [sockets.get(target)].filter((w): w is WebSocket => !!w);
    for (const ws of recipients) {
      const wantsMeta = target !== undefined && wsFlags.get(ws)?.['supports_preview_metadata'] === true;
      if (which === 'meta' && wantsMeta) {
        const metaJson = Buffer.from(
          JSON.stringify({
            node_id: nodeId,
            prompt_id: pid,
            display_node_id: nodeId,
            parent_node_id: null,
            real_node_id: nodeId,
            image_type: 'image/png',
          }),
        );
        ws.send(Buffer.concat([u32(4), u32(metaJson.length), metaJson, TINY_PNG]));
      } else if (which === 'legacy' && !wantsMeta) {
        ws.send(Buffer.concat([u32(1), u32(2), TINY_PNG]));
      }
    }
    if (which === 'legacy') {
      // A custom-node binary event the client must skip (docs/comfyui.md, "WebSocket"), and a type-3 progress
      // text.
      const nodeBuf = Buffer.from(nodeId);
      const txt = Buffer.concat([u32(3), u32(nodeBuf.length), nodeBuf, Buffer.from('sampling…')]);
      if (target === undefined) sendBinary(txt, null);
      else sendBinary(txt, target);
      sendBinary(Buffer.concat([u32(101), Buffer.from('custom')]), target === undefined ? null : target);
    }
  }

  // ---- WebSocket ----
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname !== '/ws' && u.pathname !== '/api/ws') return socket.destroy();
    if (behaviour.httpMode === 'hang' && behaviour.httpModePaths.length === 0) return; // never answer the upgrade
    const origin = req.headers.origin;
    const host = req.headers.host;
    if (origin && host && isLoopbackHost(host) && !originMatches(origin, host)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const sid = u.searchParams.get('clientId') || randomUUID().replace(/-/g, '');
      sockets.set(sid, ws); // replaces a previous socket with the same id (docs/comfyui.md, "WebSocket")
      let first = true;
      ws.on('message', (data, isBinary) => {
        if (isBinary || !first) return;
        first = false;
        try {
          const m = JSON.parse(Buffer.isBuffer(data) ? data.toString('utf8') : '') as {
            type?: string;
            data?: JsonObject;
          };
          if (m.type === 'feature_flags' && m.data) {
            wsFlags.set(ws, m.data);
            ws.send(stringifyJson({ type: 'feature_flags', data: serverFlags }));
          }
        } catch {
          /* only logged by the real server */
        }
      });
      ws.on('close', () => {
        if (behaviour.sameIdReplacementBug)
          sockets.delete(sid); // the bug: may remove the NEW socket
        else if (sockets.get(sid) === ws) sockets.delete(sid);
      });
      ws.send(
        stringifyJson({
          type: 'status',
          data: { status: { exec_info: { queue_remaining: queueRemaining() } }, sid },
        }),
      );
      const cid = running?.extraData['client_id'];
      if (running && runningNode && cid === sid)
        ws.send(stringifyJson({ type: 'executing', data: { node: runningNode } }));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    calls,
    behaviour,
    history,
    files,
    socketIds: () => [...sockets.keys()],
    broadcastRaw: (t) => {
      for (const ws of sockets.values()) ws.send(t);
    },
    async queuePromptFromOtherClient(apiPrompt, o = {}) {
      const v = validatePrompt(apiPrompt);
      if (!v.ok) throw new Error(`fake: prompt invalid: ${stringifyJson(v.error)}`);
      const promptId = randomUUID();
      const extraData: JsonObject = {};
      const clientId = o.clientId === undefined ? `browser-${randomUUID().slice(0, 8)}` : o.clientId;
      if (clientId !== null) extraData['client_id'] = clientId;
      enqueue({ number: ++counter, promptId, prompt: apiPrompt, extraData, outputs: v.outputs });
      return promptId;
    },
    waitForHistory(promptId, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`fake: no history for ${promptId} within ${timeoutMs} ms`)),
          timeoutMs,
        );
        const check = (): void => {
          const e = history.get(promptId);
          if (e) {
            clearTimeout(t);
            resolve(e);
          } else historyWaiters.push(check);
        };
        check();
      });
    },
    async close() {
      closed = true;
      interruptFlag = true;
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      for (const s of openSockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

// ---- helpers ----

function executionOrder(prompt: JsonObject, outputs: string[]): string[] {
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (id: string): void => {
    if (seen.has(id) || !isJsonObject(prompt[id])) return;
    seen.add(id);
    const inputs = prompt[id]['inputs'];
    if (isJsonObject(inputs))
      for (const v of Object.values(inputs)) if (Array.isArray(v) && typeof v[0] === 'string') visit(v[0]);
    order.push(id);
  };
  for (const o of outputs) visit(o);
  return order;
}

/** `validate_node_input` (comfy_execution/validation.py): equal, `*`, or a comma-separated subset; combos take COMBO. */
function linkTypeMatches(received: JsonValue, input: JsonValue): boolean {
  if (received === null || input === null) return true;
  if (Array.isArray(input)) return Array.isArray(received) || received === 'COMBO' || received === '*';
  if (typeof received !== 'string' || typeof input !== 'string') return true;
  if (received === input || received === '*' || input === '*') return true;
  if (input === 'COMBO') return false;
  const want = new Set(input.split(',').map((x) => x.trim()));
  return received.split(',').every((x) => want.has(x.trim()));
}

/** A valid JSON object of about `bytes` bytes, written in chunks (no big buffer on our side). */
function hugeJson(res: ServerResponse, bytes: number): void {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
  const chunk = `"${'x'.repeat(64 * 1024 - 8)}",`;
  let sent = 0;
  res.write('{"pad":[');
  const more = (): void => {
    while (sent < bytes) {
      sent += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', more);
    }
    res.end('""]}');
  };
  res.on('close', () => (sent = bytes + 1)); // the client hung up: stop
  more();
}

/** `bytes` bytes of file content, written in chunks. */
function streamBytes(res: ServerResponse, bytes: number): void {
  res.writeHead(200, { 'content-type': 'image/png' });
  const chunk = Buffer.alloc(64 * 1024, 7);
  let sent = 0;
  const more = (): void => {
    while (sent < bytes) {
      const n = Math.min(chunk.length, bytes - sent);
      sent += n;
      if (!res.write(chunk.subarray(0, n))) return void res.once('drain', more);
    }
    res.end();
  };
  res.on('close', () => (sent = bytes));
  more();
}

function json(res: ServerResponse, status: number, body: JsonValue): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(stringifyJson(body));
}

function text(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type });
  res.end(body);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function isLoopbackHost(host: string): boolean {
  const h = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || h.startsWith('127.');
}

function originMatches(origin: string, host: string): boolean {
  let netloc: string;
  try {
    const u = new URL(origin);
    netloc = u.host;
  } catch {
    return true;
  }
  if (!netloc) return true; // Origin: null / file:// pass (docs/comfyui.md, "Origin checks")
  let h = host;
  if (!/:\d+$/.test(netloc)) h = h.replace(/:\d+$/, '');
  else if (!/:\d+$/.test(h)) netloc = netloc.replace(/:\d+$/, '');
  return netloc === h;
}

interface Part {
  name: string;
  filename?: string;
  data: Buffer;
}

function parseMultipart(body: Buffer, contentType: string): Part[] {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary) return [];
  const delim = Buffer.from(`--${boundary}`);
  const parts: Part[] = [];
  let pos = body.indexOf(delim);
  while (pos >= 0) {
    const start = pos + delim.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const next = body.indexOf(delim, start);
    if (next < 0) break;
    const chunk = body.subarray(start + 2, next - 2); // skip CRLF after the delimiter and before the next
    const headerEnd = chunk.indexOf('\r\n\r\n');
    if (headerEnd >= 0) {
      const headers = chunk.subarray(0, headerEnd).toString('utf8');
      const name = /name="([^"]*)"/i.exec(headers)?.[1] ?? '';
      const filename = /filename="([^"]*)"/i.exec(headers)?.[1];
      parts.push({
        name,
        ...(filename !== undefined ? { filename } : {}),
        data: chunk.subarray(headerEnd + 4),
      });
    }
    pos = next;
  }
  return parts;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o))
    if (v !== undefined && k !== 'objectInfo' && k !== 'port') (out as Record<string, unknown>)[k] = v;
  return out;
}
