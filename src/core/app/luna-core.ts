import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

import type { EventChannel, EventPayload } from '../../shared/contract/events.js';
import type { FreeVramReport, InvokeRequest } from '../../shared/contract/invoke.js';
import type { InvokeHandlers } from '../../shared/contract/renderer-api.js';
import { err, ok, type ApiResult } from '../../shared/contract/result.js';
import type { ComfyInstance, LocalGpu } from '../../shared/comfy-instance.js';
import type { AppWarning, DaemonSnapshot } from '../../shared/snapshot.js';
import type { Settings } from '../../shared/settings-schema.js';
import { createDaemonDevices } from '../gpu/daemon-devices.js';
import { createGpuHandlers } from '../gpu/handlers.js';
import { createGpuTelemetry, type GpuTelemetryOptions } from '../gpu/telemetry.js';
import { createHolderResolver } from '../gpu/vram-holders.js';
import { createLogCapture } from '../logs/log-capture.js';
import { LogStore } from '../logs/log-store.js';
import { createRotatingFile } from '../logs/rotating-file.js';
import { describeFinishedJob } from './comfy-service.js';
import { buildDiagnostics, type StatusHistoryEntry } from '../diagnostics/bundle.js';
import { createDaemonEventTracker } from '../notify/daemon-events.js';
import { createWebhooks } from '../notify/webhooks.js';
import type { SettingsStore } from '../settings/settings-store.js';
import { DEFAULT_DAEMON_ID, daemonPaths } from '../supervisor/daemon-paths.js';
import { restartToApplyMessage } from '../supervisor/endpoint.js';
import { Supervisor, type ActionOutcome } from '../supervisor/supervisor.js';
import type { ProcessLauncher } from '../supervisor/process-launcher.js';
import { TypedEmitter } from '../util/typed-emitter.js';
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

/** The daemon as webhooks and diagnostics name it (one daemon today: `default`). */
export const DEFAULT_DAEMON = { id: DEFAULT_DAEMON_ID, name: 'Luna daemon' } as const;

type CoreEventMap = { [K in EventChannel]: EventPayload<K> };

/** The core's push events; `fire` is the only way in. */
class CoreEvents extends TypedEmitter<CoreEventMap> {
  fire<K extends EventChannel>(channel: K, payload: CoreEventMap[K]): void {
    this.emit(channel, payload);
  }
}

/** How many warnings the snapshot keeps. */
const MAX_WARNINGS = 20;

/**
 * Builds the core once per host (Electron main, headless `serve`): settings, log store and file,
 * log capture, supervisor, ComfyUI monitor, the contract's handlers and the push events.
 */
