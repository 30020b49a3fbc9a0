import type { PreflightReport } from '../../shared/contract/invoke.js';
import type { DaemonInfo } from '../../shared/daemon-info.js';
import type { DaemonStatus, ExitRecord, FailureKind, Generation } from '../../shared/daemon-status.js';
import type { LogLevel } from '../../shared/log-entry.js';
import type { DaemonConfig, OneDaemonSettings, Settings } from '../../shared/settings-schema.js';
import { probeGeneration } from '../daemon/generation-probe.js';
import { LunaClient } from '../daemon/luna-client.js';
import type { LogCapture } from '../logs/log-capture.js';
import type { LogStore } from '../logs/log-store.js';
import { errorMessage } from '../util/error-message.js';
import { discoverRunning, SHUTDOWN_WAIT_MS } from './adoption.js';
import { daemonPaths } from './daemon-paths.js';
import { endpointChanges, endpointOf, type DaemonEndpoint } from './endpoint.js';
import { describeExit } from './exit-classification.js';
import type { OwnedChild } from './owned-child.js';
import { DaemonProcess } from './daemon-process.js';
import { Liveness } from './liveness.js';
import { checkDaemon, requestUnload, type ActionOutcome } from './daemon-requests.js';
import { PidFile } from './pid-file.js';
import { RestartScheduler } from './restart-scheduler.js';
import { describePortConflict, type DaemonPortKind } from './port-conflict.js';
import { applyDaemonSettings, verifyOwnership } from './post-start.js';
import { preflightReport, runPreflight } from './preflight.js';
import { nodeProcessLauncher, type ProcessLauncher } from './process-launcher.js';
import type { ProcessSample } from './processes.js';
import { ObservedState, type SupervisorEvents } from './observed-state.js';
import type { StatusEvent } from './status-machine.js';
import { runStartSequence } from './start-sequence.js';
import type { StopContext } from './stop-sequence.js';
import { TypedEmitter } from '../util/typed-emitter.js';

export { classifyEarlyExit, describeExit } from './exit-classification.js';

export type { ActionOutcome } from './daemon-requests.js';

export type { SupervisorEvents } from './observed-state.js';

/**
 * One Supervisor runs one daemon. Several can share a process, a data directory and a log store:
 *
 * - `id`: the daemon's id (`default` for today's single daemon). It picks the PID file
 *   (`daemonPaths`: `daemon.pid.json` for `default`, else `daemon-<id>.pid.json`); the caller tags
 *   the capture's entries with it and writes `logs/<id>.log` (or `logs/daemon.log`) through it.
 * - `config`: this daemon's settings (the shape of the `daemon` block), read at each use; host,
 *   ports and launch are still fixed for the life of a process (`endpoint.ts`).
 * - `settings`: the whole settings, for what daemons share (`comfyui.path`); its `daemon` block is
 *   never read.
 * - `label`: how messages name the daemon; '' (the default) leaves them as with a single daemon,
 *   anything else prefixes action results and status messages with `<label>: `.
 */
export interface SupervisorOptions {
  id: string;
  config: () => DaemonConfig;
  settings: () => Settings;
  label?: () => string;
  dataDir: string;
  /** Path of the bundled simulator (the `simulator` profile). */
  simulatorPath: string;
  store: LogStore;
  capture: LogCapture;
  launcher?: ProcessLauncher;
  now?: () => number;
  /** See `PROTOCOL_CHECK_MS` in health-watch.ts; tests shorten it. */
  protocolCheckMs?: number;
}

/**
 * Durations use this monotonic clock, never the wall clock (`now`): the system clock can jump by
 * hours (NTP, suspend), which used to fire start timeouts at once or turn an uptime negative.
 */
const monotonic = (): number => performance.now();

/**
 * The lifecycle coordinator of one Luna daemon: it serialises start, stop and restart, and wires
 * parts that each do one thing and report back through callbacks or return values:
 * `start-sequence.ts` (adoption, pre-flight, spawn, readiness), `post-start.ts`, `daemon-process.ts`
 * (the process and how it goes away), `restart-scheduler.ts` (crash count and backoff),
 * `liveness.ts` (the health watch and failed pings), `stop-sequence.ts`, `daemon-requests.ts` (Unload, Check) and
 * `observed-state.ts` (status, info and stats; every change goes through the pure reducer
 * `status-machine.ts` and is emitted as an event).
 */
