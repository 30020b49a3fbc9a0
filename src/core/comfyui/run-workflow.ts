/**
 * Run a workflow on one instance end to end: convert, apply `--set`, upload images, queue with our
 * socket's id (socket opened BEFORE queueing, docs/comfyui.md, "WebSocket"), follow progress, and download
 * the outputs from /history via /view (docs/comfyui.md, "WebSocket": `executing {node: null}` is the "result
 * is in history" signal).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';

import { stripAnsi } from '../logs/strip-ansi.js';
import {
  ComfyClient,
  DEFAULT_MAX_DOWNLOAD_BYTES,
  type ComfyFileRef,
  type ComfyHistoryEntry,
  type ObjectInfoMap,
} from './client.js';
import { convertWorkflow, isApiPrompt } from './convert.js';
import {
  type ComfyError,
  ComfyExecutionError,
  ComfyInterruptedError,
  ComfyUnreachableError,
  ComfyWorkflowError,
  type ComfyExecutionErrorData,
} from './errors.js';
import {
  isJsonObject,
  jsonText,
  parseJsonLossless,
  stringifyJson,
  type JsonObject,
  type JsonValue,
} from './json.js';
import { getObjectInfo, orderedInputs } from './object-info.js';
import { peerLine, peerLines } from './text.js';
import { openComfySocket, type ComfySocket, type ComfyWsMessage } from './ws.js';

/** A progress update of {@link runWorkflow}. */
export interface RunProgress {
  phase: 'preparing' | 'uploading' | 'queued' | 'running' | 'downloading' | 'done';
  promptId: string | null;
  /** Node executing now, and its title. */
  node: string | null;
  nodeTitle: string | null;
  /** Sampler steps of the current node, when it reports them. */
  step: { value: number; max: number } | null;
  /** 0–100: the current node's steps when known, else the share of executed nodes. */
  percent: number;
  /** Executed (or cached) nodes so far, and the prompt's node count. */
  nodesDone: number;
  nodesTotal: number;
  elapsedMs: number;
  /** Estimated time left for the current sampler, ms, or null. */
  etaMs: number | null;
  /** Items ahead of us while queued. */
  queueRemaining: number | null;
}

/** Options of {@link runWorkflow}. */
export interface RunWorkflowOptions {
  /** Instance base URL. */
  instance: string;
  /** A parsed (lossless) UI workflow or API prompt. */
  workflow: JsonValue;
  /** `NODE.INPUT=VALUE` (NODE = id or title; VALUE parsed as JSON when valid, else a string). */
  sets?: string[];
  /** Images uploaded and wired into LoadImage nodes' `image` input, in node-id order. */
  images?: string[];
  /** Where outputs and their JSON sidecars are written. */
  outDir: string;
  signal?: AbortSignal;
  onProgress?: (p: RunProgress) => void;
  /** object_info to convert with (default: fetched from the instance, cached). */
  objectInfo?: ObjectInfoMap;
  /** HTTP timeout per request, ms (default 15000). */
  timeoutMs?: number;
  /** Poll /history this often as a safety net while waiting, ms (default 2000). */
  pollMs?: number;
  /** Injected client (tests); closed by the caller. */
  client?: ComfyClient;
  /**
   * Draw a fresh seed for every seed widget set to "randomize" (UI workflows only), as the
   * frontend's next run would; by default the saved seed is sent as is (docs/comfyui.md, "Workflow
   * conversion" P14).
   */
  newSeed?: boolean;
  /** Largest output file downloaded, bytes (default 512 MiB): a bigger one stops with an error. */
  maxDownloadBytes?: number;
}

/** A random seed like the frontend's: uniform in [0, 2^50) (docs/comfyui.md, "Workflow conversion" P14). */
export function randomSeed(): bigint {
  return BigInt.asUintN(50, randomBytes(8).readBigUInt64LE());
}

