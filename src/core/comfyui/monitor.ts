/**
 * Watches several ComfyUI instances (docs/comfyui.md, "WebSocket": who receives what; "Several instances")
 * and produces `ComfyInstance` snapshots. Progress events only reach the submitting client's socket, so
 * prompts queued by others are followed by polling /queue (and /history on completion) whenever a `status`
 * broadcast arrives; `progress`/`progress_state` that do reach our socket (prompts without client_id) refine
 * it.
 */
import net from 'node:net';

import type { ComfyInstance } from '../../shared/comfy-instance.js';
import {
  classifyNetworkError,
  ComfyClient,
  ComfyTooLargeError,
  normalizeBaseUrl,
  type ComfyHistoryEntry,
} from './client.js';
import { ComfyError, ComfyExecutionError, ComfyUnreachableError, type UnreachableReason } from './errors.js';
import { isJsonObject, jsonText, type JsonObject } from './json.js';
import { outcomeError } from './run-workflow.js';
import { peerLine, peerLineOrNull } from './text.js';
import { openComfySocket, type ComfySocket, type ComfyWsMessage } from './ws.js';

/** The last-error shape of a ComfyInstance. */
export type ComfyInstanceError = NonNullable<ComfyInstance['lastError']>;

/** Progress of one prompt as its submitter reports it (the `comfy:report-progress` request). */
export interface ReportedProgress {
  url: string;
  promptId: string;
  node: string | null;
  nodeTitle: string | null;
  value: number;
  max: number;
}

/** Options of {@link createComfyMonitor}. */
export interface ComfyMonitorOptions {
  /** Configured instance URLs. */
  instances: string[];
  /** Also probe 127.0.0.1 on `ports` (loopback only). */
  discover: boolean;
  /**
   * Poll period, ms. An instance that does not answer is re-checked less and less often: after `n`
   * failed polls in a row it waits `pollIntervalMs × 2^(n-1)`, up to {@link unreachableBackoffCapMs}
   * (30 s at the default 5-s period). `refresh()` and `setInstances()` check every instance at once.
   */
  pollIntervalMs: number;
  /** Called with the full list whenever something other than `checkedAt` changed. */
  onChange(instances: ComfyInstance[]): void;
  /** Called once per failed prompt (any client's) noticed on an instance. */
  onJobFailed?(instanceUrl: string, error: ComfyInstanceError): void;
  /** Called once per prompt (any client's) that finished successfully, found through /history. */
  onJobFinished?(instanceUrl: string, job: ComfyJobFinished): void;
  /** Discovery ports (default 8188–8199 and 8000). */
  ports?: number[];
  /** HTTP timeout per request, ms (default 2000: a monitor must stay snappy). */
  requestTimeoutMs?: number;
  /** Open a WebSocket per reachable instance (default true). */
  websocket?: boolean;
  /** Client factory (tests). */
  createClient?: (url: string) => ComfyClient;
  /**
   * Whether something accepts TCP connections at an instance's address (default {@link tcpProbe}):
   * `true` when it does; `false` or why not (`false` reads as refused) when it does not. An instance
   * not checked yet or whose last poll failed is probed this way first, and polled over HTTP only
   * when the probe connects: a refused connect costs a fraction of a failed HTTP request, and an idle
   * Luna Tray whose ComfyUI is not running never loads the HTTP client (docs/benchmarks.md, "idle").
   */
  probe?: (url: string, timeoutMs: number) => Promise<boolean | UnreachableReason>;
}

/** Handle returned by {@link createComfyMonitor}. */
export interface ComfyMonitor {
  /** The current list (configured first, then discovered). */
  snapshot(): ComfyInstance[];
  /** Replace the configured URLs. */
  setInstances(urls: string[]): void;
  /** Poll everything now; resolves with the fresh snapshot. */
  refresh(): Promise<ComfyInstance[]>;
  /** Forget an instance's last error; false when the URL is not watched. */
  dismissError(url: string): boolean;
  /** Step progress reported by the prompt's submitter (`luna-tray run`); false when the URL is not watched. */
  reportProgress(p: ReportedProgress): boolean;
  /** Stop timers, close sockets and pools. */
  dispose(): Promise<void>;
}