export class Supervisor extends TypedEmitter<SupervisorEvents> {
  /** Status, info, stats, last exit and restart count, as listeners see them (observed-state.ts). */
  private readonly state: ObservedState;
  /** The health watch while the daemon is up, and what a failed ping means (liveness.ts). */
  private readonly liveness: Liveness;
  /** Quick-crash count and the backoff timer (restart-scheduler.ts). */
  private readonly restarter: RestartScheduler;

  /** The spawned or adopted daemon process and how it goes away (daemon-process.ts). */
  private readonly proc: DaemonProcess;
  /** Host, ports, generation and launch of the daemon process, fixed until it is gone (`endpoint.ts`). */
  private endpoint: DaemonEndpoint | null = null;
  /** The daemon was only found running outside Luna Tray ({@link discover}); nobody asked us to run it. */
  private discoveredExternal = false;

  private opChain: Promise<unknown> = Promise.resolve();
  private startAbort: AbortController | null = null;
  /** Incremented by every stop: starts queued before it are cancelled. */
  private stopEpoch = 0;
  private disposed = false;

  private readonly now: () => number;
  private readonly launcher: ProcessLauncher;
  private readonly pidFile: PidFile;

  constructor(private readonly opts: SupervisorOptions) {
    super();
    this.now = opts.now ?? Date.now;
    this.launcher = opts.launcher ?? nodeProcessLauncher;
    this.pidFile = new PidFile(daemonPaths(opts.dataDir, opts.id).pidFile);
    this.state = new ObservedState({
      now: this.now,
      ...(opts.label ? { label: opts.label } : {}),
      emit: (event, payload) => this.emit(event, payload),
      // No process any more: the next start takes host, ports and launch from the settings.
      onRest: () => {
        if (!this.proc.child) this.endpoint = null;
      },
    });
    this.proc = new DaemonProcess({
      store: opts.store,
      capture: opts.capture,
      now: this.now,
      pidFile: this.pidFile,
      log: this.log,
      isUp: () => this.state.up,
      endpoint: () => this.ep(),
      recordExit: (record) => this.state.recordExit(record),
      stopWatching: () => this.liveness.stop(),
      onUnexpectedExit: (record, uptimeMs) => this.handleUnexpectedExit(record, uptimeMs),
      onStrayHolder: (message, record) => void this.fail('stop-failed', message, record),
    });
    this.liveness = new Liveness({
      state: this.state,
      proc: this.proc,
      config: opts.config,
      endpoint: () => this.ep(),
      client: (g) => this.client(g),
      log: this.log,
      ...(opts.protocolCheckMs !== undefined ? { protocolCheckMs: opts.protocolCheckMs } : {}),
    });
    this.restarter = new RestartScheduler({
      policy: () => opts.config().restart,
      now: this.now,
      apply: this.apply,
      log: this.log,
      restart: () =>
        void this.exclusive(() =>
          this.state.status.state === 'backoff' ? this.startNow(true) : Promise.resolve(null),
        ),
    });
  }

  get status(): DaemonStatus {
    return this.state.status;
  }
  get info(): DaemonInfo | null {
    return this.state.info;
  }
  get infoAt(): number | null {
    return this.state.infoAt;
  }
  get stats(): ProcessSample | null {
    return this.state.stats;
  }
  get lastExit(): ExitRecord | null {
    return this.state.lastExit;
  }
  /** This daemon's id (`default` for the single daemon of the `daemon` settings block). */
  get id(): string {
    return this.opts.id;
  }
  get restarts(): number {
    return this.state.restarts;
  }
  /** The PID we believe the daemon has (spawned or adopted), or null. */
  get pid(): number | null {
    return this.proc.pid;
  }
  /** Settings that changed since the running daemon was started or adopted ("restart to apply"). */
  get pendingSettingChanges(): string[] {
    return this.endpoint ? endpointChanges(this.endpoint, this.view()) : [];
  }

