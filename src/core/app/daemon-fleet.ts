import type { DaemonStatus } from '../../shared/daemon-status.js';
import { settingsForDaemon, type DaemonEntry, type Settings } from '../../shared/settings-schema.js';
import type { AppWarning, DaemonSnapshot } from '../../shared/snapshot.js';
import { createDaemonDevices, type DaemonDevices } from '../gpu/daemon-devices.js';
import { createLogCapture, type LogCapture } from '../logs/log-capture.js';
import type { LogStore } from '../logs/log-store.js';
import { createRotatingFile, type RotatingFile } from '../logs/rotating-file.js';
import type { SettingsStore } from '../settings/settings-store.js';
import { daemonPaths } from '../supervisor/daemon-paths.js';
import { restartToApplyMessage } from '../supervisor/endpoint.js';
import type { ProcessLauncher } from '../supervisor/process-launcher.js';
import { Supervisor } from '../supervisor/supervisor.js';
import { setupNotice } from './setup-notice.js';

/**
 * One Supervisor per ENABLED entry of `settings.daemons`, each with its own log capture and file
 * (`logs/<id>.log`; the first daemon of an upgrade keeps `logs/daemon.log`), PID file, device calls,
 * restart policy and warnings, all sharing one log store whose entries carry the daemon id. Members
 * never see each other: a crash, hang or stop of one cannot reach another (docs/multi-daemon.md).
 * The fleet follows the settings: a daemon added or enabled gets a member, one removed or disabled
 * is stopped and dropped.
 */
export interface FleetMember {
  readonly id: string;
  readonly supervisor: Supervisor;
  readonly capture: LogCapture;
  readonly devices: DaemonDevices;
  /** This daemon's entry in the current settings (the last one seen, once removed). */
  entry(): DaemonEntry;
  snapshot(): DaemonSnapshot;
}

export interface DaemonFleetOptions {
  dataDir: string;
  simulatorPath: string;
  settingsStore: SettingsStore;
  store: LogStore;
  launcher?: ProcessLauncher;
  /** Warnings every daemon's snapshot shows (settings file problems). */
  sharedWarnings: () => readonly AppWarning[];
  /** A member's status, info or stats changed (also called for members being added or dropped). */
  onChange: (member: FleetMember) => void;
  /** Each status of each member, in order (webhooks, notifications). */
  onStatus?: (member: FleetMember, status: DaemonStatus) => void;
}

const MAX_WARNINGS = 20;

export class DaemonFleet {
  readonly #opts: DaemonFleetOptions;
  readonly #members = new Map<string, Member>();
  #disposed = false;

  constructor(opts: DaemonFleetOptions) {
    this.#opts = opts;
    this.sync(opts.settingsStore.get());
  }