/**
 * The longest wait between two checks of an unreachable instance: six poll periods, but never more
 * than a minute (unless the poll period itself is longer). 5-s period → 5, 10, 20, 30, 30 … s.
 */
export function unreachableBackoffCapMs(pollIntervalMs: number): number {
  return Math.max(pollIntervalMs, Math.min(6 * pollIntervalMs, 60_000));
}

/** Delay before the next check of an instance that failed `failures` polls in a row (≥ 1). */
export function unreachableBackoffMs(pollIntervalMs: number, failures: number): number {
  const cap = unreachableBackoffCapMs(pollIntervalMs);
  return Math.min(cap, pollIntervalMs * 2 ** Math.min(Math.max(0, failures - 1), 30));
}

/** True when a TCP connect to the host and port of `baseUrl` succeeds within `timeoutMs`. */
export async function tcpReachable(baseUrl: string, timeoutMs: number): Promise<boolean> {
  return (await tcpProbe(baseUrl, timeoutMs)) === true;
}

/** A TCP connect to the host and port of `baseUrl`: `true`, or why it failed within `timeoutMs`. */
export function tcpProbe(baseUrl: string, timeoutMs: number): Promise<true | UnreachableReason> {
  let host: string;
  let port: number;
  try {
    const u = new URL(baseUrl);
    host = u.hostname.replace(/^\[(.*)\]$/, '$1');
    port = Number(u.port) || (u.protocol === 'https:' ? 443 : 80);
  } catch {
    return Promise.resolve('other');
  }
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (result: true | UnreachableReason): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', (err) => done(classifyNetworkError(err) ?? 'other'));
  });
}

/** Default discovery ports: core 8188 upwards, Desktop 8000 (docs/comfyui.md, "Several instances"). */
export const DEFAULT_DISCOVERY_PORTS: readonly number[] = [
  8188, 8189, 8190, 8191, 8192, 8193, 8194, 8195, 8196, 8197, 8198, 8199, 8000,
];

interface Entry {
  url: string;
  discovered: boolean;
  client: ComfyClient;
  socket: ComfySocket | null;
  socketPending: boolean;
  state: ComfyInstance;
  /** `{nodeId: title}` of the running prompt (from its queue item). */
  titles: Record<string, string>;
  /** Prompt ids already seen in /history (null until the first look); new error entries are reported. */
  historySeen: Set<string> | null;
  /** A prompt finished (or left the queue) since /history was last read. */
  historyDue: boolean;
  /** `queue_remaining` of the last status broadcast, to notice prompts finishing. */
  lastRemaining: number | null;
  /** Prompt running at the last /queue read. */
  lastRunning: string | null;
  reported: Set<string>;
  queuePoll: Promise<void> | null;
  /** A status broadcast arrived while /queue was being read: read it again afterwards. */
  queuePollAgain: boolean;
  disposers: Array<() => void>;
  /** Failed polls in a row (reachable again → 0). */
  failures: number;
  /** When the scheduled poll cycle checks this entry next (monotonic ms; 0 = next cycle). */
  nextPollAt: number;
}

/** Durations use a monotonic clock: a wall-clock jump must not stall or rush the polling. */
const monotonic = (): number => performance.now();

function blank(url: string, discovered: boolean): ComfyInstance {
  return {
    url,
    reachable: false,
    problem: 'not checked yet',
    version: null,
    os: null,
    devices: [],
    queue: { running: 0, pending: 0 },
    progress: null,
    lastError: null,
    checkedAt: 0,
    discovered,
  };
}

