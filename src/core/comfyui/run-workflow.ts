/**
 * Run a workflow on one instance end to end: convert, apply `--set`, upload images, queue with our
 * socket's id (socket opened BEFORE queueing, spec/comfyui-api.md §2.2), follow progress, and download the
 * outputs from /history via /view (§2.5: `executing {node: null}` is the "result is in history" signal).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';

import { ComfyClient, type ComfyFileRef, type ComfyHistoryEntry, type ObjectInfoMap } from './client.js';
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
   * frontend's next run would; by default the saved seed is sent as is (spec §3.5 P14).
   */
  newSeed?: boolean;
}

/** A random seed like the frontend's: uniform in [0, 2^50) (spec §3.5 P14). */
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

  // 4. Socket first, then queue with its id and our own prompt id (no race on early events).
  const sock = await openComfySocket(client.url, { connectTimeoutMs: opts.timeoutMs ?? 5_000 });
  try {
    return await queueAndWait(client, sock, opts, prompt, converted.titles, warnings, t0, emit);
  } finally {
    await sock.close();
  }
}

async function queueAndWait(
  client: ComfyClient,
  sock: ComfySocket,
  opts: RunWorkflowOptions,
  prompt: JsonObject,
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
    // Servers before 2025-07 ignore our prompt_id (spec §0 landmarks): follow theirs.
    promptId = res.promptId;
    for (const [id, ne] of Object.entries(res.nodeErrors)) {
      warnings.push(
        `node ${id} (${ne.class_type}) failed validation and will not run: ${ne.errors.map((e) => e.message).join('; ')}`,
      );
    }
    const total = Object.keys(prompt).length;
    let done = 0;
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
          nodeTitle: node ? (titles[node] ?? null) : null,
          step,
          percent,
          nodesDone: done,
          nodesTotal: total,
          etaMs,
        });
      };
      handler = (m) => {
        if (m.type === 'status') {
          if (startedAt === null)
            emit({ phase: 'queued', promptId, queueRemaining: m.data.queueRemaining, nodesTotal: total });
          return;
        }
        const pid =
          m.type !== 'unknown' && isJsonObject(m.data)
            ? (m.data as { prompt_id?: unknown }).prompt_id
            : undefined;
        if (pid !== promptId) return;
        switch (m.type) {
          case 'execution_start':
            startedAt = Date.now();
            progress();
            break;
          case 'execution_cached':
            done += m.data.nodes.length;
            progress();
            break;
          case 'executing':
            if (m.data.node === null) return finish();
            if (node !== null) done++;
            node = m.data.display_node ?? m.data.node;
            nodeStart = Date.now();
            step = null;
            progress();
            break;
          case 'progress':
            if (m.data.node && m.data.node !== node) {
              node = m.data.node;
              nodeStart = Date.now();
            }
            step = { value: m.data.value, max: m.data.max };
            progress();
            break;
          case 'execution_error':
            return finish(new ComfyExecutionError(m.data));
          case 'execution_interrupted':
            return finish(new ComfyInterruptedError(promptId, m.data.node_id));
          default:
            break;
        }
      };
      for (const m of buffered.splice(0)) handler(m);
      // Safety net: if the socket drops or a message is lost, /history still tells us the outcome.
      const poller = setInterval(() => {
        void client.history(promptId).then(
          (h) => {
            if (h) finish(outcomeError(h, promptId) ?? undefined);
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
    });
    await finished;
  } finally {
    offMsg();
  }

  // 5. Outcome from history (written before `executing null`, §1.5).
  const entry = await client.history(promptId);
  if (!entry)
    throw new ComfyUnreachableError(
      client.url,
      'other',
      `prompt ${promptId} finished but /history has no entry for it`,
    );
  const err = outcomeError(entry, promptId);
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
  for (const [nodeId, ui] of Object.entries(entry.outputs ?? {})) {
    for (const ref of fileRefs(ui)) {
      const file = uniquePath(join(opts.outDir, basename(ref.filename)), outputs);
      await client.download(ref, file, opts.signal);
      const sidecar = `${file}.json`;
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
  return { promptId, outputs, seeds, timings, warnings, prompt };
}

/** The typed error a finished history entry stands for, or null on success (interrupts are stored as errors, §1.5). */
export function outcomeError(h: ComfyHistoryEntry, promptId: string): ComfyError | null {
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
    return new ComfyExecutionError({
      prompt_id: promptId,
      node_id: typeof d['node_id'] === 'string' ? d['node_id'] : null,
      node_type: typeof d['node_type'] === 'string' ? d['node_type'] : null,
      exception_type: jsonText(d['exception_type'] ?? ''),
      exception_message: jsonText(d['exception_message'] ?? ''),
      traceback: Array.isArray(d['traceback']) ? d['traceback'].map(String) : [],
    } satisfies ComfyExecutionErrorData);
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

function uniquePath(p: string, taken: RunOutput[]): string {
  let candidate = p;
  const ext = extname(p);
  for (let i = 1; existsSync(candidate) || taken.some((o) => o.file === candidate); i++)
    candidate = `${p.slice(0, p.length - ext.length)}-${i}${ext}`;
  return candidate;
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