/** One downloaded output. */
export interface RunOutput {
  /** Absolute or outDir-relative path of the written file. */
  file: string;
  /** Its JSON sidecar. */
  sidecar: string;
  /** The output node id. */
  node: string;
  /** `output` (SaveImage) or `temp` (PreviewImage), as the server reports. */
  type: string;
}

/** A non-file output, e.g. a text node's `{"text": [...]}` (values cleaned of control sequences). */
export interface RunTextOutput {
  node: string;
  key: string;
  values: string[];
}

/** A seed the prompt was run with. */
export interface RunSeed {
  node: string;
  input: string;
  /** Exact value (bigint beyond 2^53). */
  value: number | bigint | string;
}

/** Result of {@link runWorkflow}. */
export interface RunResult {
  promptId: string;
  outputs: RunOutput[];
  /** Outputs that are not files (text and other values). */
  textOutputs: RunTextOutput[];
  seeds: RunSeed[];
  timings: {
    queuedAt: number;
    startedAt: number | null;
    finishedAt: number;
    queueMs: number | null;
    executionMs: number | null;
    totalMs: number;
  };
  warnings: string[];
  /** The API prompt that was queued. */
  prompt: JsonObject;
}

/** Run a workflow and download its outputs. Rejects with the typed errors of errors.ts. */
export async function runWorkflow(opts: RunWorkflowOptions): Promise<RunResult> {
  const client = opts.client ?? new ComfyClient(opts.instance, { timeoutMs: opts.timeoutMs ?? 15_000 });
  try {
    return await run(client, opts);
  } catch (e) {
    // An abort before queueing surfaces as undici's AbortError: same meaning as an interrupt.
    if (e instanceof Error && (e.name === 'AbortError' || (e as { code?: unknown }).code === 'ABORT_ERR')) {
      throw new ComfyInterruptedError(null, null, 'interrupted before the prompt was queued');
    }
    throw e;
  } finally {
    if (!opts.client) await client.close();
  }
}

async function run(client: ComfyClient, opts: RunWorkflowOptions): Promise<RunResult> {
  const signal = opts.signal;
  const t0 = Date.now();
  const emit = (p: Partial<RunProgress> & Pick<RunProgress, 'phase'>): void => {
    opts.onProgress?.({
      promptId: null,
      node: null,
      nodeTitle: null,
      step: null,
      percent: 0,
      nodesDone: 0,
      nodesTotal: 0,
      etaMs: null,
      queueRemaining: null,
      ...p,
      elapsedMs: Date.now() - t0,
    });
  };
  const throwIfAborted = (promptId: string | null): void => {
    if (signal?.aborted)
      throw new ComfyInterruptedError(promptId, null, 'interrupted before the prompt was queued');
  };
  emit({ phase: 'preparing' });

  // 1. Convert (object_info only needed for UI workflows and for --set input checks).
  let info: ObjectInfoMap | undefined = opts.objectInfo;
  const needInfo = async (): Promise<ObjectInfoMap> => (info ??= await getObjectInfo(client, signal));
  const isApi =
    isApiPrompt(opts.workflow) ||
    (isJsonObject(opts.workflow) && isApiPrompt(opts.workflow['prompt'] ?? null));
  const converted = convertWorkflow(
    opts.workflow,
    isApi ? {} : await needInfo(),
    opts.newSeed ? { newSeeds: randomSeed } : {},
  );
  const prompt = converted.prompt;
  const warnings = [...converted.warnings];
  throwIfAborted(null);

  // 2. --set NODE.INPUT=VALUE
  for (const s of opts.sets ?? [])
    await applySet(
      prompt,
      s,
      isApi
        ? async (cls) => await client.objectInfoOf(cls, signal)
        : async (cls) => (await needInfo())[cls] ?? null,
    );

  // 3. Images → LoadImage nodes, in node-id order.
  const images = opts.images ?? [];
  if (images.length > 0) {
    const loaders = Object.keys(prompt)
      .filter((id) => (prompt[id] as JsonObject)['class_type'] === 'LoadImage')
      .sort(compareIds);
    if (images.length > loaders.length) {
      throw new ComfyWorkflowError(
        `${images.length} --image given but the workflow has ${loaders.length} LoadImage node(s)${loaders.length ? ` (${loaders.join(', ')})` : ''}`,
        undefined,
        'usage',
      );
    }
    emit({ phase: 'uploading' });
    for (const [i, path] of images.entries()) {
      let data: Buffer;
      try {
        data = await readFile(path);
      } catch (e) {
        throw new ComfyWorkflowError(
          `Cannot read --image ${path}: ${(e as Error).message}`,
          undefined,
          'usage',
        );
      }
      const up = await client.uploadImage({ data, filename: basename(path), type: 'input' }, signal);
      const node = prompt[loaders[i]!] as JsonObject;
      (node['inputs'] as JsonObject)['image'] = up.subfolder ? `${up.subfolder}/${up.name}` : up.name;
    }
  }
  throwIfAborted(null);

  // The output nodes, for a node count that ends at its total.
  const outputIds = await findOutputNodes(prompt, info, client, signal);

  // 4. Socket first, then queue with its id and our own prompt id (no race on early events).
  const sock = await openComfySocket(client.url, { connectTimeoutMs: opts.timeoutMs ?? 5_000 });
  try {
    return await queueAndWait(client, sock, opts, prompt, outputIds, converted.titles, warnings, t0, emit);
  } finally {
    await sock.close();
  }
}