  /** At start-up: show a daemon that already answers as running and adopted, starting nothing. Never rejects. */
  discover(): Promise<void> {
    return this.exclusive(async () => {
      if (this.disposed || this.state.status.state !== 'stopped') return;
      const ep = endpointOf(this.view());
      try {
        const found = await discoverRunning({ host: ep.host, port: ep.port, pidFile: this.pidFile });
        if (!found || this.state.status.state !== 'stopped') return;
        this.endpoint = ep;
        this.adopt(found.generation, found.pid, found.owned, found.what);
        this.discoveredExternal = !found.owned;
      } catch (e) {
        this.log('warning', `Could not look for a running daemon: ${errorMessage(e)}`);
      }
    });
  }

  /** Start the daemon (or adopt one that already answers). Resolves when running or failed; never rejects. */
  start(): Promise<ActionOutcome> {
    this.discoveredExternal = false;
    this.restarter.cancel();
    const epoch = this.stopEpoch;
    // A stop requested after this start was queued cancels it before it begins.
    return this.named(
      this.exclusive(() => (epoch !== this.stopEpoch ? Promise.resolve(aborted()) : this.startNow(false))),
    );
  }

  /** Stop the daemon (stop-sequence.ts); never restarted afterwards. */
  stop(): Promise<ActionOutcome> {
    this.interrupt();
    return this.named(this.exclusive(() => this.stopNow()));
  }

  /** Stop, then start, resetting the crash counters. */
  restart(): Promise<ActionOutcome> {
    this.interrupt();
    return this.named(
      this.exclusive(async () => {
        const stopped = await this.stopNow();
        return stopped.ok ? this.startNow(false) : stopped;
      }),
    );
  }

  /** Ask the daemon to unload its models (daemon-requests.ts). */
  unload(): Promise<ActionOutcome> {
    if (this.state.status.state !== 'running')
      return this.named(
        Promise.resolve({ ok: false, code: 'not-running', message: 'The Luna daemon is not running.' }),
      );
    return this.named(
      requestUnload(this.client(), { log: this.log, refreshInfo: () => void this.liveness.refreshInfo() }),
    );
  }

  /** Force a ping now and report the result in words. */
  check(): Promise<ActionOutcome> {
    const { host, port } = this.ep();
    const generation = this.state.generation ?? 'current';
    return this.named(
      checkDaemon(this.client(generation), {
        host,
        port,
        generation,
        timeoutMs: this.opts.config().health.pingTimeoutMs,
        refreshInfo: () => void this.liveness.refreshInfo(),
      }),
    );
  }

  /** The pre-flight checks without starting anything (the panel's "Test launch profile"). */
  async preflight(): Promise<PreflightReport> {
    const settings = this.view();
    const { host, port } = settings.daemon;
    const probed = (await probeGeneration({ host, port, timeoutMs: 1_500 })).generation;
    const result = await runPreflight({ ...this.preflightPaths(), settings, host, port, probed });
    return preflightReport(result, settings.daemon);
  }

  /** Stop watching; stop the daemon unless `keepDaemon`. Idempotent. */
  async dispose(opts: { keepDaemon: boolean }): Promise<void> {
    if (this.disposed) return;
    this.restarter.cancel();
    this.startAbort?.abort();
    // A daemon merely found running outside Luna Tray, never started or stopped through it, is left as found.
    if (!opts.keepDaemon && !this.discoveredExternal) await this.stop();
    else this.log('info', 'Luna Tray is exiting and leaves the daemon running (app.keepDaemonOnExit).');
    await this.opChain.catch(() => undefined);
    this.disposed = true;
    this.liveness.stop();
  }

  // ---- starting ----------------------------------------------------------------------------

  private async startNow(auto: boolean): Promise<ActionOutcome> {
    if (this.disposed) return { ok: false, code: 'operation-failed', message: 'Luna Tray is shutting down.' };
    const dying = this.proc.child;
    if (dying?.shuttingDown) {
      // It answered `shutdown` (from anyone) and exits within about a second (§9.1): wait it out,
      // then start a fresh one, rather than calling a dying daemon "already running".
      this.log('info', 'The daemon is shutting down: waiting for it to exit before starting.');
      await Promise.race([dying.exit, sleep(SHUTDOWN_WAIT_MS)]);
      await sleep(0); // let the exit handler run
      await this.proc.exitHandled;
    }
    const state = this.state.status.state;
    if (state === 'running' || state === 'unresponsive')
      return { ok: true, message: 'The Luna daemon is already running.' };
    if (!auto) this.restarter.resetCount();
    this.apply({ type: 'start-requested', attempt: this.restarter.attempt });
    const abort = new AbortController();
    this.startAbort = abort;
    try {
      return await this.launchAndWait(auto, abort.signal);
    } catch (e) {
      // A start never rejects: an auto-start or a backoff timer has nobody to catch a rejection.
      if (abort.signal.aborted) return aborted();
      return this.fail('start-failed', `Unexpected error while starting the daemon: ${errorMessage(e)}`);
    } finally {
      if (this.startAbort === abort) this.startAbort = null;
    }
  }