export async function createLunaCore(
  opts: LunaCoreOptions,
): Promise<LunaCore & { supervisor: Supervisor; store: LogStore }> {
  const settingsStore = opts.settingsStore;
  // One daemon until the fleet composes several (docs/settings.md, "Several daemons").
  const DEFAULT_ID = 'default';
  const settings = () => settingsStore.get();
  const events = new CoreEvents();
  const warnings: AppWarning[] = [];
  const warn = (id: string, message: string) => {
    const i = warnings.findIndex((w) => w.id === id);
    if (i >= 0) warnings.splice(i, 1);
    warnings.push({ id, message, at: Date.now() });
    if (warnings.length > MAX_WARNINGS) warnings.shift();
    capture.supervisor('warning', message);
    pushStatus();
  };
  const clearWarning = (id: string) => {
    const i = warnings.findIndex((w) => w.id === id);
    if (i >= 0) {
      warnings.splice(i, 1);
      pushStatus();
    }
  };

  const logDir = join(opts.dataDir, 'logs');
  await mkdir(logDir, { recursive: true }).catch(() => undefined);
  const initial = settings();
  const store = new LogStore({ capacity: initial.logs.bufferSize });
  const file = createRotatingFile({
    path: daemonPaths(opts.dataDir, DEFAULT_DAEMON_ID).logFile,
    maxBytes: initial.logs.fileMaxBytes,
    count: initial.logs.fileCount,
    onError: (e) => warn('log-file', `${e.message} Logs are still kept in memory.`),
    onRecover: () => clearWarning('log-file'),
  });
  const capture = createLogCapture({
    store,
    file,
    maxLineLength: initial.logs.maxLineLength,
    daemon: DEFAULT_DAEMON_ID,
  });

  const supervisor = new Supervisor({
    id: DEFAULT_DAEMON_ID,
    config: () => settings().daemon,
    settings,
    dataDir: opts.dataDir,
    simulatorPath: opts.simulatorPath,
    store,
    capture,
    ...(opts.launcher ? { launcher: opts.launcher } : {}),
  });

  const snapshot = (): DaemonSnapshot => ({
    status: supervisor.status,
    info: supervisor.info,
    infoAt: supervisor.infoAt,
    restarts: supervisor.restarts,
    lastExit: supervisor.lastExit,
    process: supervisor.stats,
    warnings: [...warnings],
    logSeq: store.lastSeq,
  });
  function pushStatus(): void {
    // Every feed message (1 Hz) and stats sample lands here; with no subscriber (a headless
    // `serve` without a panel or CLI follower connected) there is nobody to build a snapshot for.
    if (events.listening('daemon:status-changed')) events.fire('daemon:status-changed', snapshot());
    if (events.listening('daemons:changed')) events.fire('daemons:changed', { daemons: summaries() });
  }
  // Only now: `warn` pushes a snapshot, which needs the supervisor and `snapshot` defined (a damaged
  // settings file used to crash `serve` at start-up with a TDZ ReferenceError here).
  for (const w of settingsStore.warnings) warn(`settings:${w}`, w);
  // Opt-in webhooks (notify.webhooks): a status listener only queues; delivery is in the background.
  const webhooks = createWebhooks({
    hooks: () => settings().notify.webhooks,
    version: opts.version ?? 'dev',
    log: (level, message) => capture.supervisor(level, message),
  });
  const daemonEvent = createDaemonEventTracker();
  const statusHistory: StatusHistoryEntry[] = [];
  const disposers: (() => void)[] = [
    supervisor.on('status', (status) => {
      const e = daemonEvent(status);
      if (e) webhooks.send({ ...e, daemon: { id: supervisor.id, name: DEFAULT_DAEMON.name }, at: status.at });
      statusHistory.push({
        at: status.at,
        daemon: supervisor.id,
        state: status.state,
        ...('message' in status ? { message: status.message } : {}),
      });
      if (statusHistory.length > STATUS_HISTORY) statusHistory.shift();
    }),
    supervisor.on('status', pushStatus),
    supervisor.on('info', pushStatus),
    supervisor.on('stats', pushStatus),
  ];

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
    daemonPid: () => ('pid' in supervisor.status ? supervisor.status.pid : null),
    comfyUrls: () => comfy?.instances().map((i) => i.url) ?? [],
  });
  const gpu = createGpuTelemetry({ resolveHolders: (pids) => holders.resolve(pids), ...opts.gpu });
  const devices = createDaemonDevices({
    settingsStore,
    snapshot,
    warn: (m) => capture.supervisor('warning', m),
  });
  const gpuHandlers = createGpuHandlers({
    target: (id) => (id === undefined || id === DEFAULT_ID ? { devices, snapshot } : null),
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
    if (comfy.onJobFailed) {
      disposers.push(
        comfy.onJobFailed((url, e) => {
          jobsFailed.set(url, (jobsFailed.get(url) ?? 0) + 1);
          const message = `a prompt failed${e.nodeType ? ` in ${e.nodeType}` : ''}: ${e.message}`;
          capture.supervisor('error', `ComfyUI ${url}: ${message}`);
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

  // A running daemon keeps the host, ports and launch it was started with; say when the settings
  // now differ, so nobody expects them to apply before a restart (src/core/supervisor/endpoint.ts).
  let restartWarning = '';
  const syncRestartWarning = (): void => {
    const changes = supervisor.pendingSettingChanges;
    const message = changes.length > 0 ? restartToApplyMessage(changes) : '';
    if (message === restartWarning) return;
    restartWarning = message;
    if (message) warn('restart-to-apply', message);
    else clearWarning('restart-to-apply');
  };
  disposers.push(supervisor.on('status', syncRestartWarning));
  disposers.push(
    settingsStore.onDidChange((s) => {
      syncRestartWarning();
      store.setCapacity(s.logs.bufferSize);
      file.setLimits({ maxBytes: s.logs.fileMaxBytes, count: s.logs.fileCount });
      comfy?.configure(s.comfyui);
      events.fire('settings:changed', s);
    }),
  );

  const fromOutcome = (o: ActionOutcome): ApiResult<{ message: string }> =>
    o.ok ? ok({ message: o.message }) : err(o.code, o.message);

  const unknownDaemon = (id: string) =>
    err('not-found', `No daemon "${id}": the daemons are ${DEFAULT_ID} (see \`luna-tray status\`).`);
  const summaries = () => [
    summarizeDaemon({ id: DEFAULT_ID, name: 'Luna daemon', enabled: true }, settings().daemon, snapshot()),
  ];
  const act = async (
    daemon: string | undefined,
    run: () => Promise<ActionOutcome>,
  ): Promise<ApiResult<{ message: string }>> =>
    daemon !== undefined && daemon !== DEFAULT_ID ? unknownDaemon(daemon) : fromOutcome(await run());
  const presets = async () =>
    daemonPresets(
      {
        comfyui: settings().comfyui,
        daemons: [{ ...settings().daemon, id: DEFAULT_ID, name: 'Luna daemon', enabled: true }],
      },
      await gpu.peekLocalGpus().catch(() => []),
    );

  const handlers: InvokeHandlers = {
    'daemon:get-snapshot': async ({ daemon }) =>
      daemon !== undefined && daemon !== DEFAULT_ID ? unknownDaemon(daemon) : ok(snapshot()),
    'daemons:list': async () => ok({ daemons: summaries() }),
    'daemons:act': async ({ action }) => {
      const o = await supervisor[action]();
      return ok({ results: [{ id: DEFAULT_ID, name: 'Luna daemon', ok: o.ok, message: o.message }] });
    },
    'daemons:list-presets': async () => ok({ presets: await presets() }),
    'daemons:apply-preset': async ({ preset }) =>
      findPreset(await presets(), preset)
        ? err('unavailable', 'Several daemons are not composed yet in this build.')
        : err('not-found', `No preset "${preset}".`),
    'app:quit': async () => {
      const quit = opts.onQuit;
      if (!quit) return err('operation-failed', 'This Luna Tray cannot be quit from the panel.');
      // Answer first: the Exit closes the connection the answer travels on.
      setImmediate(quit);
      return ok({ message: 'Luna Tray is quitting.' });
    },
    'daemon:start': async ({ daemon }) => act(daemon, () => supervisor.start()),
    'daemon:stop': async ({ daemon }) => act(daemon, () => supervisor.stop()),
    'daemon:restart': async ({ daemon }) => act(daemon, () => supervisor.restart()),
    'daemon:unload': async ({ daemon }) => act(daemon, () => supervisor.unload()),
    'daemon:check': async ({ daemon }) => act(daemon, () => supervisor.check()),
    'daemon:test-profile': async ({ daemon }) =>
      daemon !== undefined && daemon !== DEFAULT_ID
        ? unknownDaemon(daemon)
        : ok(await supervisor.preflight()),
    'logs:get-since': async ({ seq, limit }) => {
      const slice = store.since(seq, limit ?? 50_000);
      return ok({ entries: [...slice.entries], firstSeq: slice.firstSeq, lastSeq: slice.lastSeq });
    },
    'settings:get': async () => ok({ settings: settings(), path: settingsStore.location }),
    'settings:update': async ({ patch }) => {
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
    },
    'comfy:list-instances': async () =>
      ok({ instances: comfy?.instances() ?? [], gpus: comfy?.gpus() ?? [] }),
    'comfy:free-vram': async () => {
      // Free VRAM = the daemon's models (when it runs) + every watched ComfyUI instance.
      const daemon =
        supervisor.status.state === 'running'
          ? await supervisor.unload().then((o) => ({ ok: o.ok, message: o.message }))
          : { ok: true, message: 'The Luna daemon is not running: nothing to unload there.' };
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
    supervisor,
    store,
    handlers,
    devices,
    daemonDevices: (id) => (id === undefined || id === DEFAULT_ID ? devices : null),
    events,
    snapshot,
    settings,
    comfyJobsFailed: () => jobsFailed,
    navigate: (view) => events.fire('app:navigate', { view }),
    autoStart(delayMs = 1_000) {
      // A daemon that already answers is shown from the first second, started by us or not.
      void supervisor.discover();
      if (!settings().daemon.autoStart) return;
      autoStartTimer = setTimeout(() => {
        autoStartTimer = null;
        void supervisor.start();
      }, delayMs);
    },
    async dispose(o = {}) {
      if (disposed) return;
      disposed = true;
      if (autoStartTimer) clearTimeout(autoStartTimer);
      await supervisor.dispose({ keepDaemon: o.keepDaemon ?? settings().app.keepDaemonOnExit });
      comfy?.dispose();
      webhooks.dispose();
      gpu.dispose();
      for (const d of disposers) d();
      if (pushTimer) clearTimeout(pushTimer);
      capture.dispose();
      await file.close();
    },
  };
}