async function queueAndWait(
  client: ComfyClient,
  sock: ComfySocket,
  opts: RunWorkflowOptions,
  prompt: JsonObject,
  outputIds: string[],
  titles: Record<string, string>,
  warnings: string[],
  t0: number,
  emit: (p: Partial<RunProgress> & Pick<RunProgress, 'phase'>) => void,
): Promise<RunResult> {
  const signal = opts.signal;
  const ourId = randomUUID();
  let promptId: string = ourId;
  const buffered: ComfyWsMessage[] = [];
  let handler: ((m: ComfyWsMessage) => void) | null = null;
  const offMsg = sock.onMessage((m) => (handler ? handler(m) : buffered.push(m)));
  const extraData: JsonObject = {};
  if (isJsonObject(opts.workflow) && Array.isArray(opts.workflow['nodes']))
    extraData['extra_pnginfo'] = { workflow: opts.workflow };
  const queuedAt = Date.now();
  let startedAt: number | null = null;
  try {
    if (signal?.aborted)
      throw new ComfyInterruptedError(null, null, 'interrupted before the prompt was queued');
    const res = await client.queuePrompt(prompt, {
      clientId: sock.clientId,
      promptId: ourId,
      extraData,
      titles,
    });
    // (No signal on the POST itself: once sent, the prompt may be queued; an abort is handled below with /interrupt.)
    // Servers before 2025-07 ignore our prompt_id (docs/comfyui.md, "HTTP routes"): follow theirs.
    promptId = res.promptId;
    for (const [id, ne] of Object.entries(res.nodeErrors)) {
      warnings.push(
        peerLine(
          `node ${id} (${ne.class_type}) failed validation and will not run: ${(Array.isArray(ne.errors) ? ne.errors : []).map((e) => e.message).join('; ')}`,
        ),
      );
    }
    // The node count covers the nodes that will run: the valid outputs and what they need, less the
    // ones the server has cached (`execution_cached`), so it ends at its total.
    const toRun = nodesToRun(prompt, outputIds, res.nodeErrors);
    let total = toRun.size;
    const started = new Set<string>();
    let done = 0;
    let lastQueued: number | null = null;
    let node: string | null = null;
    let nodeStart = Date.now();
    let step: { value: number; max: number } | null = null;
    const finished = new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (err?: Error): void => {
        if (settled) return;
        settled = true;
        clearInterval(poller);
        signal?.removeEventListener('abort', onAbort);
        offClose();
        if (err) reject(err);
        else resolve();
      };
      const progress = (): void => {
        const percent =
          step && step.max > 0 ? (100 * step.value) / step.max : total > 0 ? (100 * done) / total : 0;
        const etaMs =
          step && step.value > 0 ? ((Date.now() - nodeStart) / step.value) * (step.max - step.value) : null;
        emit({
          phase: 'running',
          promptId,
          node,
          nodeTitle: node ? peerLine(titles[node] ?? node, 200) : null,
          step,
          percent,
          nodesDone: done,
          nodesTotal: total,
          etaMs,
        });
      };
      handler = (m) => {
        if (m.type === 'status') {
          // Only a change is news: the queue line is drawn once and then updated.
          if (startedAt === null && m.data.queueRemaining !== lastQueued) {
            lastQueued = m.data.queueRemaining;
            emit({ phase: 'queued', promptId, queueRemaining: m.data.queueRemaining, nodesTotal: total });
          }
          return;
        }
        const pid =
          m.type !== 'unknown' && isJsonObject(m.data)
            ? (m.data as { prompt_id?: unknown }).prompt_id
            : undefined;
        if (pid !== promptId) return;
        switch (m.type) {
          case 'execution_start':
            // No line yet: `execution_cached` follows at once and settles the node count.
            startedAt = Date.now();
            break;
          case 'execution_cached':
            for (const id of m.data.nodes) if (toRun.delete(id)) total--;
            progress();
            break;
          case 'executing': {
            if (m.data.node === null) {
              done = Math.min(total, started.size);
              if (total > 0) progress();
              return finish();
            }
            const shown = m.data.display_node ?? m.data.node;
            // Expanded nodes (ephemeral ids) count as the node they were shown as.
            if (!toRun.has(shown) && !toRun.has(m.data.node)) break;
            if (node !== null && node !== shown) done = Math.min(total, started.size);
            started.add(shown);
            node = shown;
            nodeStart = Date.now();
            step = null;
            progress();
            break;
          }
          case 'progress':
            if (m.data.node && m.data.node !== node) {
              node = m.data.node;
              nodeStart = Date.now();
            }
            step = { value: m.data.value, max: m.data.max };
            progress();
            break;
          case 'execution_error':
            return finish(new ComfyExecutionError(m.data, m.data.node_id ? titles[m.data.node_id] : null));
          case 'execution_interrupted':
            return finish(new ComfyInterruptedError(promptId, m.data.node_id));
          default:
            break;
        }
      };
      // Safety net: if the socket drops or a message is lost, /history still tells us the outcome.
      const poller = setInterval(() => {
        void client.history(promptId).then(
          (h) => {
            if (h) finish(outcomeError(h, promptId, titles) ?? undefined);
          },
          () => undefined,
        );
      }, opts.pollMs ?? 2_000);
      const offClose = sock.onClose(({ byUs }) => {
        if (!byUs)
          warnings.push('the WebSocket closed during the run; following the prompt through /history');
      });
      const onAbort = (): void => {
        // Ctrl+C: stop it on the server too (interrupt if running, delete if still pending), then reject.
        void Promise.allSettled([client.interrupt(promptId), client.deleteFromQueue([promptId])]).then(() =>
          finish(
            new ComfyInterruptedError(
              promptId,
              node,
              `interrupted by the user; sent POST /interrupt for prompt ${promptId}`,
            ),
          ),
        );
      };
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
      // Events that came before the reply (a fully cached prompt can be over by then), last: `finish` uses the above.
      for (const m of buffered.splice(0)) handler?.(m);
    });
    await finished;
  } finally {
    offMsg();
  }

  // 5. Outcome from history (written before `executing null`, docs/comfyui.md, "HTTP routes").
  const entry = await client.history(promptId);
  if (!entry)
    throw new ComfyUnreachableError(
      client.url,
      'other',
      `prompt ${promptId} finished but /history has no entry for it`,
    );
  const err = outcomeError(entry, promptId, titles);
  if (err) throw err;
  emit({ phase: 'downloading', promptId, percent: 100 });
  const seeds = collectSeeds(prompt);
  const finishedAt = Date.now();
  const timings = {
    queuedAt,
    startedAt,
    finishedAt,
    queueMs: startedAt !== null ? startedAt - queuedAt : null,
    executionMs: startedAt !== null ? finishedAt - startedAt : null,
    totalMs: finishedAt - t0,
  };
  await mkdir(opts.outDir, { recursive: true });
  const outputs: RunOutput[] = [];
  const textOutputs: RunTextOutput[] = [];
  for (const [nodeId, ui] of Object.entries(isJsonObject(entry.outputs) ? entry.outputs : {})) {
    textOutputs.push(...textsOf(nodeId, ui));
    for (const ref of fileRefs(ui)) {
      // Names come from the server: only a cleaned base name is used, and never an existing file.
      const file = await claimOutputFile(opts.outDir, ref.filename);
      try {
        await client.download(ref, file, opts.signal, {
          maxBytes: opts.maxDownloadBytes ?? DEFAULT_MAX_DOWNLOAD_BYTES,
        });
      } catch (e) {
        await rm(file, { force: true }).catch(() => undefined);
        throw e;
      }
      const sidecar = await claimOutputFile(opts.outDir, `${basename(file)}.json`);
      await writeFile(
        sidecar,
        stringifyJson(
          {
            prompt_id: promptId,
            instance: client.url,
            node: nodeId,
            node_title: titles[nodeId] ?? null,
            source: ref,
            seeds: seeds.map((s) => ({ ...s })),
            timings,
            prompt,
          },
          2,
        ) + '\n',
      );
      outputs.push({ file, sidecar, node: nodeId, type: ref.type });
    }
  }
  emit({ phase: 'done', promptId, percent: 100 });
  return { promptId, outputs, textOutputs, seeds, timings, warnings, prompt };
}