  /** The running members, in settings order. */
  members(): FleetMember[] {
    const order = this.#opts.settingsStore.get().daemons.map((d) => d.id);
    return [...this.#members.values()].sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
  }

  get(id: string): FleetMember | null {
    return this.#members.get(id) ?? null;
  }

  /**
   * Follow the settings: add members for new enabled entries, stop and drop the others. Returns the
   * members it added (the caller shows what already runs on their ports: `discover`).
   */
  sync(settings: Settings): FleetMember[] {
    if (this.#disposed) return [];
    const wanted = new Map(settings.daemons.filter((d) => d.enabled).map((d) => [d.id, d]));
    for (const [id, m] of this.#members) {
      if (wanted.has(id)) continue;
      this.#members.delete(id);
      void m.dispose(false).finally(() => this.#opts.onChange(m));
    }
    const added: FleetMember[] = [];
    for (const [id, entry] of wanted) {
      const m = this.#members.get(id);
      if (m) {
        m.last = entry;
        m.syncRestartWarning();
        m.syncSetupNotice();
      } else {
        const fresh = new Member(entry, this.#opts, () => this.#members.size);
        this.#members.set(id, fresh);
        added.push(fresh);
      }
    }
    for (const m of this.#members.values())
      m.file.setLimits({ maxBytes: settings.logs.fileMaxBytes, count: settings.logs.fileCount });
    return added;
  }

  /** Stop watching; each daemon is stopped unless `keepDaemon` (an adopted one is left running). */
  async dispose(keepDaemon: boolean): Promise<void> {
    this.#disposed = true;
    const all = [...this.#members.values()];
    this.#members.clear();
    await Promise.all(all.map((m) => m.dispose(keepDaemon)));
  }
}

class Member implements FleetMember {
  readonly id: string;
  readonly supervisor: Supervisor;
  readonly capture: LogCapture;
  readonly file: RotatingFile;
  readonly devices: DaemonDevices;
  last: DaemonEntry;
  readonly #warnings: AppWarning[] = [];
  readonly #opts: DaemonFleetOptions;
  readonly #disposers: (() => void)[] = [];
  #restartWarning = '';
  #setupMessage = '';

  constructor(entry: DaemonEntry, opts: DaemonFleetOptions, fleetSize: () => number) {
    this.id = entry.id;
    this.last = entry;
    this.#opts = opts;
    const settings = opts.settingsStore.get();
    const paths = daemonPaths(opts.dataDir, entry.id);
    this.file = createRotatingFile({
      path: paths.logFile,
      maxBytes: settings.logs.fileMaxBytes,
      count: settings.logs.fileCount,
      onError: (e) => this.warn('log-file', `${e.message} Logs are still kept in memory.`),
      onRecover: () => this.clearWarning('log-file'),
    });
    this.capture = createLogCapture({
      store: opts.store,
      file: this.file,
      maxLineLength: settings.logs.maxLineLength,
      daemon: entry.id,
    });
    this.supervisor = new Supervisor({
      id: entry.id,
      config: () => this.entry(),
      settings: () => opts.settingsStore.get(),
      // With one daemon, messages read as they always did; with several, each names its daemon.
      label: () => (fleetSize() > 1 ? this.entry().name : ''),
      dataDir: opts.dataDir,
      simulatorPath: opts.simulatorPath,
      store: opts.store,
      capture: this.capture,
      ...(opts.launcher ? { launcher: opts.launcher } : {}),
    });
    this.devices = createDaemonDevices({
      settingsStore: opts.settingsStore,
      daemonId: entry.id,
      snapshot: () => this.snapshot(),
      warn: (m) => this.capture.supervisor('warning', m),
    });
    const changed = () => opts.onChange(this);
    this.#disposers.push(
      this.supervisor.on('status', (s) => {
        opts.onStatus?.(this, s);
        this.syncRestartWarning();
        this.syncSetupNotice();
        changed();
      }),
      this.supervisor.on('info', changed),
      this.supervisor.on('stats', changed),
    );
    // Quietly: the fleet is still being built, so nobody is told of a change yet.
    this.syncSetupNotice(false);
  }

  entry(): DaemonEntry {
    const current = this.#opts.settingsStore.get().daemons.find((d) => d.id === this.id);
    if (current) this.last = current;
    return this.last;
  }

  snapshot(): DaemonSnapshot {
    const s = this.supervisor;
    return {
      status: s.status,
      info: s.info,
      infoAt: s.infoAt,
      restarts: s.restarts,
      lastExit: s.lastExit,
      process: s.stats,
      warnings: [...this.#opts.sharedWarnings(), ...this.#warnings],
      logSeq: this.#opts.store.lastSeq,
    };
  }

  /**
   * A running daemon keeps the host, ports and launch it was started with; say when its settings now
   * differ, so nobody expects them to apply before a restart (src/core/supervisor/endpoint.ts).
   */
  syncRestartWarning(): void {
    const changes = this.supervisor.pendingSettingChanges;
    const message = changes.length > 0 ? restartToApplyMessage(changes) : '';
    if (message === this.#restartWarning) return;
    this.#restartWarning = message;
    if (message) this.warn('restart-to-apply', message);
    else this.clearWarning('restart-to-apply');
  }

  /** "Not set up yet" on a first start with nothing configured (src/core/app/setup-notice.ts). */
  syncSetupNotice(notify = true): void {
    const own = settingsForDaemon(this.#opts.settingsStore.get(), this.id);
    const message =
      (own &&
        setupNotice(own, this.supervisor.status, {
          dataDir: this.#opts.dataDir,
          simulatorPath: this.#opts.simulatorPath,
        })) ??
      '';
    if (message === this.#setupMessage) return;
    this.#setupMessage = message;
    // Not logged: the log view sits beside the warnings, and the hint is state, not an event.
    if (message) this.warn('setup', message, { log: false, notify });
    else this.clearWarning('setup');
  }

  /** A visible warning; also a log line unless it is a hint about state rather than an event. */
  warn(id: string, message: string, o: { log?: boolean; notify?: boolean } = {}): void {
    const i = this.#warnings.findIndex((w) => w.id === id);
    if (i >= 0) this.#warnings.splice(i, 1);
    this.#warnings.push({ id, message, at: Date.now() });
    if (this.#warnings.length > MAX_WARNINGS) this.#warnings.shift();
    if (o.log !== false) this.capture.supervisor('warning', message);
    if (o.notify !== false) this.#opts.onChange(this);
  }

  clearWarning(id: string): void {
    const i = this.#warnings.findIndex((w) => w.id === id);
    if (i < 0) return;
    this.#warnings.splice(i, 1);
    this.#opts.onChange(this);
  }

  async dispose(keepDaemon: boolean): Promise<void> {
    await this.supervisor.dispose({ keepDaemon });
    for (const d of this.#disposers) d();
    this.capture.dispose();
    await this.file.close();
  }
}
