import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

import type { EventChannel, EventPayload } from '../../shared/contract/events.js';
import type { FreeVramReport, InvokeRequest } from '../../shared/contract/invoke.js';
import type { InvokeHandlers } from '../../shared/contract/renderer-api.js';
import { err, ok, type ApiResult } from '../../shared/contract/result.js';
import type { ComfyInstance, LocalGpu } from '../../shared/comfy-instance.js';
import type { AppWarning, DaemonSnapshot } from '../../shared/snapshot.js';
import type { Settings } from '../../shared/settings-schema.js';
import { createGpuHandlers } from '../gpu/handlers.js';
import { createGpuTelemetry, type GpuTelemetryOptions } from '../gpu/telemetry.js';
import { createHolderResolver } from '../gpu/vram-holders.js';
import { LogStore } from '../logs/log-store.js';
import { buildDiagnostics, type StatusHistoryEntry } from '../diagnostics/bundle.js';
import { createDaemonEventTracker } from '../notify/daemon-events.js';
import { createWebhooks } from '../notify/webhooks.js';
import type { SettingsStore } from '../settings/settings-store.js';
import type { Supervisor, ActionOutcome } from '../supervisor/supervisor.js';
import type { ProcessLauncher } from '../supervisor/process-launcher.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { describeFinishedJob } from './comfy-service.js';
import { DaemonFleet, type FleetMember } from './daemon-fleet.js';
import { daemonPresets, findPreset } from './daemon-presets.js';
import { summarizeDaemon } from './daemon-summary.js';
import type { LunaCore } from './luna-core.types.js';

export type { LunaCore } from './luna-core.types.js';

/** The ComfyUI side as the core uses it (implemented by `src/core/comfyui`). */
export interface ComfyService {
  instances(): ComfyInstance[];
  gpus(): LocalGpu[];
  onChange(listener: (instances: ComfyInstance[], gpus: LocalGpu[]) => void): () => void;
  configure(settings: Settings['comfyui']): void;
  freeVram(): Promise<FreeVramReport['instances']>;
  /** Interrupt `promptId` only if it is still running (or, without one, whatever runs). */
  interrupt(url: string, promptId?: string): Promise<ApiResult<{ message: string }>>;
  /** Forget the instance's last error. */
  dismissError?(url: string): ApiResult<{ message: string }>;
  /** Step progress of a prompt, from the client that queued it (`luna-tray run`). */
  reportProgress?(p: InvokeRequest<'comfy:report-progress'>): ApiResult<{ message: string }>;
  clearQueue(url: string): Promise<ApiResult<{ message: string }>>;
  /** A watched prompt failed on an instance (any client's). */
  /** Read local GPUs through the core's shared telemetry (one `nvidia-smi` per interval). */
  setGpuReader?(read: () => Promise<LocalGpu[]>): void;
  onJobFailed?(
    listener: (url: string, error: { message: string; nodeType: string | null }) => void,
  ): () => void;
  /** A watched prompt finished successfully on an instance (any client's). */
  onJobFinished?(
    listener: (url: string, job: { promptId: string; at: number; durationMs: number | null }) => void,
  ): () => void;
  dispose(): void;
}

export interface LunaCoreOptions {
  dataDir: string;
  settingsStore: SettingsStore;
  /** The bundled simulator (the `simulator` profile). */
  simulatorPath: string;
  /** The ComfyUI monitor; omitted in tests that do not need it. */
  comfy?: ComfyService;
  launcher?: ProcessLauncher;
  /** Coalescing window for `logs:appended` pushes. */
  logPushIntervalMs?: number;
  /** GPU telemetry options (tests: a fake `nvidia-smi`, a fake sysfs root). */
  gpu?: GpuTelemetryOptions;
  /** `app:quit` (the panel's Quit): the host's Exit. Without it the channel answers an error. */
  onQuit?: () => void;
  /** Luna Tray's version, for webhook bodies and diagnostics. */
  version?: string;
  /** The control server's port, for diagnostics (known once the server listens). */
  controlPort?: () => number;
}