/**
 * The typed error a finished history entry stands for, or null on success (interrupts are stored as errors,
 * docs/comfyui.md, "HTTP routes").
 */
export function outcomeError(
  h: ComfyHistoryEntry,
  promptId: string,
  titles: Record<string, string> = {},
): ComfyError | null {
  const msgs = h.status?.messages ?? [];
  const last = msgs[msgs.length - 1];
  if (h.status?.status_str !== 'error') return null;
  if (last && last[0] === 'execution_interrupted')
    return new ComfyInterruptedError(
      promptId,
      typeof last[1]['node_id'] === 'string' ? last[1]['node_id'] : null,
    );
  const e = msgs.find((m) => m[0] === 'execution_error');
  if (e) {
    const d = e[1];
    const nodeId = typeof d['node_id'] === 'string' ? d['node_id'] : null;
    return new ComfyExecutionError(
      {
        prompt_id: promptId,
        node_id: typeof d['node_id'] === 'string' ? d['node_id'] : null,
        node_type: typeof d['node_type'] === 'string' ? d['node_type'] : null,
        exception_type: jsonText(d['exception_type'] ?? ''),
        exception_message: jsonText(d['exception_message'] ?? ''),
        traceback: Array.isArray(d['traceback']) ? d['traceback'].map(String) : [],
      } satisfies ComfyExecutionErrorData,
      nodeId ? (titles[nodeId] ?? null) : null,
    );
  }
  return new ComfyInterruptedError(promptId, null, `prompt ${promptId} ended with an error status`);
}

