// THE way tests and benchmarks build a Supervisor (bench/harness.mjs bundles this file too, so it
// imports neither vitest nor anything that locates files through import.meta.url). Callers bring
// the settings; the fixture wires the store, the capture (optionally with the daemon's rotating log
// file, as src/core/app/luna-core.ts does), the identity, timestamps every status and disposes it all.
import { performance } from 'node:perf_hooks';

import type { DaemonStatus } from '../../src/shared/daemon-status.js';
import {
  mergeSettings,
  settingsSchema,
  type Settings,
  firstDaemon,
} from '../../src/shared/settings-schema.js';
import { createLogCapture, type LogCapture } from '../../src/core/logs/log-capture.js';
import { LogStore } from '../../src/core/logs/log-store.js';
import { createRotatingFile, type RotatingFile } from '../../src/core/logs/rotating-file.js';
import { daemonPaths } from '../../src/core/supervisor/daemon-paths.js';
import { Supervisor, type SupervisorOptions } from '../../src/core/supervisor/supervisor.js';

export interface SupervisorRigOptions {
  settings: Settings;
  dataDir: string;
  /** The bundled simulator script (`test/helpers/sim.ts` SIM_PATH, bench/lib.mjs SIM). */
  simulatorPath: string;
  /** The daemon id (default `default`); a given id also tags the log entries with it. */
  id?: string;
  label?: string;
  /** Share a store (several daemons); default: a store of its own. */
  store?: LogStore;
  storeCapacity?: number;
  /** Write the daemon's log file (`daemonPaths(...).logFile`) as the product does. */
  logFile?: boolean;
  /** More Supervisor options (a fake launcher, a short protocol check, a clock). */
  extra?: Partial<Pick<SupervisorOptions, 'launcher' | 'now' | 'protocolCheckMs'>>;
  /** Told of every PID a status names (tests track them for clean-up). */
  onPid?: (pid: number, status: DaemonStatus) => void;
}

export interface SupervisorRig {
  sup: Supervisor;
  store: LogStore;
  capture: LogCapture;
  dataDir: string;
  /** The settings the supervisor reads now. */
  readonly settings: Settings;
  /** Change the settings the supervisor reads from now on (as `config set` would). */
  update(patch: Record<string, unknown>): void;
  /** Every status with its `performance.now()` time. */
  events: { at: number; status: DaemonStatus }[];
  states: DaemonStatus['state'][];
  /** The next status matching `pred` (not an earlier one), with its time. */
  nextStatus(
    pred: (s: DaemonStatus) => boolean,
    timeoutMs?: number,
  ): Promise<{ at: number; status: DaemonStatus }>;
  logText(): string;
  /** Dispose the supervisor (stopping its daemon unless `keepDaemon`), the capture and the file. */
  dispose(opts?: { keepDaemon: boolean }): Promise<void>;
}

export function buildSupervisor(o: SupervisorRigOptions): SupervisorRig {
  const id = o.id ?? 'default';
  const box = { settings: o.settings };
  const store = o.store ?? new LogStore({ capacity: o.storeCapacity ?? o.settings.logs.bufferSize });
  let file: RotatingFile | undefined;
  if (o.logFile) {
    const s = o.settings.logs;
    file = createRotatingFile({
      path: daemonPaths(o.dataDir, id).logFile,
      maxBytes: s.fileMaxBytes,
      count: s.fileCount,
    });
  }
  const capture = createLogCapture({
    store,
    ...(file ? { file } : {}),
    maxLineLength: o.settings.logs.maxLineLength,
    ...(o.id ? { daemon: id } : {}),
  });
  const sup = new Supervisor({
    id,
    config: () => firstDaemon(box.settings),
    settings: () => box.settings,
    ...(o.label !== undefined ? { label: () => o.label! } : {}),
    dataDir: o.dataDir,
    simulatorPath: o.simulatorPath,
    store,
    capture,
    ...o.extra,
  });
  const events: SupervisorRig['events'] = [];
  const states: SupervisorRig['states'] = [];
  const waiters = new Set<{ pred: (s: DaemonStatus) => boolean; resolve: (e: (typeof events)[0]) => void }>();
  sup.on('status', (status) => {
    const e = { at: performance.now(), status };
    events.push(e);
    states.push(status.state);
    const pid = 'pid' in status ? status.pid : null;
    if (pid) o.onPid?.(pid, status);
    for (const w of [...waiters]) {
      if (w.pred(status)) {
        waiters.delete(w);
        w.resolve(e);
      }
    }
  });
  let disposed = false;
  return {
    sup,
    store,
    capture,
    dataDir: o.dataDir,
    get settings() {
      return box.settings;
    },
    update(patch) {
      box.settings = settingsSchema.parse(mergeSettings(box.settings, patch));
    },
    events,
    states,
    nextStatus(pred, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const w = { pred, resolve };
        waiters.add(w);
        setTimeout(() => {
          if (waiters.delete(w))
            reject(new Error(`no matching status within ${timeoutMs} ms (now ${sup.status.state})`));
        }, timeoutMs).unref();
      });
    },
    logText: () =>
      store
        .since(0)
        .entries.map((e) => e.text)
        .join('\n'),
    async dispose(opts = { keepDaemon: false }) {
      if (disposed) return;
      disposed = true;
      await sup.dispose(opts);
      capture.dispose();
      await file?.close();
    },
  };
}