/** Status transitions kept for diagnostics. */
const STATUS_HISTORY = 200;

type CoreEventMap = { [K in EventChannel]: EventPayload<K> };

/** The core's push events; `fire` is the only way in. */
class CoreEvents extends TypedEmitter<CoreEventMap> {
  fire<K extends EventChannel>(channel: K, payload: CoreEventMap[K]): void {
    this.emit(channel, payload);
  }
}

/**
 * Builds the core once per host (Electron main, headless `serve`): settings, log store and file,
 * log capture, supervisor, ComfyUI monitor, the contract's handlers and the push events.
 */
export async function createLunaCore(
  opts: LunaCoreOptions,
): Promise<LunaCore & { readonly supervisor: Supervisor; store: LogStore; fleet: DaemonFleet }> {
  const settingsStore = opts.settingsStore;
  const settings = () => settingsStore.get();
  const events = new CoreEvents();
  // Warnings about Luna Tray itself (the settings file), shown with every daemon's snapshot.
  const warnings: AppWarning[] = [];

  await mkdir(join(opts.dataDir, 'logs'), { recursive: true }).catch(() => undefined);
  const initial = settings();
  const store = new LogStore({ capacity: initial.logs.bufferSize });

  // Opt-in webhooks (notify.webhooks): a status listener only queues; delivery is in the background.
  const webhooks = createWebhooks({
    hooks: () => settings().notify.webhooks,
    version: opts.version ?? 'dev',
    log: (level, message) => fleet.members()[0]?.capture.supervisor(level, message),
  });
  const trackers = new Map<string, ReturnType<typeof createDaemonEventTracker>>();
  const statusHistory: StatusHistoryEntry[] = [];
  const fleet = new DaemonFleet({
    dataDir: opts.dataDir,
    simulatorPath: opts.simulatorPath,
    settingsStore,
    store,
    ...(opts.launcher ? { launcher: opts.launcher } : {}),
    sharedWarnings: () => warnings,
    onChange: () => pushStatus(),
    onStatus: (m, status) => {
      let track = trackers.get(m.id);
      if (!track) trackers.set(m.id, (track = createDaemonEventTracker()));
      const e = track(status);
      if (e) webhooks.send({ ...e, daemon: { id: m.id, name: m.entry().name }, at: status.at });
      statusHistory.push({
        at: status.at,
        daemon: m.id,
        state: status.state,
        ...('message' in status ? { message: status.message } : {}),
      });
      if (statusHistory.length > STATUS_HISTORY) statusHistory.shift();
    },
  });

  /** A daemon that is configured but disabled has no supervisor: it is shown as stopped. */
  const idle = (): DaemonSnapshot => ({
    status: { state: 'stopped', at: 0, reason: 'initial' },
    info: null,
    infoAt: null,
    restarts: 0,
    lastExit: null,
    process: null,
    warnings: [...warnings],
    logSeq: store.lastSeq,
  });
  const first = (): FleetMember | null => {
    const e = settings().daemons[0];
    return e ? fleet.get(e.id) : null;
  };
  const snapshot = (): DaemonSnapshot => first()?.snapshot() ?? idle();
  const summaries = () =>
    settings().daemons.map((d) => summarizeDaemon(d, d, fleet.get(d.id)?.snapshot() ?? idle()));
  function pushStatus(): void {
    // Every feed message (1 Hz) and stats sample lands here; with no subscriber (a headless
    // `serve` without a panel or CLI follower connected) there is nobody to build a snapshot for.
    if (events.listening('daemon:status-changed')) events.fire('daemon:status-changed', snapshot());
    if (events.listening('daemons:changed')) events.fire('daemons:changed', { daemons: summaries() });
  }
  for (const w of settingsStore.warnings) {
    warnings.push({ id: `settings:${w}`, message: w, at: Date.now() });
    first()?.capture.supervisor('warning', w);
  }
  const disposers: (() => void)[] = [];

  // Log pushes are coalesced: a flood becomes a few messages per second, not one per chunk. The
  // store is followed by seq range and the entries are read back when the push goes out, so a line
  // costs nothing here (a flood bigger than the ring between two pushes arrives with a seq gap,
  // which clients fill or report as they do for any gap).
  let pushedSeq = store.lastSeq;
  let pushTimer: NodeJS.Timeout | null = null;
  const pushInterval = opts.logPushIntervalMs ?? 50;
  disposers.push(
    store.onAppend(() => {
      pushTimer ??= setTimeout(() => {
        pushTimer = null;
        const from = pushedSeq;
        pushedSeq = store.lastSeq;
        // With no subscriber (no panel open) a flood builds no entries at all.
        if (!events.listening('logs:appended')) return;
        const { entries } = store.since(from);
        if (entries.length > 0) events.fire('logs:appended', { entries });
      }, pushInterval);
    }),
  );

  const comfy = opts.comfy;
  const holders = createHolderResolver({
    daemonPid: () =>
      fleet.members().flatMap((m) => {
        const s = m.supervisor.status;
        return 'pid' in s && s.pid !== null ? [s.pid] : [];
      }),
    comfyUrls: () => comfy?.instances().map((i) => i.url) ?? [],
  });
  const gpu = createGpuTelemetry({ resolveHolders: (pids) => holders.resolve(pids), ...opts.gpu });

  /** The member a request's `daemon` id names (absent = the first daemon), or why there is none. */
  const resolve = (id: string | undefined): FleetMember | ApiResult<never> => {
    const list = settings().daemons;
    const index = id === undefined ? 0 : list.findIndex((d) => d.id === id);
    const entry = list[index];
    if (!entry) {
      return err(
        'not-found',
        `No daemon "${id ?? ''}": the daemons are ${list.map((d) => d.id).join(', ')} (see \`luna-tray status\`).`,
      );
    }
    return (
      fleet.get(entry.id) ??
      err(
        'invalid-input',
        `The daemon "${entry.id}" is disabled: enable it with \`luna-tray config set daemons.${index}.enabled true\`.`,
      )
    );
  };
  const isMember = (r: FleetMember | ApiResult<never>): r is FleetMember => !('ok' in r);

  const gpuHandlers = createGpuHandlers({
    target: (id) => {
      const m = resolve(id);
      return isMember(m) ? { devices: m.devices, snapshot: () => m.snapshot() } : null;
    },
    telemetry: gpu,
  });
  const jobsFailed = new Map<string, number>();
  if (comfy) {
    // The ComfyUI monitor polls GPUs on its own timer: it may run nvidia-smi only while somebody
    // follows its events (a panel); otherwise it gets the last reading (docs/devices.md).
    comfy.setGpuReader?.(() =>
      events.listening('comfy:instances-changed') ? gpu.localGpus() : gpu.peekLocalGpus(),
    );
    comfy.configure(initial.comfyui);
    disposers.push(
      comfy.onChange((instances, gpus) => events.fire('comfy:instances-changed', { instances, gpus })),
    );
    const log = (level: 'error', text: string) => first()?.capture.supervisor(level, text);
    if (comfy.onJobFailed) {
      disposers.push(
        comfy.onJobFailed((url, e) => {
          jobsFailed.set(url, (jobsFailed.get(url) ?? 0) + 1);
          const message = `a prompt failed${e.nodeType ? ` in ${e.nodeType}` : ''}: ${e.message}`;
          log('error', `ComfyUI ${url}: ${message}`);
          webhooks.send({ event: 'job-failed', instance: url, message });
        }),
      );
    }
    if (comfy.onJobFinished) {
      disposers.push(
        comfy.onJobFinished((url, job) =>
          webhooks.send({
            event: 'job-finished',
            instance: url,
            at: job.at,
            message: describeFinishedJob(job),
          }),
        ),
      );
    }
  }

  disposers.push(
    settingsStore.onDidChange((s) => {
      // A daemon added or enabled shows what already answers on its port from the first second.
      for (const m of fleet.sync(s)) void m.supervisor.discover();
      store.setCapacity(s.logs.bufferSize);
      comfy?.configure(s.comfyui);
      events.fire('settings:changed', s);
      pushStatus();
    }),
  );

  const fromOutcome = (o: ActionOutcome): ApiResult<{ message: string }> =>
    o.ok ? ok({ message: o.message }) : err(o.code, o.message);
  const act = async (
    id: string | undefined,
    run: (s: Supervisor) => Promise<ActionOutcome>,
  ): Promise<ApiResult<{ message: string }>> => {
    const m = resolve(id);
    return isMember(m) ? fromOutcome(await run(m.supervisor)) : m;
  };
  const presets = async () => daemonPresets(settings(), await gpu.peekLocalGpus().catch(() => []));
  const updateSettings = (patch: Record<string, unknown>) => {
    const r = settingsStore.update(patch);
    // A disk failure is not the caller's fault: a server error, never "invalid input".
    if (!r.ok && r.saveError) return err('internal', `Settings not saved: ${r.saveError}`);
    if (!r.ok) {
      return err(
        'invalid-input',
        `Invalid settings: ${r.issues.map((i) => `${i.key}: ${i.message}`).join('; ')}`,
        r.issues,
      );
    }
    return ok({ settings: r.settings, path: settingsStore.location });
  };

  const handlers: InvokeHandlers = {
    'daemon:get-snapshot': async ({ daemon }) => {
      if (daemon === undefined) return ok(snapshot());
      const m = resolve(daemon);
      if (isMember(m)) return ok(m.snapshot());
      // A disabled daemon has no supervisor: it is stopped, as `daemons:list` shows it.
      return settings().daemons.some((d) => d.id === daemon) ? ok(idle()) : m;
    },
    'daemons:list': async () => ok({ daemons: summaries() }),
    'daemons:act': async ({ action }) => {
      // In parallel: each daemon's stop sequence takes seconds, and none waits for another.
      const results = await Promise.all(
        fleet.members().map(async (m) => {
          const o = await m.supervisor[action]();
          return { id: m.id, name: m.entry().name, ok: o.ok, message: o.message };
        }),
      );
      return ok({ results });
    },
    'daemons:list-presets': async () => ok({ presets: await presets() }),
    'daemons:apply-preset': async ({ preset }) => {
      const p = findPreset(await presets(), preset);
      return p ? updateSettings({ daemons: p.daemons }) : err('not-found', `No preset "${preset}".`);
    },
    'app:quit': async () => {
      const quit = opts.onQuit;
      if (!quit) return err('operation-failed', 'This Luna Tray cannot be quit from the panel.');
      // Answer first: the Exit closes the connection the answer travels on.
      setImmediate(quit);
      return ok({ message: 'Luna Tray is quitting.' });
    },
    'daemon:start': async ({ daemon }) => act(daemon, (s) => s.start()),
    'daemon:stop': async ({ daemon }) => act(daemon, (s) => s.stop()),
    'daemon:restart': async ({ daemon }) => act(daemon, (s) => s.restart()),
    'daemon:unload': async ({ daemon }) => act(daemon, (s) => s.unload()),
    'daemon:check': async ({ daemon }) => act(daemon, (s) => s.check()),
    'daemon:test-profile': async ({ daemon }) => {
      const m = resolve(daemon);
      return isMember(m) ? ok(await m.supervisor.preflight()) : m;
    },
    'logs:get-since': async ({ seq, limit }) => {
      const slice = store.since(seq, limit ?? 50_000);
      return ok({ entries: [...slice.entries], firstSeq: slice.firstSeq, lastSeq: slice.lastSeq });
    },
    'settings:get': async () => ok({ settings: settings(), path: settingsStore.location }),
    'settings:update': async ({ patch }) => updateSettings(patch),
    'comfy:list-instances': async () =>
      ok({ instances: comfy?.instances() ?? [], gpus: comfy?.gpus() ?? [] }),
    'comfy:free-vram': async () => {
      // Free VRAM = every running daemon's models + every watched ComfyUI instance.
      const running = fleet.members().filter((m) => m.supervisor.status.state === 'running');
      const outcomes = await Promise.all(running.map((m) => m.supervisor.unload()));
      const daemon =
        running.length === 0
          ? { ok: true, message: 'The Luna daemon is not running: nothing to unload there.' }
          : { ok: outcomes.every((o) => o.ok), message: outcomes.map((o) => o.message).join(' ') };
      const instances = comfy ? await comfy.freeVram() : [];
      return ok({ daemon, instances });
    },
    'comfy:interrupt': async ({ url, promptId }) =>
      comfy ? comfy.interrupt(url, promptId) : err('unavailable', 'ComfyUI monitoring is off.'),
    'comfy:report-progress': async (p) =>
      comfy?.reportProgress ? comfy.reportProgress(p) : err('unavailable', 'ComfyUI monitoring is off.'),
    'comfy:dismiss-error': async ({ url }) =>
      comfy?.dismissError ? comfy.dismissError(url) : err('unavailable', 'ComfyUI monitoring is off.'),
    'comfy:clear-queue': async ({ url }) =>
      comfy ? comfy.clearQueue(url) : err('unavailable', 'ComfyUI monitoring is off.'),
    ...gpuHandlers,
    'app:diagnostics': async () => {
      const { fileName, archive } = await buildDiagnostics({
        dataDir: opts.dataDir,
        settings: settings(),
        version: opts.version ?? 'dev',
        simulatorPath: opts.simulatorPath,
        controlPort: opts.controlPort?.() ?? 0,
        live: { snapshot: snapshot(), statusHistory: [...statusHistory], gpu: () => gpu.sample() },
      });
      return ok({ fileName, archive: archive.toString('base64'), bytes: archive.length });
    },
  };

  let autoStartTimer: NodeJS.Timeout | null = null;
  let disposed = false;

  return {
    /** The first daemon's supervisor (single-daemon hosts and tests). */
    get supervisor(): Supervisor {
      const m = first() ?? fleet.members()[0];
      if (!m) throw new Error('No daemon is enabled.');
      return m.supervisor;
    },
    store,
    fleet,
    handlers,
    get devices() {
      return first()?.devices;
    },
    daemonDevices: (id) => {
      const m = resolve(id);
      return isMember(m) ? m.devices : null;
    },
    events,
    snapshot,
    settings,
    comfyJobsFailed: () => jobsFailed,
    navigate: (view) => events.fire('app:navigate', { view }),
    autoStart(delayMs = 1_000) {
      // A daemon that already answers is shown from the first second, started by us or not.
      for (const m of fleet.members()) void m.supervisor.discover();
      if (!fleet.members().some((m) => m.entry().autoStart)) return;
      autoStartTimer = setTimeout(() => {
        autoStartTimer = null;
        for (const m of fleet.members()) if (m.entry().autoStart) void m.supervisor.start();
      }, delayMs);
    },
    async dispose(o = {}) {
      if (disposed) return;
      disposed = true;
      if (autoStartTimer) clearTimeout(autoStartTimer);
      await fleet.dispose(o.keepDaemon ?? settings().app.keepDaemonOnExit);
      comfy?.dispose();
      webhooks.dispose();
      gpu.dispose();
      for (const d of disposers) d();
      if (pushTimer) clearTimeout(pushTimer);
    },
  };
}