/** Start watching. The first poll starts immediately. */
export function createComfyMonitor(opts: ComfyMonitorOptions): ComfyMonitor {
  const timeout = opts.requestTimeoutMs ?? 2_000;
  const make =
    opts.createClient ??
    ((url: string) =>
      new ComfyClient(url, { timeoutMs: timeout, connectTimeoutMs: Math.min(timeout, 1_000) }));
  const entries = new Map<string, Entry>();
  let configured: string[] = [];
  let disposed = false;
  let lastEmitted = '';
  let timer: NodeJS.Timeout | null = null;
  let polling: Promise<ComfyInstance[]> | null = null;
  /** Whether the poll in flight checks every instance (a `refresh()`), not only the due ones. */
  let pollingAll = false;
  let cycle = 0;

  const entryFor = (url: string, discovered: boolean): Entry => {
    let e = entries.get(url);
    if (!e) {
      e = {
        url,
        discovered,
        client: make(url),
        socket: null,
        socketPending: false,
        state: blank(url, discovered),
        titles: {},
        historySeen: null,
        historyDue: false,
        lastRemaining: null,
        lastRunning: null,
        reported: new Set(),
        queuePoll: null,
        queuePollAgain: false,
        disposers: [],
        failures: 0,
        nextPollAt: 0,
      };
      entries.set(url, e);
    }
    return e;
  };

  const drop = async (e: Entry): Promise<void> => {
    entries.delete(e.url);
    for (const d of e.disposers.splice(0)) d();
    await e.socket?.close().catch(() => undefined);
    await e.client.close();
  };

  const snapshot = (): ComfyInstance[] => {
    const list = [...entries.values()];
    const conf = list
      .filter((e) => !e.discovered)
      .sort((a, b) => configured.indexOf(a.url) - configured.indexOf(b.url));
    const disc = list
      .filter((e) => e.discovered && e.state.reachable)
      .sort((a, b) => a.url.localeCompare(b.url));
    return [...conf, ...disc].map((e) => ({ ...e.state, devices: e.state.devices.map((d) => ({ ...d })) }));
  };

  const emitIfChanged = (): void => {
    if (disposed) return;
    const snap = snapshot();
    const key = JSON.stringify(snap.map((s) => ({ ...s, checkedAt: 0 })));
    if (key === lastEmitted) return;
    lastEmitted = key;
    opts.onChange(snap);
  };

  /** Record a failed prompt: it becomes `lastError`, and `onJobFailed` fires once per prompt id. */
  const setError = (e: Entry, err: ComfyInstanceError): void => {
    const id = err.promptId ?? `${err.at}`;
    if (e.reported.has(id)) return;
    e.reported.add(id);
    trimSet(e.reported, REMEMBERED_PROMPTS);
    e.state.lastError = err;
    opts.onJobFailed?.(e.url, err);
  };

  /**
   * Every failed prompt, whoever queued it and however briefly it ran: `execution_error` reaches only
   * the submitter's socket (docs/comfyui.md, "WebSocket"), so the newest /history entries are read whenever a
   * prompt finished, and each error entry not seen before is reported. The first read is the baseline.
   */
  const reconcileHistory = async (e: Entry): Promise<void> => {
    e.historyDue = false;
    let entries: Record<string, ComfyHistoryEntry>;
    try {
      entries = await e.client.historyAll({ maxItems: HISTORY_WINDOW });
    } catch (err) {
      // Entries embed whole workflows: past the reply cap, read only the newest few.
      if (!(err instanceof ComfyTooLargeError)) throw err;
      entries = await e.client.historyAll({ maxItems: 4 }).catch(() => ({}));
    }
    const baseline = e.historySeen === null;
    const seen = (e.historySeen ??= new Set());
    for (const [id, h] of Object.entries(entries)) {
      if (seen.has(id)) continue;
      seen.add(id);
      if (baseline || !isJsonObject(h)) continue;
      const err = outcomeError(h, id);
      if (err instanceof ComfyExecutionError) setError(e, instanceError(err, id, h));
      else if (h.status?.status_str === 'success') opts.onJobFinished?.(e.url, finishedJob(id, h));
    }
    trimSet(seen, REMEMBERED_PROMPTS);
  };

  const pollQueue = (e: Entry): Promise<void> => {
    if (e.queuePoll) {
      e.queuePollAgain = true;
      return e.queuePoll;
    }
    e.queuePoll = (async () => {
      try {
        do {
          e.queuePollAgain = false;
          const q = await e.client.getQueue();
          e.state.queue = { running: q.running.length, pending: q.pending.length };
          const run = q.running[0];
          if (run) {
            if (e.state.progress?.promptId !== run.promptId) {
              e.state.progress = {
                promptId: run.promptId,
                node: null,
                nodeTitle: null,
                value: 0,
                max: 0,
                startedAt: Date.now(),
                stepsVisible: false,
              };
              e.titles = titlesOf(run.prompt);
            }
          } else {
            e.state.progress = null;
          }
          // The prompt seen running last time is gone: it finished (without a socket, this is the only sign).
          if (e.lastRunning !== null && e.lastRunning !== (run?.promptId ?? null)) e.historyDue = true;
          e.lastRunning = run?.promptId ?? null;
          if (e.historySeen === null || e.historyDue) await reconcileHistory(e);
        } while (e.queuePollAgain);
      } catch (err) {
        if (err instanceof ComfyError) markUnreachable(e, err);
      } finally {
        e.queuePoll = null;
      }
    })();
    return e.queuePoll;
  };

  const markUnreachable = (e: Entry, err: ComfyError): void => {
    e.state.reachable = false;
    e.state.problem = peerLine(err.message);
    e.state.queue = { running: 0, pending: 0 };
    e.state.progress = null;
    const s = e.socket;
    e.socket = null;
    void s?.close().catch(() => undefined);
  };

  const onWs = (e: Entry, m: ComfyWsMessage): void => {
    switch (m.type) {
      case 'status':
        // Broadcast on every queue change: re-read /queue (the only way to see other clients' prompts).
        // A drop in the count means a prompt finished (or was deleted): /history says which and how.
        if (e.lastRemaining !== null && m.data.queueRemaining < e.lastRemaining) e.historyDue = true;
        e.lastRemaining = m.data.queueRemaining;
        void pollQueue(e).then(emitIfChanged);
        return;
      case 'progress': {
        const p = e.state.progress;
        const pid = m.data.prompt_id;
        if (!p || (pid && p.promptId !== pid)) {
          if (!pid) return;
          e.state.progress = {
            promptId: pid,
            node: null,
            nodeTitle: null,
            value: 0,
            max: 0,
            startedAt: Date.now(),
            stepsVisible: true,
          };
        }
        const cur = e.state.progress!;
        cur.value = m.data.value;
        cur.max = m.data.max;
        cur.stepsVisible = true;
        if (m.data.node) {
          cur.node = peerLine(m.data.node);
          cur.nodeTitle = e.titles[m.data.node] ?? null;
        }
        break;
      }
      case 'progress_state': {
        const running = Object.values(m.data.nodes).find((n) => n.state === 'running');
        if (!running) return;
        const pid = m.data.prompt_id;
        if (!e.state.progress || e.state.progress.promptId !== pid) {
          e.state.progress = {
            promptId: pid,
            node: null,
            nodeTitle: null,
            value: 0,
            max: 0,
            startedAt: Date.now(),
            stepsVisible: true,
          };
        }
        const node = running.display_node_id ?? running.node_id ?? null;
        e.state.progress.node = node === null ? null : peerLine(node);
        e.state.progress.nodeTitle = node ? (e.titles[node] ?? null) : null;
        e.state.progress.value = running.value;
        e.state.progress.max = running.max;
        e.state.progress.stepsVisible = true;
        break;
      }
      case 'executing':
        if (
          e.state.progress &&
          m.data.node &&
          (!m.data.prompt_id || m.data.prompt_id === e.state.progress.promptId)
        ) {
          const node = m.data.display_node ?? m.data.node;
          e.state.progress.node = peerLine(node);
          e.state.progress.nodeTitle = e.titles[node] ?? null;
        }
        break;
      case 'execution_error':
        setError(
          e,
          instanceError(
            new ComfyExecutionError({ ...m.data, prompt_id: m.data.prompt_id }),
            m.data.prompt_id || null,
            null,
            m.data.timestamp,
          ),
        );
        break;
      default:
        return;
    }
    emitIfChanged();
  };

  const ensureSocket = (e: Entry): void => {
    if (opts.websocket === false || e.socket || e.socketPending || disposed) return;
    e.socketPending = true;
    // A fresh client id per connection: reusing one trips the same-clientId replacement bug (docs/comfyui.md,
    // "WebSocket").
    openComfySocket(e.url, { connectTimeoutMs: timeout * 2, previewMetadata: false }).then(
      (s) => {
        e.socketPending = false;
        if (disposed || !entries.has(e.url)) return void s.close();
        e.socket = s;
        e.disposers.push(
          s.onMessage((m) => onWs(e, m)),
          s.onClose(() => {
            if (e.socket === s) e.socket = null;
          }),
        );
      },
      () => {
        e.socketPending = false;
      },
    );
  };

  const probe = opts.probe ?? tcpProbe;
  const pollOne = async (e: Entry): Promise<void> => {
    // Not checked yet or down last time, and nothing listening: unreachable, with its last problem
    // (the probe's on the first check).
    const probeMs = Math.min(timeout, 1_000);
    const probed = e.failures > 0 || e.state.checkedAt === 0 ? await probe(e.url, probeMs) : true;
    if (probed !== true) {
      if (e.state.checkedAt === 0) {
        const reason = probed === false ? 'refused' : probed;
        const detail = reason === 'timeout' ? `no TCP connect within ${probeMs} ms` : 'TCP connect failed';
        e.state.problem = peerLine(new ComfyUnreachableError(e.url, reason, detail).message);
      }
      e.state.reachable = false;
      e.state.checkedAt = Date.now();
      e.failures++;
      e.nextPollAt = monotonic() + unreachableBackoffMs(opts.pollIntervalMs, e.failures);
      return;
    }
    try {
      const stats = await e.client.systemStats();
      e.state.reachable = true;
      e.state.problem = null;
      e.state.version =
        typeof stats.system.comfyui_version === 'string' ? peerLine(stats.system.comfyui_version, 200) : null;
      e.state.os = typeof stats.system.os === 'string' ? peerLine(stats.system.os, 200) : null;
      e.state.devices = stats.devices.map((d) => ({
        name: peerLine(String(d.name), 200),
        type: peerLine(String(d.type), 50),
        index: typeof d.index === 'number' ? d.index : null,
        vramTotal: Number(d.vram_total ?? 0),
        vramFree: Number(d.vram_free ?? 0),
      }));
      await pollQueue(e);
      if (e.state.reachable) ensureSocket(e);
    } catch (err) {
      if (err instanceof ComfyError) markUnreachable(e, err);
      else {
        e.state.reachable = false;
        e.state.problem = peerLine(err instanceof Error ? err.message : String(err));
      }
    }
    e.state.checkedAt = Date.now();
    // Reachable: every period. Unreachable (nothing listens, the usual case for the default
    // instance when ComfyUI is not running): back off, so an idle Luna Tray stops knocking every
    // few seconds on a port nobody serves (bench: idle).
    e.failures = e.state.reachable ? 0 : e.failures + 1;
    e.nextPollAt =
      monotonic() +
      (e.failures === 0 ? opts.pollIntervalMs : unreachableBackoffMs(opts.pollIntervalMs, e.failures));
  };

  const discover = async (): Promise<void> => {
    const ports = opts.ports ?? DEFAULT_DISCOVERY_PORTS;
    const known = new Set(configured);
    await Promise.all(
      ports.map(async (port) => {
        const url = `http://127.0.0.1:${port}`;
        if (known.has(url) || known.has(`http://localhost:${port}`)) return;
        const existing = entries.get(url);
        if (existing) return; // polled with everything else; dropped below when it stops answering
        const probe = new ComfyClient(url, { timeoutMs: 700, connectTimeoutMs: 500 });
        try {
          const stats = await probe.systemStats();
          if (stats && !disposed) entryFor(url, true);
        } catch {
          /* nothing there */
        } finally {
          await probe.close();
        }
      }),
    );
  };

  /** A scheduled cycle polls the entries that are due; `all` (a refresh) polls every entry. */
  const pollAll = async (all: boolean): Promise<ComfyInstance[]> => {
    if (opts.discover && cycle % 5 === 0) await discover();
    cycle++;
    // Timers may fire a little early or late: an entry due within a tenth of a period is due now.
    const horizon = monotonic() + opts.pollIntervalMs / 10;
    await Promise.all(
      [...entries.values()].filter((e) => all || e.nextPollAt <= horizon).map((e) => pollOne(e)),
    );
    for (const e of [...entries.values()])
      if (e.discovered && !e.state.reachable && e.state.checkedAt > 0) await drop(e);
    emitIfChanged();
    return snapshot();
  };

  const refresh = (all = true): Promise<ComfyInstance[]> => {
    if (polling && (pollingAll || !all)) return polling;
    // A refresh asked for while a scheduled cycle (due entries only) runs: poll everything after it.
    const run: Promise<ComfyInstance[]> = (polling ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => pollAll(all))
      .finally(() => {
        if (polling === run) polling = null;
      });
    polling = run;
    pollingAll = all;
    return run;
  };

  /**
   * The next scheduled cycle: one period away while an instance is reachable (or discovery runs),
   * otherwise when the earliest backed-off instance is due. No instance at all: no timer
   * (`setInstances` schedules again).
   */
  const schedule = (): void => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (disposed) return;
    let delay = opts.discover ? opts.pollIntervalMs : Number.POSITIVE_INFINITY;
    const now = monotonic();
    for (const e of entries.values())
      delay = Math.min(delay, Math.max(opts.pollIntervalMs, e.nextPollAt - now));
    if (delay === Number.POSITIVE_INFINITY) return;
    timer = setTimeout(() => {
      timer = null;
      void refresh(false).finally(schedule);
    }, delay);
    timer.unref?.();
  };

  const setInstances = (urls: string[]): void => {
    configured = [...new Set(urls.map(normalizeBaseUrl))];
    for (const e of [...entries.values()]) {
      if (!e.discovered && !configured.includes(e.url)) void drop(e);
    }
    for (const u of configured) {
      const e = entries.get(u);
      if (e?.discovered) {
        e.discovered = false;
        e.state.discovered = false;
      } else entryFor(u, false);
    }
    emitIfChanged();
    void refresh().finally(schedule);
  };

  setInstances(opts.instances);

  return {
    snapshot,
    setInstances,
    refresh,
    reportProgress(p) {
      const e = entries.get(normalizeBaseUrl(p.url));
      if (!e) return false;
      const cur = e.state.progress;
      e.state.progress = {
        promptId: p.promptId,
        node: p.node === null ? null : peerLine(p.node, 200),
        nodeTitle: p.nodeTitle === null ? null : peerLine(p.nodeTitle, 200),
        value: p.value,
        max: p.max,
        startedAt: cur?.promptId === p.promptId ? cur.startedAt : Date.now(),
        stepsVisible: true,
      };
      emitIfChanged();
      return true;
    },
    dismissError(url) {
      const e = entries.get(normalizeBaseUrl(url));
      if (!e) return false;
      e.state.lastError = null;
      emitIfChanged();
      return true;
    },
    async dispose() {
      disposed = true;
      if (timer) clearTimeout(timer);
      await polling?.catch(() => undefined);
      await Promise.all([...entries.values()].map((e) => drop(e)));
    },
  };
}