  private async launchAndWait(auto: boolean, signal: AbortSignal): Promise<ActionOutcome> {
    const settings = this.view();
    // Host, ports and launch are fixed from here until this daemon is gone (endpoint.ts).
    const ep = (this.endpoint = endpointOf(settings));
    const result = await runStartSequence({
      settings,
      endpoint: ep,
      auto,
      signal,
      pidFile: this.pidFile,
      ...this.preflightPaths(),
      launcher: this.launcher,
      store: this.opts.store,
      now: this.now,
      log: this.log,
      takeChild: (proc) => {
        const child = this.proc.take(proc);
        if (auto) this.state.countRestart();
        this.apply({ type: 'spawned', pid: proc.pid });
        return child;
      },
      lastExit: () => this.state.lastExit,
      conflict: this.conflict,
    });
    switch (result.kind) {
      case 'aborted':
        return aborted();
      case 'adopt':
        return this.adopt(result.generation, result.pid, result.owned, result.what);
      case 'failed':
        return this.fail(result.failure, result.message, result.lastExit);
      case 'exited':
        // A failed automatic restart counts as another quick crash (crash-loop detection).
        this.handleUnexpectedExit(result.exit, 0);
        return { ok: false, code: 'operation-failed', message: describeExit(result.exit) };
      case 'ready':
        return this.ready(result.child, result.generation, settings.daemon);
    }
  }

  /** Our spawned daemon answers: watch it, then the post-start setup (post-start.ts). */
  private ready(child: OwnedChild, generation: Generation, d: DaemonConfig): ActionOutcome {
    const { pid } = child.proc;
    child.readyAt = monotonic();
    this.apply({ type: 'ready', pid, adopted: false, generation });
    this.log('info', `The Luna daemon is ready (${generation} protocol, PID ${pid}).`);
    this.liveness.start(generation);
    const { host, port } = this.ep();
    const refreshInfo = () => void this.liveness.refreshInfo();
    const log = this.log;
    if (generation === 'current')
      void applyDaemonSettings({ client: this.client(generation), config: d, log, refreshInfo });
    void verifyOwnership({ host, port, childPid: pid, log });
    return { ok: true, message: `The Luna daemon is running (PID ${pid}).` };
  }

  private adopt(generation: Generation, pid: number | null, owned: boolean, what: string): ActionOutcome {
    this.discoveredExternal = false;
    this.proc.adopt(pid, owned);
    this.apply({ type: 'ready', pid, adopted: true, generation });
    this.log(
      'info',
      `Adopted ${what} (${generation} protocol${pid ? `, PID ${pid}` : ''}); no second daemon was started.`,
    );
    this.liveness.start(generation);
    return { ok: true, message: `Adopted ${what}${pid ? ` (PID ${pid})` : ''}.` };
  }

  private fail(kind: FailureKind, message: string, lastExit?: ExitRecord): ActionOutcome {
    this.apply({ type: 'failed', kind, message, ...(lastExit ? { lastExit } : {}) });
    this.log('error', message);
    return { ok: false, code: 'operation-failed', message };
  }

  // ---- exits ---------------------------------------------------------------------------------

  /** The daemon went away without being asked: its restart policy decides (restart-scheduler.ts). */
  private handleUnexpectedExit(record: ExitRecord, uptimeMs: number): void {
    this.liveness.stop();
    this.restarter.onUnexpectedExit(record, uptimeMs);
  }

  // ---- stopping ------------------------------------------------------------------------------