function fileRefs(ui: Record<string, JsonValue>): ComfyFileRef[] {
  const out: ComfyFileRef[] = [];
  for (const v of Object.values(ui ?? {})) {
    if (!Array.isArray(v)) continue;
    for (const x of v) {
      if (isJsonObject(x) && typeof x['filename'] === 'string') {
        out.push({
          filename: x['filename'],
          subfolder: typeof x['subfolder'] === 'string' ? x['subfolder'] : '',
          type: typeof x['type'] === 'string' ? x['type'] : 'output',
        });
      }
    }
  }
  return out;
}

/**
 * A file name from the server made safe: its last path component only (either separator), control
 * characters and characters Windows refuses replaced, no leading dots, at most 200 characters;
 * `..`, `.` or an empty name become `output`.
 */
export function safeOutputName(name: string): string {
  const last = name.split(/[/\\]/).pop() ?? '';
  let clean = stripAnsi(last)
    // eslint-disable-next-line no-control-regex -- control characters are what is replaced
    .replace(/[\x00-\x1f\x7f-\x9f<>:"|?*\u202a-\u202e\u2066-\u2069]/g, '_')
    .replace(/^[.\s]+/, '')
    .replace(/[.\s]+$/, '');
  if (clean.length > 200) {
    const ext = extname(clean).slice(0, 20);
    clean = clean.slice(0, 200 - ext.length) + ext;
  }
  return clean || 'output';
}

/**
 * Create (exclusively) a new file inside `dir` named after `name` (made safe), adding `-1`, `-2`, …
 * before the extension while the name is taken. Returns its path; the file exists, empty.
 */
export async function claimOutputFile(dir: string, name: string): Promise<string> {
  const safe = safeOutputName(name);
  const ext = extname(safe);
  const stem = safe.slice(0, safe.length - ext.length) || 'output';
  for (let i = 0; i < 10_000; i++) {
    const candidate = join(dir, i === 0 ? `${stem}${ext}` : `${stem}-${i}${ext}`);
    try {
      await (await open(candidate, 'wx')).close();
      return candidate;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  throw new ComfyWorkflowError(`cannot find a free file name for ${safe} in ${dir}`);
}

/** Non-file values of an output node's UI dict (`text`, …), as cleaned strings. */
function textsOf(node: string, ui: Record<string, JsonValue>): RunTextOutput[] {
  const out: RunTextOutput[] = [];
  for (const [key, v] of Object.entries(isJsonObject(ui) ? ui : {})) {
    if (!Array.isArray(v) || v.some((x) => isJsonObject(x) && typeof x['filename'] === 'string')) continue;
    if (key !== 'text' && !v.every((x) => typeof x === 'string')) continue;
    out.push({ node, key, values: v.map((x) => peerLines(jsonText(x)).join('\n')) });
  }
  return out;
}

/**
 * Ids of the prompt's output nodes (object_info `output_node`). An API prompt has no object_info at
 * hand: the definitions of its classes are fetched; without them, nodes nothing links to stand in.
 */
async function findOutputNodes(
  prompt: JsonObject,
  info: ObjectInfoMap | undefined,
  client: ComfyClient,
  signal?: AbortSignal,
): Promise<string[]> {
  const classOf = (id: string): string => jsonText((prompt[id] as JsonObject)['class_type']);
  const defs: Record<string, JsonObject | null> = {};
  try {
    await Promise.all(
      [...new Set(Object.keys(prompt).map(classOf))].map(async (cls) => {
        defs[cls] = info ? (info[cls] ?? null) : await client.objectInfoOf(cls, signal);
      }),
    );
    return Object.keys(prompt).filter((id) => defs[classOf(id)]?.['output_node'] === true);
  } catch (e) {
    if (signal?.aborted) throw e;
    const linked = new Set<string>();
    for (const n of Object.values(prompt)) {
      const inputs = isJsonObject(n) ? n['inputs'] : null;
      if (isJsonObject(inputs))
        for (const v of Object.values(inputs))
          if (Array.isArray(v) && typeof v[0] === 'string') linked.add(v[0]);
    }
    return Object.keys(prompt).filter((id) => !linked.has(id));
  }
}

/** The nodes that run: the outputs that validated and every node they depend on. */
function nodesToRun(
  prompt: JsonObject,
  outputs: string[],
  nodeErrors: Record<string, { dependent_outputs?: string[] }>,
): Set<string> {
  const failed = new Set(Object.values(nodeErrors).flatMap((n) => n.dependent_outputs ?? []));
  const out = new Set<string>();
  const visit = (id: string): void => {
    if (out.has(id) || !isJsonObject(prompt[id])) return;
    out.add(id);
    const inputs = prompt[id]['inputs'];
    if (isJsonObject(inputs))
      for (const v of Object.values(inputs))
        if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string') visit(v[0]);
  };
  for (const o of outputs) if (!failed.has(o)) visit(o);
  return out;
}

function compareIds(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  return Number.isFinite(na) && Number.isFinite(nb) ? na - nb : a.localeCompare(b);
}

/** Seeds in the prompt (`seed`, `noise_seed` and literal `value`s of seed-titled primitives). */
export function collectSeeds(prompt: JsonObject): RunSeed[] {
  const out: RunSeed[] = [];
  for (const id of Object.keys(prompt).sort(compareIds)) {
    const n = prompt[id] as JsonObject;
    const inputs = isJsonObject(n['inputs']) ? n['inputs'] : {};
    for (const k of ['seed', 'noise_seed']) {
      const v = inputs[k];
      if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'string')
        out.push({ node: id, input: k, value: v });
    }
  }
  return out;
}

/**
 * Apply one `NODE.INPUT=VALUE` to an API prompt. NODE is a node id or a `_meta.title`; the input must
 * exist on the node or in its object_info definition. VALUE is JSON when it parses (lossless), else a string.
 */
export async function applySet(
  prompt: JsonObject,
  set: string,
  defOf: (cls: string) => Promise<JsonObject | null>,
): Promise<void> {
  const eq = set.indexOf('=');
  const lhs = eq > 0 ? set.slice(0, eq) : '';
  const dot = lhs.lastIndexOf('.');
  if (eq <= 0 || dot <= 0 || dot === lhs.length - 1) {
    throw new ComfyWorkflowError(
      `--set ${JSON.stringify(set)}: expected NODE.INPUT=VALUE (NODE = node id or title), e.g. --set 3.steps=30 or --set "KSampler.cfg=7.5"`,
      undefined,
      'usage',
    );
  }
  const nodeRef = lhs.slice(0, dot);
  const input = lhs.slice(dot + 1);
  const raw = set.slice(eq + 1);
  let value: JsonValue;
  try {
    value = parseJsonLossless(raw);
  } catch {
    value = raw;
  }
  let id: string | undefined = isJsonObject(prompt[nodeRef]) ? nodeRef : undefined;
  if (!id) {
    const byTitle = Object.keys(prompt).filter((k) => {
      const m = (prompt[k] as JsonObject)['_meta'];
      return isJsonObject(m) && m['title'] === nodeRef;
    });
    if (byTitle.length > 1) {
      throw new ComfyWorkflowError(
        `--set ${nodeRef}.${input}: ${byTitle.length} nodes are titled "${nodeRef}" (${byTitle.join(', ')}); use the node id instead`,
        undefined,
        'usage',
      );
    }
    id = byTitle[0];
  }
  if (!id) {
    const known = Object.keys(prompt)
      .sort(compareIds)
      .map((k) => {
        const m = (prompt[k] as JsonObject)['_meta'];
        return `${k} (${isJsonObject(m) && typeof m['title'] === 'string' ? m['title'] : jsonText((prompt[k] as JsonObject)['class_type'])})`;
      });
    throw new ComfyWorkflowError(
      `--set ${set}: no node with id or title "${nodeRef}". Nodes: ${known.join(', ')}`,
      undefined,
      'usage',
    );
  }
  const node = prompt[id] as JsonObject;
  const inputs: JsonObject = isJsonObject(node['inputs']) ? node['inputs'] : (node['inputs'] = {});
  if (!(input in inputs)) {
    const def = await defOf(jsonText(node['class_type']));
    const names = def ? orderedInputs(def).map((s) => s.name) : Object.keys(inputs);
    if (!names.includes(input)) {
      throw new ComfyWorkflowError(
        `--set ${set}: node ${id} (${jsonText(node['class_type'])}) has no input "${input}". Inputs: ${names.join(', ') || '(none)'}`,
        undefined,
        'usage',
      );
    }
  }
  inputs[input] = Array.isArray(value) ? { __value__: value } : value;
}