/** How many of the newest /history entries are read after a prompt finished. */
const HISTORY_WINDOW = 64;
/** Prompt ids remembered per instance (seen in history, already reported). */
const REMEMBERED_PROMPTS = 2_000;

/** Drop the oldest members of an insertion-ordered set beyond `max`. */
function trimSet(set: Set<string>, max: number): void {
  for (const v of set) {
    if (set.size <= max) break;
    set.delete(v);
  }
}

/** A prompt that finished successfully, with its run time when the history says it. */
export interface ComfyJobFinished {
  promptId: string;
  /** The server's finish time (epoch ms) when known, else when it was noticed. */
  at: number;
  durationMs: number | null;
}

function finishedJob(promptId: string, h: ComfyHistoryEntry): ComfyJobFinished {
  const stamp = (type: string): number | null => {
    const t = h.status?.messages.find((m) => m[0] === type)?.[1]?.['timestamp'];
    return typeof t === 'number' && Number.isFinite(t) ? t : null;
  };
  const start = stamp('execution_start');
  const end = stamp('execution_success');
  return { promptId, at: end ?? Date.now(), durationMs: start !== null && end !== null ? end - start : null };
}

/** The panel's last-error record of an execution error; its time is the server's timestamp when known. */
function instanceError(
  err: ComfyExecutionError,
  promptId: string | null,
  entry: ComfyHistoryEntry | null,
  timestamp?: number,
): ComfyInstanceError {
  const msg = entry?.status?.messages.find((m) => m[0] === 'execution_error')?.[1];
  const ts = typeof msg?.['timestamp'] === 'number' ? msg['timestamp'] : timestamp;
  return {
    promptId,
    nodeId: peerLineOrNull(err.nodeId),
    nodeType: peerLineOrNull(err.nodeType),
    exceptionType: err.exceptionType ? peerLine(err.exceptionType, 200) : null,
    message: peerLine(err.exceptionMessage),
    at: typeof ts === 'number' && Number.isFinite(ts) ? ts : Date.now(),
  };
}