  private async stopNow(): Promise<ActionOutcome> {
    const state = this.state.status.state;
    if (state === 'backoff') {
      this.apply({ type: 'stop-requested' });
      return { ok: true, message: 'The scheduled restart was cancelled.' };
    }
    const lastExit = this.state.lastExit ? { lastExit: this.state.lastExit } : {};
    const ctx = this.stopContext(this.state.generation ?? 'current');
    if (state === 'stopped' || state === 'failed') {
      const stray = await this.proc.stopStray(ctx);
      if (!stray) return { ok: true, message: 'The Luna daemon was not running.' };
      if (stray.failure) return this.stopFailed(stray.failure);
      this.apply({ type: 'stopped', reason: 'user', ...lastExit });
      const message = `Stopped PID ${stray.pid}, which kept the daemon port after the daemon exited.`;
      this.log('info', message);
      return { ok: true, message };
    }
    const wasStarting = state === 'starting';
    this.apply({ type: 'stop-requested' });
    this.liveness.stop();
    if (!this.proc.child && wasStarting) {
      // Cancelled during pre-flight: nothing was spawned or adopted; what answers on the port is not ours.
      this.apply({ type: 'stopped', reason: 'user', ...lastExit });
      return { ok: true, message: 'The start was cancelled before the daemon was launched.' };
    }
    const stopped = await this.proc.stop(ctx, !wasStarting);
    if ('failure' in stopped) return this.stopFailed(stopped.failure);
    this.apply({
      type: 'stopped',
      reason: 'user',
      ...(this.state.lastExit ? { lastExit: this.state.lastExit } : {}),
    });
    const message = `The Luna daemon stopped ${stopped.forced ? 'forcibly' : 'gracefully'}.`;
    this.log('info', message);
    return { ok: true, message };
  }

  private stopFailed(message: string): ActionOutcome {
    this.apply({ type: 'failed', kind: 'stop-failed', message });
    return { ok: false, code: 'operation-failed', message };
  }

  private stopContext(generation: Generation): StopContext {
    const d = this.opts.config();
    const { host, port } = this.ep();
    return {
      host,
      port,
      graceMs: d.stopGraceSec * 1000,
      killTimeoutMs: d.killTimeoutSec * 1000,
      shutdown: () => this.client(generation).shutdown({ timeoutMs: 2_000 }),
      onEscalate: (step) => this.apply({ type: 'stop-escalated', step }),
      log: this.log,
    };
  }

  // ---- helpers -------------------------------------------------------------------------------

  private readonly log = (level: LogLevel, text: string): void =>
    void this.opts.capture.supervisor(level, text);

  private readonly conflict = (port: number, kind: DaemonPortKind, notLuna = false): Promise<string> =>
    describePortConflict({ host: this.ep().host, port, kind, settings: this.view(), notLuna });

  private preflightPaths(): { dataDir: string; simulatorPath: string } {
    return { dataDir: this.opts.dataDir, simulatorPath: this.opts.simulatorPath };
  }

  private client(generation: Generation = this.state.generation ?? 'current'): LunaClient {
    const { host, port } = this.ep();
    return new LunaClient({ host, port, generation });
  }

  /** The settings as the shared helpers read them: the shared part, with this daemon's block. */
  private view(): OneDaemonSettings {
    return { ...this.opts.settings(), daemon: this.opts.config() };
  }

  /** The running daemon's endpoint, or the settings' when there is none. */
  private ep(): DaemonEndpoint {
    return this.endpoint ?? endpointOf(this.view());
  }

  /** Action results name the daemon as status messages do (several daemons). */
  private async named(outcome: Promise<ActionOutcome>): Promise<ActionOutcome> {
    const o = await outcome;
    return { ...o, message: this.state.name(o.message) };
  }

  private readonly apply = (event: StatusEvent): void => void this.state.apply(event);

  /** A stop or restart: no backoff restart, and a start in progress must not delay it. */
  private interrupt(): void {
    this.discoveredExternal = false;
    this.restarter.cancel();
    this.stopEpoch++;
    this.startAbort?.abort();
  }

  /** Serialise lifecycle operations: a start and a stop never interleave. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.opChain.then(fn, fn);
    this.opChain = run.catch(() => undefined);
    return run;
  }
}

function aborted(): ActionOutcome {
  return { ok: false, code: 'operation-failed', message: 'The start was cancelled by a stop.' };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