function titlesOf(prompt: JsonObject): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [id, n] of Object.entries(prompt)) {
    if (!isJsonObject(n)) continue;
    const meta = n['_meta'];
    out[id] = peerLine(
      isJsonObject(meta) && typeof meta['title'] === 'string'
        ? meta['title']
        : jsonText(n['class_type'] ?? id),
      200,
    );
  }
  return out;
}

/** Result of one action on one instance. */
export interface InstanceActionResult {
  url: string;
  ok: boolean;
  message: string;
}

async function act(
  url: string,
  what: (c: ComfyClient) => Promise<string>,
  timeoutMs: number,
): Promise<InstanceActionResult> {
  const c = new ComfyClient(url, { timeoutMs, connectTimeoutMs: Math.min(timeoutMs, 2_000) });
  try {
    return { url: c.url, ok: true, message: await what(c) };
  } catch (e) {
    return { url: c.url, ok: false, message: e instanceof Error ? e.message : String(e) };
  } finally {
    await c.close();
  }
}

/** POST /free `{unload_models: true, free_memory: true}` on every instance, in parallel; one result each. */
export function freeVram(urls: string[], timeoutMs = 5_000): Promise<InstanceActionResult[]> {
  return Promise.all(
    urls.map((u) =>
      act(
        u,
        async (c) => {
          await c.free({ unloadModels: true, freeMemory: true });
          return 'asked to unload models and free memory (applied between prompts)';
        },
        timeoutMs,
      ),
    ),
  );
}

/**
 * POST /interrupt. With `promptId`, only that prompt: servers since 2025-09 honour `{prompt_id}`,
 * older ones ignore it and stop whatever runs, so the prompt is first checked to be the running one
 * (docs/comfyui.md "Interrupt"). Without an id: whatever runs.
 */
export function interrupt(url: string, promptId?: string, timeoutMs = 5_000): Promise<InstanceActionResult> {
  return act(
    url,
    async (c) => {
      if (!promptId) {
        await c.interrupt();
        return 'interrupt sent';
      }
      const q = await c.getQueue();
      if (!q.running.some((r) => r.promptId === promptId))
        return `prompt ${promptId} is no longer running: nothing interrupted`;
      await c.interrupt(promptId);
      return `interrupt sent for prompt ${promptId} (it stops at the next node or sampler step)`;
    },
    timeoutMs,
  );
}

/** POST /queue {clear: true}: drop every pending prompt (the running one continues; use interrupt). */
export function clearQueue(url: string, timeoutMs = 5_000): Promise<InstanceActionResult> {
  return act(
    url,
    async (c) => {
      const before = await c.getQueue();
      await c.clearQueue();
      return `removed ${before.pending.length} pending prompt(s)`;
    },
    timeoutMs,
  );
}
