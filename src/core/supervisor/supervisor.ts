import { basename } from 'node:path';

import type { PreflightReport } from '../../shared/contract/invoke.js';
import type { DaemonInfo } from '../../shared/daemon-info.js';
import {
  type DaemonStatus,
  type ExitRecord,
  type FailureKind,
  type Generation,
} from '../../shared/daemon-status.js';
import type { DaemonConfig, Settings } from '../../shared/settings-schema.js';
import { isDaemonError } from '../daemon/errors.js';
import { probeGeneration } from '../daemon/generation-probe.js';
import { LunaChannel } from '../daemon/luna-channel.js';
import { LunaClient } from '../daemon/luna-client.js';
import { createMonitorSocket } from '../daemon/monitor-socket.js';
import type { LogCapture } from '../logs/log-capture.js';
import type { LogStore } from '../logs/log-store.js';
import { checkPython, resolveLaunchProfile } from '../settings/launch-profile.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { daemonPaths } from './daemon-paths.js';
import { PidFile } from './pid-file.js';
import {
  LaunchError,
  nodeProcessLauncher,
  type LaunchedProcess,
  type ProcessLauncher,
} from './process-launcher.js';
import {
  createProcessSampler,
  isDescendantOf,
  isGroupAlive,
  isPidAlive,
  killGroup,
  killTree,
  processStartTime,
  signalPid,
  waitForPidExit,
  type ProcessSample,
} from './processes.js';
import { decideAfterExit } from './restart-policy.js';
import { endpointChanges, endpointOf, type DaemonEndpoint } from './endpoint.js';
import { classifyEarlyExit, describeExit } from './exit-classification.js';
import { proveFeedOwnership } from './feed-ownership.js';
import {
  describePortConflict,
  effectiveDaemonPorts,
  heldDaemonPort,
  type DaemonPortKind,
} from './port-conflict.js';
import { checkDaemonUser, findPortOwner, isPortFree } from './port-owner.js';
import { announcesShutdown, stillAnswersAfterShutdownWindow, waitForDaemonGone } from './shutdown-window.js';
import { INITIAL_STATUS, transition, type StatusEvent } from './status-machine.js';
import { endStray, findStrayHolder, strayHolderMessage } from './stray-holder.js';

export { classifyEarlyExit, describeExit } from './exit-classification.js';

/** The outcome of a user action, as the API and CLI report it. */
export type ActionOutcome =
  { ok: true; message: string } | { ok: false; code: 'not-running' | 'operation-failed'; message: string };

export interface SupervisorEvents {
  status: DaemonStatus;
  info: DaemonInfo | null;
  stats: ProcessSample | null;
}

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
  /**
   * While the status feed proves liveness, a protocol ping over a fresh connection still goes out
   * this often (never more often than the health interval). Default {@link PROTOCOL_CHECK_MS}; tests
   * shorten it.
   */
  protocolCheckMs?: number;
}

/** How many lines of the daemon's last output an exit record keeps. */
const TAIL_LINES = 20;
/** How long to wait for the pipes to close after `exit` (a grandchild may hold them open). */
const PIPE_CLOSE_WAIT_MS = 100;
/** Readiness polling interval while starting. */
const READY_POLL_MS = 50;
/** Per-ping timeout while starting (the daemon may be busy importing torch). */
const READY_PING_TIMEOUT_MS = 1_000;
/** Process CPU/RSS sampling interval. */
const STATS_INTERVAL_MS = 5_000;
/** The WebSocket monitor sends a `status` message every second (docs/daemon-protocol.md §10). */
const FEED_PERIOD_MS = 1_000;
/**
 * The shortest health interval for which the status feed stands in for pings: one and a half feed
 * periods, so that the feed's normal jitter never looks like silence.
 */
const FEED_LIVENESS_MIN_INTERVAL_MS = 1.5 * FEED_PERIOD_MS;
/**
 * While the status feed proves liveness, a protocol ping still goes out this often (at least every
 * health interval): the feed has its own daemon thread, and a deadlocked request handler must still
 * be noticed.
 */
const PROTOCOL_CHECK_MS = 30_000;
/** After a stop, how long to wait for the port to stop answering. */
const PORT_RELEASE_TIMEOUT_MS = 5_000;

/**
 * Durations and deadlines use this monotonic clock, never the wall clock (`now`): the system clock
 * can jump by hours (NTP, suspend, a user fixing the time), which used to fire start timeouts at
 * once, never fire them at all, or turn an uptime negative and a stable daemon into a "quick crash".
 */
const monotonic = (): number => performance.now();

interface OwnedChild {
  gen: number;
  proc: LaunchedProcess;
  /** Resolves once the exit record is complete (pipes drained, capture flushed). */
  exit: Promise<ExitRecord>;
  /** When it became ready, on the MONOTONIC clock (`performance.now()`), for its uptime. */
  readyAt: number | null;
  /** It logged that it received `shutdown` (from anyone): it is about to exit (§9.1). */
  shuttingDown: boolean;
  /** Luna Tray killed it because it stopped answering. */
  killedUnresponsive: boolean;
}

/** How long a start waits for a daemon that is shutting down to exit and free its ports. */
const SHUTDOWN_WAIT_MS = 10_000;

/**
 * Supervises one Luna daemon: start with pre-flight and adoption, readiness by protocol ping,
 * health pings, restart with pm2-like backoff, graceful stop with escalation, orphan reclaim through
 * a PID file. Status changes go through the pure reducer (`status-machine.ts`) and are emitted as
 * `status` events; the tray, panel, API and CLI are views of them.
 */
export class Supervisor extends TypedEmitter<SupervisorEvents> {
  private statusValue: DaemonStatus = INITIAL_STATUS;
  private infoValue: DaemonInfo | null = null;
  private infoAtValue: number | null = null;
  private statsValue: ProcessSample | null = null;
  private lastExitValue: ExitRecord | null = null;
  private restartsValue = 0;
  private quickCrashes = 0;

  private child: OwnedChild | null = null;
  private childGen = 0;
  /** PID of an adopted daemon when known (from the PID file or the port owner). */
  private adoptedPid: number | null = null;
  /** Whether the adopted daemon is provably ours (recorded in our PID file). */
  private adoptedOwned = false;
  /** When the current adopted daemon was adopted (monotonic clock), for its uptime. */
  private adoptedAt = 0;
  /**
   * Host, ports, generation and launch of the daemon process we supervise, fixed at spawn or
   * adoption until it is gone (`endpoint.ts`); null while there is none.
   */
  private endpoint: DaemonEndpoint | null = null;
  /** A process that kept the daemon port after the daemon exited (reported; a stop ends it). */
  private strayPid: number | null = null;
  /** Settles once the last unexpected exit has been handled (group swept, strays looked for). */
  private exitHandled: Promise<void> = Promise.resolve();
  /** The daemon was only found running outside Luna Tray ({@link discover}); nobody asked us to run it. */
  private discoveredExternal = false;

  private opChain: Promise<unknown> = Promise.resolve();
  private startAbort: AbortController | null = null;
  /** Incremented by every stop: starts queued before it are cancelled. */
  private stopEpoch = 0;
  private backoffTimer: NodeJS.Timeout | null = null;
  private watchers: (() => void)[] = [];
  private disposed = false;

  private readonly now: () => number;
  private readonly launcher: ProcessLauncher;
  private readonly pidFile: PidFile;

  constructor(private readonly opts: SupervisorOptions) {
    super();
    this.now = opts.now ?? Date.now;
    this.launcher = opts.launcher ?? nodeProcessLauncher;
    this.pidFile = new PidFile(daemonPaths(opts.dataDir, opts.id).pidFile);
    this.statusValue = { ...INITIAL_STATUS, at: this.now() };
  }

  get status(): DaemonStatus {
    return this.statusValue;
  }
  get info(): DaemonInfo | null {
    return this.infoValue;
  }
  get infoAt(): number | null {
    return this.infoAtValue;
  }
  get stats(): ProcessSample | null {
    return this.statsValue;
  }
  get lastExit(): ExitRecord | null {
    return this.lastExitValue;
  }
  /** This daemon's id (`default` for the single daemon of the `daemon` settings block). */
  get id(): string {
    return this.opts.id;
  }
  get restarts(): number {
    return this.restartsValue;
  }
  /** The PID we believe the daemon has (spawned or adopted), or null. */
  get pid(): number | null {
    return this.child?.proc.pid ?? this.adoptedPid;
  }

  /** Settings that changed since the running daemon was started or adopted ("restart to apply"). */
  get pendingSettingChanges(): string[] {
    return this.endpoint ? endpointChanges(this.endpoint, this.view()) : [];
  }

  /**
   * At start-up: show a daemon that already answers (ours from an earlier run through the PID file,
   * or one started outside Luna Tray) as running and adopted, without starting anything. Never rejects.
   */
  discover(): Promise<void> {
    return this.exclusive(async () => {
      if (this.disposed || this.statusValue.state !== 'stopped') return;
      const settings = this.view();
      const d = settings.daemon;
      try {
        const probe = await probeGeneration({ host: d.host, port: d.port, timeoutMs: 1_500 });
        if (probe.generation !== 'current' && probe.generation !== 'legacy') return;
        if (!(await stillAnswersAfterShutdownWindow(d.host, d.port))) return;
        if (this.statusValue.state !== 'stopped') return;
        const orphan = await this.pidFile.livingOrphan();
        this.endpoint = endpointOf(settings);
        if (orphan) {
          this.adopt(
            probe.generation,
            orphan.pid,
            true,
            `our daemon from an earlier run (PID ${orphan.pid})`,
          );
        } else {
          const owner = await findPortOwner(d.port, d.host);
          this.adopt(probe.generation, owner?.pid ?? null, false, 'a Luna daemon started outside Luna Tray');
          this.discoveredExternal = true;
        }
      } catch (e) {
        this.opts.capture.supervisor('warning', `Could not look for a running daemon: ${errorMessage(e)}`);
      }
    });
  }

  /** Start the daemon (or adopt one that already answers). Resolves when running or failed; never rejects. */
  start(): Promise<ActionOutcome> {
    this.discoveredExternal = false;
    this.cancelBackoff();
    const epoch = this.stopEpoch;
    // A stop requested after this start was queued cancels it before it begins.
    return this.exclusive(() =>
      epoch !== this.stopEpoch ? Promise.resolve(this.abortedStart()) : this.startNow({ auto: false }),
    ).then((o) => this.named(o));
  }

  /** Stop the daemon: protocol `shutdown` → grace → SIGTERM → tree kill; never restarted afterwards. */
  stop(): Promise<ActionOutcome> {
    this.discoveredExternal = false;
    this.cancelBackoff();
    this.stopEpoch++;
    // A start in progress (up to `startTimeoutSec`) must not delay the user's stop.
    this.startAbort?.abort();
    return this.exclusive(() => this.stopNow()).then((o) => this.named(o));
  }

  /** Stop, then start, resetting the crash counters. */
  restart(): Promise<ActionOutcome> {
    this.discoveredExternal = false;
    this.cancelBackoff();
    this.stopEpoch++;
    this.startAbort?.abort();
    return this.exclusive(async () => {
      const stopped = await this.stopNow();
      if (!stopped.ok) return stopped;
      return this.startNow({ auto: false });
    }).then((o) => this.named(o));
  }

  /** Ask the daemon to unload its models; reports the daemon's real reply (docs/daemon-protocol.md §15 problem 9). */
  async unload(): Promise<ActionOutcome> {
    return this.named(await this.unloadNow());
  }

  private async unloadNow(): Promise<ActionOutcome> {
    if (this.statusValue.state !== 'running') {
      return { ok: false, code: 'not-running', message: 'The Luna daemon is not running.' };
    }
    try {
      const r = await this.client().unload();
      this.opts.capture.supervisor('info', `Unload requested: ${r.message}`);
      void this.refreshInfo();
      return { ok: true, message: r.message };
    } catch (e) {
      return { ok: false, code: 'operation-failed', message: `Unload failed: ${errorMessage(e)}` };
    }
  }

  /** Force a ping now and report the result in words. */
  async check(): Promise<ActionOutcome> {
    return this.named(await this.checkNow());
  }

  private async checkNow(): Promise<ActionOutcome> {
    const s = { ...this.opts.config(), ...this.ep() };
    const generation = this.generationInUse() ?? 'current';
    try {
      const pong = await this.client(generation).ping({ timeoutMs: s.health.pingTimeoutMs });
      void this.refreshInfo();
      return {
        ok: true,
        message: `The Luna daemon on ${s.host}:${s.port} answered in ${pong.latencyMs.toFixed(0)} ms (${generation} protocol).`,
      };
    } catch (e) {
      return {
        ok: false,
        code: 'operation-failed',
        message: `No answer from ${s.host}:${s.port}: ${errorMessage(e)}`,
      };
    }
  }

  /** Run the pre-flight checks without starting anything (the panel's "Test launch profile"). */
  async preflight(): Promise<PreflightReport> {
    const settings = this.view();
    const d = settings.daemon;
    const checks: PreflightReport['checks'] = [];
    const profile = resolveLaunchProfile(settings, {
      dataDir: this.opts.dataDir,
      simulatorPath: this.opts.simulatorPath,
    });
    if (!profile.ok) {
      checks.push({ name: 'launch profile', ok: false, message: profile.message });
      return { ok: false, command: d.command, args: d.args, cwd: d.cwd, checks };
    }
    checks.push({ name: 'launch profile', ok: true, message: profile.description });
    if (looksLikePython(profile.command)) {
      const py = await checkPython(profile.command);
      checks.push({ name: 'python', ok: py.ok, message: py.message });
    }
    const probe = await probeGeneration({ host: d.host, port: d.port, timeoutMs: 1_500 });
    if (probe.generation === 'none') {
      checks.push({ name: `port ${d.port}`, ok: true, message: `port ${d.port} is free` });
    } else if (probe.generation === 'not-luna') {
      checks.push({
        name: `port ${d.port}`,
        ok: false,
        message: await this.portConflict(d.port, 'daemon', true),
      });
    } else {
      checks.push({
        name: `port ${d.port}`,
        ok: true,
        message: `a Luna daemon (${probe.generation} protocol) already answers on ${d.port}: it would be adopted, not started twice`,
      });
    }
    if (d.wsPort > 0 && probe.generation === 'none') {
      const free = await isPortFree(d.wsPort, d.host);
      checks.push({
        name: `port ${d.wsPort}`,
        ok: free,
        message: free ? `port ${d.wsPort} is free` : await this.portConflict(d.wsPort, 'ws'),
      });
    }
    return {
      ok: checks.every((c) => c.ok),
      command: profile.command,
      args: profile.args,
      cwd: profile.cwd,
      checks,
    };
  }

  /** Stop watching; stop the daemon unless `keepDaemon`. Idempotent. */
  async dispose(opts: { keepDaemon: boolean }): Promise<void> {
    if (this.disposed) return;
    this.cancelBackoff();
    this.startAbort?.abort();
    // A daemon that was merely found running outside Luna Tray, and never started, stopped or
    // restarted through it, is left as it was found.
    if (!opts.keepDaemon && !this.discoveredExternal) await this.stop();
    else
      this.opts.capture.supervisor(
        'info',
        'Luna Tray is exiting and leaves the daemon running (app.keepDaemonOnExit).',
      );
    await this.opChain.catch(() => undefined);
    this.disposed = true;
    this.stopWatching();
  }

  // ---- starting ----------------------------------------------------------------------------

  private async startNow({ auto }: { auto: boolean }): Promise<ActionOutcome> {
    if (this.disposed) return { ok: false, code: 'operation-failed', message: 'Luna Tray is shutting down.' };
    if (this.child?.shuttingDown) {
      // It answered `shutdown` (from anyone) and exits within about a second (§9.1): wait it out,
      // then start a fresh one, rather than calling a dying daemon "already running".
      const child = this.child;
      this.opts.capture.supervisor(
        'info',
        'The daemon is shutting down: waiting for it to exit before starting.',
      );
      await Promise.race([child.exit, sleep(SHUTDOWN_WAIT_MS)]);
      await sleep(0); // let the exit handler run
      await this.exitHandled;
    }
    const state = this.statusValue.state;
    if (state === 'running' || state === 'unresponsive')
      return { ok: true, message: 'The Luna daemon is already running.' };
    if (!auto) this.quickCrashes = 0;
    this.apply({ type: 'start-requested', attempt: auto ? this.quickCrashes + 1 : 1 });
    const abort = new AbortController();
    this.startAbort = abort;
    try {
      return await this.launchAndWait(auto, abort.signal);
    } catch (e) {
      // A start never rejects: a cancelled probe is the stop's business, anything else is a failure
      // with a reason (an auto-start or a backoff timer has nobody to catch a rejection).
      if (abort.signal.aborted) return this.abortedStart();
      return this.fail('start-failed', `Unexpected error while starting the daemon: ${errorMessage(e)}`);
    } finally {
      if (this.startAbort === abort) this.startAbort = null;
    }
  }

  private async launchAndWait(auto: boolean, signal: AbortSignal): Promise<ActionOutcome> {
    const settings = this.view();
    // Host, ports and launch are fixed from here until this daemon is gone (endpoint.ts).
    const ep = (this.endpoint = endpointOf(settings));
    const d = { ...settings.daemon, host: ep.host, port: ep.port, wsPort: ep.wsPort };

    // 1. A daemon we started in an earlier run, recorded in our PID file: adopt it if it answers,
    //    otherwise it is provably ours and hung: kill it.
    const orphan = await this.pidFile.livingOrphan();
    if (orphan) {
      const probe = await probeGeneration({ host: d.host, port: d.port, timeoutMs: 1_500, signal });
      if (probe.generation === 'current' || probe.generation === 'legacy') {
        if (await this.answersBeyondShutdown(orphan.pid, signal)) {
          return this.adopt(
            probe.generation,
            orphan.pid,
            true,
            `our daemon from an earlier run (PID ${orphan.pid})`,
          );
        }
        if (signal.aborted) return this.abortedStart();
        await this.pidFile.remove();
      } else {
        this.opts.capture.supervisor(
          'warning',
          `Our earlier daemon (PID ${orphan.pid}) is alive but does not answer: killing it.`,
        );
        await killTree(orphan.pid);
        killGroup(orphan.pid);
        await waitForPidExit(orphan.pid, 5_000);
        await this.pidFile.remove();
      }
    }

    // 2. Who answers on the daemon port? (docs/daemon-protocol.md §15 problems 1–2: be the single owner.)
    const probe = await probeGeneration({ host: d.host, port: d.port, timeoutMs: 1_500, signal });
    if (signal.aborted) return this.abortedStart();
    let probed = probe.generation;
    if (probed === 'current' || probed === 'legacy') {
      const owner = await findPortOwner(d.port, d.host);
      if (await this.answersBeyondShutdown(owner?.pid ?? null, signal)) {
        // Another OS user's daemon is never adopted (docs/security.md §2).
        const user = await checkDaemonUser(d.port, d.host);
        if (user.refuse) return this.fail('port-conflict', user.refuse);
        if (user.warning) this.opts.capture.supervisor('warning', user.warning);
        return this.adopt(probed, owner?.pid ?? null, false, 'a Luna daemon started outside Luna Tray');
      }
      if (signal.aborted) return this.abortedStart();
      probed = 'none';
    }
    if (probed === 'not-luna') {
      return this.fail('port-conflict', await this.portConflict(d.port, 'daemon', true));
    }
    // The daemon binds the WebSocket port FIRST and aborts if it is busy (docs/daemon-protocol.md
    // §3.7). With the comfyui profile the real daemon binds the ports of its own config.py.
    const real = effectiveDaemonPorts(settings);
    if (real.wsPort > 0 && !(await isPortFree(real.wsPort, d.host))) {
      return this.fail('port-conflict', await this.portConflict(real.wsPort, 'ws'));
    }

    // 3. The launch profile and its interpreter.
    const profile = resolveLaunchProfile(settings, {
      dataDir: this.opts.dataDir,
      simulatorPath: this.opts.simulatorPath,
    });
    if (!profile.ok) return this.fail(profile.kind, profile.message);
    for (const note of profile.notes) this.opts.capture.supervisor('info', note);
    if (looksLikePython(profile.command)) {
      const py = await checkPython(profile.command);
      if (!py.ok) return this.fail('missing-python', py.message);
    }
    if (signal.aborted) return this.abortedStart();

    // 4. Spawn.
    let proc: LaunchedProcess;
    try {
      proc = this.launcher.launch({
        command: profile.command,
        args: profile.args,
        cwd: profile.cwd,
        env: profile.env,
      });
    } catch (e) {
      const code = e instanceof LaunchError ? e.code : undefined;
      return this.fail(
        code === 'ENOENT' ? 'missing-python' : 'start-failed',
        `Could not run ${profile.command}: ${code === 'ENOENT' ? 'file not found' : errorMessage(e)}. Check daemon.command (or comfyui.path).`,
      );
    }
    const child = this.adoptChildProcess(proc);
    if (auto) this.restartsValue++;
    this.opts.capture.supervisor('info', `Started ${profile.description} (PID ${proc.pid}).`);
    this.apply({ type: 'spawned', pid: proc.pid });
    void processStartTime(proc.pid).then((startTime) =>
      this.pidFile
        .write({ pid: proc.pid, startTime, command: profile.command, port: d.port, startedAt: this.now() })
        .catch((e) =>
          this.opts.capture.supervisor('warning', `Could not write the PID file: ${errorMessage(e)}`),
        ),
    );

    // 5. Ready = a protocol ping round trip (never "port open", docs/daemon-protocol.md §4), within the start timeout.
    const ready = await this.waitReady(child, d.startTimeoutSec * 1000, signal);
    if (ready.kind === 'ready') {
      child.readyAt = monotonic();
      this.apply({ type: 'ready', pid: proc.pid, adopted: false, generation: ready.generation });
      this.opts.capture.supervisor(
        'info',
        `The Luna daemon is ready (${ready.generation} protocol, PID ${proc.pid}).`,
      );
      this.startWatching(ready.generation);
      void this.applyDaemonSettings(ready.generation);
      void this.verifyOwnership(proc.pid);
      return { ok: true, message: `The Luna daemon is running (PID ${proc.pid}).` };
    }
    if (ready.kind === 'aborted') return this.abortedStart();
    if (ready.kind === 'timeout') {
      await this.killChild(child);
      return this.fail(
        'start-timeout',
        `The daemon did not answer a ping within ${d.startTimeoutSec} s. Importing torch can be slow: raise daemon.startTimeoutSec, or read the logs.`,
        this.lastExitValue ?? undefined,
      );
    }
    // Exited before it was ready.
    const exit = ready.exit;
    if (auto) {
      // A failed automatic restart counts as another quick crash (crash-loop detection).
      this.handleUnexpectedExit(exit, 0);
      return { ok: false, code: 'operation-failed', message: describeExit(exit) };
    }
    const { kind, message } = classifyEarlyExit(exit, { command: profile.command });
    if (kind === 'port-conflict') {
      const real = effectiveDaemonPorts(settings);
      const held = await heldDaemonPort(d.host, real.port, real.wsPort);
      if (held)
        return this.fail(
          kind,
          `${describeExit(exit)} before it was ready: ${await this.portConflict(held.port, held.kind)}`,
          exit,
        );
    }
    return this.fail(kind, message, exit);
  }

  private async waitReady(
    child: OwnedChild,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<
    | { kind: 'ready'; generation: Generation }
    | { kind: 'exited'; exit: ExitRecord }
    | { kind: 'timeout' }
    | { kind: 'aborted' }
  > {
    const d = this.daemonSettings();
    const deadline = monotonic() + timeoutMs;
    let exited: ExitRecord | null = null;
    void child.exit.then((e) => (exited = e));
    // The ready log line is a hint to ping at once, never readiness by itself (STYLE.md §9.3).
    let wake: (() => void) | null = null;
    const unsubscribe = this.opts.store.subscribe((entries) => {
      if (
        entries.some(
          (e) => e.text.includes('Luna Daemon Ready!') || e.text.includes('Ready to accept connections!'),
        )
      )
        wake?.();
    });
    // One listener each for the whole wait (not one per poll): an exit or an abort wakes the loop.
    void child.exit.then(() => wake?.());
    const onAbort = () => wake?.();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        if (signal.aborted) return { kind: 'aborted' };
        if (exited) return { kind: 'exited', exit: exited };
        if (monotonic() > deadline) return { kind: 'timeout' };
        const generation = await this.readinessProbe(d.generation, signal);
        if (generation) return { kind: 'ready', generation };
        if (exited) return { kind: 'exited', exit: exited };
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, READY_POLL_MS);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        wake = null;
      }
    } finally {
      unsubscribe();
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** One readiness attempt: the generation that answered a ping, or null. */
  private async readinessProbe(
    setting: Settings['daemon']['generation'],
    signal: AbortSignal,
  ): Promise<Generation | null> {
    const d = this.daemonSettings();
    if (setting === 'auto') {
      const p = await probeGeneration({
        host: d.host,
        port: d.port,
        timeoutMs: READY_PING_TIMEOUT_MS,
        signal,
      });
      return p.generation === 'current' || p.generation === 'legacy' ? p.generation : null;
    }
    try {
      await this.client(setting).ping({ timeoutMs: READY_PING_TIMEOUT_MS, signal });
      return setting;
    } catch {
      return null;
    }
  }

  /**
   * A daemon answered: is it still there after the shutdown window (§9.1)? If not, it was told to
   * shut down a moment ago: wait until it has exited and freed its ports, so a fresh one can start.
   */
  private async answersBeyondShutdown(pid: number | null, signal: AbortSignal): Promise<boolean> {
    const ep = this.ep();
    if (await stillAnswersAfterShutdownWindow(ep.host, ep.port, signal)) return true;
    if (signal.aborted) return false;
    this.opts.capture.supervisor(
      'info',
      `The daemon on port ${ep.port}${pid ? ` (PID ${pid})` : ''} is shutting down: waiting for it to exit, then starting a fresh one.`,
    );
    await waitForDaemonGone({ ...ep, pid, timeoutMs: SHUTDOWN_WAIT_MS, signal });
    return false;
  }

  private portConflict(port: number, kind: DaemonPortKind, notLuna = false): Promise<string> {
    return describePortConflict({
      host: this.ep().host,
      port,
      kind,
      settings: this.view(),
      notLuna,
    });
  }

  private adopt(generation: Generation, pid: number | null, owned: boolean, what: string): ActionOutcome {
    this.discoveredExternal = false;
    this.adoptedPid = pid;
    this.adoptedOwned = owned;
    this.adoptedAt = monotonic();
    this.apply({ type: 'ready', pid, adopted: true, generation });
    this.opts.capture.supervisor(
      'info',
      `Adopted ${what} (${generation} protocol${pid ? `, PID ${pid}` : ''}); no second daemon was started.`,
    );
    this.startWatching(generation);
    return { ok: true, message: `Adopted ${what}${pid ? ` (PID ${pid})` : ''}.` };
  }

  private abortedStart(): ActionOutcome {
    return { ok: false, code: 'operation-failed', message: 'The start was cancelled by a stop.' };
  }

  private fail(kind: FailureKind, message: string, lastExit?: ExitRecord): ActionOutcome {
    this.apply({ type: 'failed', kind, message, ...(lastExit ? { lastExit } : {}) });
    this.opts.capture.supervisor('error', message);
    return { ok: false, code: 'operation-failed', message };
  }

  /** Wire a freshly spawned process: capture its output, build its exit record, watch its exit. */
  private adoptChildProcess(proc: LaunchedProcess): OwnedChild {
    const gen = ++this.childGen;
    // The exit record's output tail is read back from the store: this child's entries come after it.
    const outputFromSeq = this.opts.store.lastSeq;
    if (proc.child.stdout) this.opts.capture.attach(proc.child.stdout, 'stdout');
    if (proc.child.stderr) this.opts.capture.attach(proc.child.stderr, 'stderr');
    // Listen for 'close' from spawn time: after a SIGKILL it fires in the same tick as 'exit', and a
    // listener added later would miss it and always wait the full fallback (bench: crash-detection).
    const closed = new Promise((r) => proc.child.once('close', r));
    const exit = proc.exited.then(async ({ code, signal }) => {
      const at = this.now();
      // Let the pipes drain so the last lines are in the record, but never wait on a grandchild
      // that inherited them.
      await Promise.race([closed, new Promise((r) => setTimeout(r, PIPE_CLOSE_WAIT_MS))]);
      this.opts.capture.flush();
      return { code, signal, at, stderrTail: this.outputTail(outputFromSeq) } satisfies ExitRecord;
    });
    const child: OwnedChild = {
      gen,
      proc,
      exit,
      readyAt: null,
      shuttingDown: false,
      killedUnresponsive: false,
    };
    this.child = child;
    this.adoptedPid = null;
    this.adoptedOwned = false;
    this.strayPid = null;
    // Anyone may send `shutdown` (the ComfyUI panel, a script): the daemon says so in its log, and
    // a start in the next second must wait for the exit instead of calling it running (§9.1).
    const unsubscribe = this.opts.store.subscribe((entries) => {
      if (!child.shuttingDown && entries.some((e) => e.source !== 'supervisor' && announcesShutdown(e.text)))
        child.shuttingDown = true;
    });
    void exit.then((record) => {
      unsubscribe();
      this.onChildExit(child, record);
    });
    return child;
  }

  private onChildExit(child: OwnedChild, exitRecord: ExitRecord): void {
    // Exits of an earlier child generation are ignored (Rancher's guard, STYLE.md §4.6).
    if (child.gen !== this.childGen) return;
    const record: ExitRecord = child.killedUnresponsive
      ? { ...exitRecord, cause: 'unresponsive' }
      : exitRecord;
    this.lastExitValue = record;
    this.child = null;
    void this.pidFile.remove();
    this.opts.capture.supervisor(record.code === 0 ? 'info' : 'warning', describeExit(record));
    const state = this.statusValue.state;
    // While starting or stopping, the routine in charge handles the exit.
    if (state !== 'running' && state !== 'unresponsive') return;
    // Monotonic uptime (the exit happened at most the pipe-drain wait earlier than now).
    const uptimeMs = child.readyAt === null ? 0 : Math.max(0, monotonic() - child.readyAt);
    const pid = child.proc.pid;
    if (!isGroupAlive(pid) && record.code !== 0) {
      this.handleUnexpectedExit(record, uptimeMs);
      return;
    }
    // An exit we did not ask for still sweeps the daemon's process group; after an exit 0 (a
    // shutdown from outside) a process that kept the daemon port is reported, not called stopped.
    this.stopWatching();
    this.exitHandled = (async () => {
      await this.sweepGroup(pid);
      const still = () =>
        this.child === null &&
        (this.statusValue.state === 'running' || this.statusValue.state === 'unresponsive');
      if (!still()) return;
      if (record.code === 0 && (await this.reportStrayHolder(pid, record))) return;
      if (still()) this.handleUnexpectedExit(record, uptimeMs);
    })().catch((e: unknown) => {
      this.opts.capture.supervisor('error', `After the daemon exited: ${errorMessage(e)}`);
    });
  }

  /**
   * After the daemon exited, does something still answer on its port? A daemon command that forked a
   * child keeping the port leaves a stray: name it by PID (a stop ends it) instead of "stopped".
   */
  private async reportStrayHolder(daemonPid: number, record: ExitRecord): Promise<boolean> {
    const ep = this.ep();
    const stray = await findStrayHolder(ep.host, ep.port, daemonPid);
    if (!stray) return false;
    this.strayPid = stray.owner?.pid ?? null;
    const message = strayHolderMessage(describeExit(record), stray.owner, ep.port);
    this.stopWatching();
    this.apply({ type: 'failed', kind: 'stop-failed', message, lastExit: record });
    this.opts.capture.supervisor('error', message);
    return true;
  }

  /** The daemon went away without being asked: apply the restart policy. */
  private handleUnexpectedExit(record: ExitRecord, uptimeMs: number): void {
    this.stopWatching();
    const policy = this.opts.config().restart;
    const decision = decideAfterExit({
      policy,
      exitCode: record.code,
      uptimeMs,
      quickCrashes: this.quickCrashes,
    });
    switch (decision.action) {
      case 'stay-stopped':
        if (decision.reason === 'external-shutdown') {
          this.apply({ type: 'stopped', reason: 'external-shutdown', lastExit: record });
          this.opts.capture.supervisor(
            'info',
            'The daemon was shut down from outside Luna Tray (exit 0): not restarting.',
          );
        } else {
          this.apply({
            type: 'failed',
            kind: 'crashed',
            message: `${describeExit(record)}; automatic restart is off (daemon.restart.enabled).`,
            lastExit: record,
          });
        }
        return;
      case 'give-up': {
        this.quickCrashes = decision.quickCrashes;
        const message = `Crash loop: the daemon exited ${decision.quickCrashes} times in a row, each within ${policy.stableAfterSec} s of starting (last: ${describeExit(record)}). Fix the cause (see the logs), then start it again.`;
        this.apply({ type: 'failed', kind: 'crash-loop', message, lastExit: record });
        this.opts.capture.supervisor('error', message);
        return;
      }
      case 'restart': {
        this.quickCrashes = decision.quickCrashes;
        const retryAt = this.now() + decision.delayMs;
        this.apply({
          type: 'backoff',
          attempt: decision.quickCrashes,
          retryAt,
          message: describeExit(record),
          lastExit: record,
        });
        this.opts.capture.supervisor(
          'warning',
          `Restarting in ${(decision.delayMs / 1000).toFixed(1)} s (attempt ${decision.quickCrashes}).`,
        );
        this.backoffTimer = setTimeout(() => {
          this.backoffTimer = null;
          void this.exclusive(() =>
            this.statusValue.state === 'backoff' ? this.startNow({ auto: true }) : Promise.resolve(null),
          );
        }, decision.delayMs);
        return;
      }
    }
  }

  // ---- stopping ----------------------------------------------------------------------------

  private async stopNow(): Promise<ActionOutcome> {
    const state = this.statusValue.state;
    if (state === 'backoff') {
      this.apply({ type: 'stop-requested' });
      return { ok: true, message: 'The scheduled restart was cancelled.' };
    }
    if ((state === 'stopped' || state === 'failed') && this.strayPid !== null)
      return this.stopStray(this.strayPid);
    if (state === 'stopped' || state === 'failed') {
      return { ok: true, message: 'The Luna daemon was not running.' };
    }
    const wasStarting = state === 'starting';
    const generation = this.generationInUse() ?? 'current';
    this.apply({ type: 'stop-requested' });
    this.stopWatching();
    const d = this.daemonSettings();
    const child = this.child;
    let forced = false;
    if (child) {
      forced = await this.stopChild(child, generation, !wasStarting);
    } else if (wasStarting) {
      // Cancelled during pre-flight: nothing was spawned or adopted, so there is nothing to stop
      // (and whatever answers on the port is not ours to shut down).
      this.apply({
        type: 'stopped',
        reason: 'user',
        ...(this.lastExitValue ? { lastExit: this.lastExitValue } : {}),
      });
      return { ok: true, message: 'The start was cancelled before the daemon was launched.' };
    } else {
      forced = await this.stopAdopted(generation);
    }
    // "Stopped" only once the port no longer answers (docs/daemon-protocol.md §15 problem 3).
    const released = await this.waitPortReleased(d.host, d.port, PORT_RELEASE_TIMEOUT_MS);
    if (!released) {
      const owner = await findPortOwner(d.port, d.host);
      if (owner && owner.pid !== this.pid) this.strayPid = owner.pid;
      const who = owner ? `PID ${owner.pid} (${owner.name})` : 'a process Luna Tray cannot name';
      const message = `The daemon was asked to stop but ${d.host}:${d.port} still answers, held by ${who}.${this.strayPid !== null ? ' Stop again to end it.' : ''}`;
      this.apply({ type: 'failed', kind: 'stop-failed', message });
      return { ok: false, code: 'operation-failed', message };
    }
    this.adoptedPid = null;
    this.apply({
      type: 'stopped',
      reason: 'user',
      ...(this.lastExitValue ? { lastExit: this.lastExitValue } : {}),
    });
    const how = forced ? 'forcibly' : 'gracefully';
    this.opts.capture.supervisor('info', `The Luna daemon stopped ${how}.`);
    return { ok: true, message: `The Luna daemon stopped ${how}.` };
  }

  /** End a process that kept the daemon port after the daemon exited (reported by PID before). */
  private async stopStray(pid: number): Promise<ActionOutcome> {
    const d = this.daemonSettings();
    this.opts.capture.supervisor(
      'warning',
      `Stopping PID ${pid}, which kept port ${d.port} after the daemon exited.`,
    );
    await endStray(pid, d.killTimeoutSec * 1000);
    this.strayPid = null;
    if (!(await this.waitPortReleased(d.host, d.port, PORT_RELEASE_TIMEOUT_MS))) {
      const message = `PID ${pid} was stopped but ${d.host}:${d.port} still answers.`;
      this.apply({ type: 'failed', kind: 'stop-failed', message });
      return { ok: false, code: 'operation-failed', message };
    }
    this.apply({
      type: 'stopped',
      reason: 'user',
      ...(this.lastExitValue ? { lastExit: this.lastExitValue } : {}),
    });
    const message = `Stopped PID ${pid}, which kept the daemon port after the daemon exited.`;
    this.opts.capture.supervisor('info', message);
    return { ok: true, message };
  }

  /** Protocol shutdown → grace → SIGTERM → tree kill → process-group sweep. Returns whether force was needed. */
  private async stopChild(child: OwnedChild, generation: Generation, graceful: boolean): Promise<boolean> {
    const d = this.daemonSettings();
    const pid = child.proc.pid;
    const exitedWithin = (ms: number) =>
      Promise.race([
        child.exit.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), ms)),
      ]);
    let done = false;
    if (graceful) {
      try {
        await this.client(generation).shutdown({ timeoutMs: 2_000 });
        this.opts.capture.supervisor('info', 'Sent the protocol shutdown command.');
      } catch (e) {
        this.opts.capture.supervisor('warning', `The shutdown command failed: ${errorMessage(e)}`);
      }
      done = await exitedWithin(d.stopGraceSec * 1000);
    }
    let forced = false;
    if (!done && process.platform !== 'win32') {
      // Windows has no graceful signal: Node's kill() terminates at once, so go to the tree kill.
      forced = true;
      this.apply({ type: 'stop-escalated', step: 'terminating' });
      this.opts.capture.supervisor('warning', `Sending SIGTERM to PID ${pid}.`);
      signalPid(pid, 'SIGTERM');
      done = await exitedWithin(d.killTimeoutSec * 1000);
    }
    if (!done) {
      forced = true;
      this.apply({ type: 'stop-escalated', step: 'killing' });
      this.opts.capture.supervisor('warning', `Killing the process tree of PID ${pid}.`);
      await killTree(pid, 'SIGKILL');
      killGroup(pid);
      done = await exitedWithin(5_000);
    }
    // Descendants that outlived the daemon (a wrapper's grandchild) are still in its process group.
    await this.sweepGroup(pid);
    return forced;
  }

  private async sweepGroup(pgid: number): Promise<void> {
    if (!isGroupAlive(pgid)) return;
    this.opts.capture.supervisor(
      'warning',
      `Processes of the daemon's group ${pgid} outlived it: killing them.`,
    );
    killGroup(pgid);
    const deadline = monotonic() + 2_000;
    while (isGroupAlive(pgid) && monotonic() < deadline) await sleep(20);
  }

  /** An adopted daemon: protocol shutdown, then wait for the port to close; escalate by PID if we know it. */
  private async stopAdopted(generation: Generation): Promise<boolean> {
    const d = this.daemonSettings();
    try {
      await this.client(generation).shutdown({ timeoutMs: 2_000 });
      this.opts.capture.supervisor('info', 'Sent the protocol shutdown command to the adopted daemon.');
    } catch (e) {
      this.opts.capture.supervisor('warning', `The shutdown command failed: ${errorMessage(e)}`);
    }
    if (await this.waitPortReleased(d.host, d.port, d.stopGraceSec * 1000)) {
      if (this.adoptedPid) await waitForPidExit(this.adoptedPid, 2_000);
      return false;
    }
    const pid = this.adoptedPid;
    if (!pid) return false;
    if (process.platform !== 'win32') {
      this.apply({ type: 'stop-escalated', step: 'terminating' });
      signalPid(pid, 'SIGTERM');
      if (await waitForPidExit(pid, d.killTimeoutSec * 1000)) return true;
    }
    this.apply({ type: 'stop-escalated', step: 'killing' });
    await killTree(pid, 'SIGKILL');
    await waitForPidExit(pid, 5_000);
    return true;
  }

  private async killChild(child: OwnedChild): Promise<void> {
    await killTree(child.proc.pid, 'SIGKILL');
    killGroup(child.proc.pid);
    await Promise.race([child.exit, sleep(5_000)]);
    await this.sweepGroup(child.proc.pid);
  }

  private async waitPortReleased(host: string, port: number, timeoutMs: number): Promise<boolean> {
    const deadline = monotonic() + timeoutMs;
    for (;;) {
      const p = await probeGeneration({ host, port, timeoutMs: 500 });
      if (p.generation !== 'current' && p.generation !== 'legacy') return true;
      if (monotonic() >= deadline) return false;
      await sleep(50);
    }
  }

  // ---- while running -------------------------------------------------------------------------

  /**
   * Health, info and process stats while the daemon runs, with as few wake-ups as the guarantees
   * allow (bench: idle):
   *
   * - **Liveness.** A protocol ping every `health.intervalSec`; `failuresBeforeUnresponsive` failed
   *   pings in a row → `unresponsive`. While the WebSocket status feed delivers (docs/daemon-protocol.md §10: one
   *   message per second), each message proves the daemon process is alive, so the ping is skipped:
   *   the check runs when the feed has been silent for one whole interval, and pings from then on.
   *   A SIGSTOPped or wedged process stops the feed too, so the first ping leaves at most one
   *   interval after the hang, exactly as with plain interval pings, and `unresponsive` still comes
   *   within interval × failures + ping timeout. This needs an interval of at least
   *   {@link FEED_LIVENESS_MIN_INTERVAL_MS} (room for the feed's jitter); shorter intervals always ping.
   * - **Pings** of the current generation reuse one connection (docs/daemon-protocol.md §5.1: one write and one read
   *   each); every {@link PROTOCOL_CHECK_MS} a ping takes a fresh connection instead, so a daemon that
   *   stopped accepting connections is noticed too. A check that finds the previous ping still
   *   pending sends the next one as soon as it settles (never two at once, never one skipped).
   * - **Protocol check.** The feed runs on its own daemon thread, so a handler deadlock with a live
   *   feed is caught by a protocol ping that still runs every {@link PROTOCOL_CHECK_MS} while the feed
   *   proves liveness; its failure switches to interval pings until a ping answers again.
   * - **Info** (models, VRAM, uptime) comes from the feed; `get_info` is polled every
   *   `health.infoIntervalSec` only while the feed is down (docs/daemon-protocol.md §15 problem 11).
   * - **Process stats** are sampled every {@link STATS_INTERVAL_MS} on a feed message or an interval
   *   ping, and on a timer of their own only while the feed is down.
   */
  private startWatching(generation: Generation): void {
    this.stopWatching();
    const d = this.daemonSettings();
    const intervalMs = d.health.intervalSec * 1000;

    // Process CPU/RSS, every STATS_INTERVAL_MS, piggybacked on wake-ups that happen anyway.
    const pid = this.pid;
    const sample = pid ? createProcessSampler(pid) : null;
    let lastSampleAt = monotonic();
    const sampleStatsIfDue = (): void => {
      // The tolerance lets a 5-s timer sample on every tick despite sub-millisecond timer jitter.
      if (!sample || monotonic() - lastSampleAt < STATS_INTERVAL_MS - 50) return;
      lastSampleAt = monotonic();
      void sample().then((s) => {
        this.statsValue = s;
        this.emit('stats', s);
      });
    };

    // Liveness.
    const feedLiveness = d.wsPort > 0 && intervalMs >= FEED_LIVENESS_MIN_INTERVAL_MS;
    const protocolCheckMs = Math.max(this.opts.protocolCheckMs ?? PROTOCOL_CHECK_MS, intervalMs);
    let failedPings = 0;
    let pinging = false;
    /** Set when the watchers stop: a late ping result must not start another ping. */
    let stopped = false;
    /** Monotonic time of the last feed message (liveness evidence). */
    let lastFeedAt = Number.NEGATIVE_INFINITY;
    /** Monotonic time of the last protocol ping sent (the readiness or adoption probe just answered). */
    let lastPingAt = monotonic();
    let healthTimer: NodeJS.Timeout | null = null;
    // Interval pings reuse one connection (current generation, docs/daemon-protocol.md §5.1); every
    // PROTOCOL_CHECK_MS a ping goes over a fresh connection instead, so a daemon that no longer
    // accepts connections is noticed too. The legacy daemon closes after each reply (§5.2).
    const channel = generation === 'current' ? new LunaChannel({ host: d.host, port: d.port }) : null;
    let lastFreshPingAt = monotonic();

    /** A check found the previous ping still pending: send the next one as soon as it settles. */
    let pingDue = false;
    const ping = (): void => {
      // With a ping timeout as long as the interval (the defaults: 2 s and 2 s), a hung daemon's
      // ping is still pending at the next check. Skipping that check (the earlier code) left one
      // ping per two intervals and stretched "unresponsive" from interval × failures + timeout
      // (8 s) to 10.4–11.9 s (measured); deferring it keeps the pings back to back (7.2–7.8 s).
      if (pinging) {
        pingDue = true;
        return;
      }
      pinging = true;
      pingDue = false;
      const now = monotonic();
      lastPingAt = now;
      const fresh = !channel || now - lastFreshPingAt >= protocolCheckMs;
      if (fresh) lastFreshPingAt = now;
      const timeoutMs = d.health.pingTimeoutMs;
      void (fresh ? this.client(generation).ping({ timeoutMs }) : channel.ping({ timeoutMs }))
        .then(
          () => {
            failedPings = 0;
            this.apply({ type: 'ping-ok' });
          },
          (e: unknown) => this.onPingFailed(++failedPings, e),
        )
        .finally(() => {
          pinging = false;
          if (pingDue && !stopped) ping();
        });
    };
    const armHealth = (delayMs: number): void => {
      // +1 ms: the timer may fire a fraction of a millisecond early on the monotonic clock.
      healthTimer = setTimeout(healthCheck, Math.max(1, Math.ceil(delayMs) + 1));
    };
    const healthCheck = (): void => {
      const now = monotonic();
      // A ping failure (failedPings > 0) keeps interval pings going until a ping answers again: a
      // live feed must not hide a daemon whose protocol handler no longer replies.
      if (feedLiveness && failedPings === 0 && now - lastFeedAt < intervalMs) {
        if (now - lastPingAt >= protocolCheckMs) ping();
        // Next look: the moment the feed will have been silent for a whole interval.
        armHealth(lastFeedAt + intervalMs - now);
        return;
      }
      ping();
      sampleStatsIfDue();
      armHealth(intervalMs);
    };
    armHealth(intervalMs);
    this.watchers.push(() => {
      stopped = true;
      if (healthTimer) clearTimeout(healthTimer);
      channel?.close();
    });

    // While the feed is down: `get_info` polls and a stats timer (both stop while it delivers).
    const fallbackTimers: NodeJS.Timeout[] = [];
    const setFeedUp = (up: boolean): void => {
      if (up) {
        for (const t of fallbackTimers.splice(0)) clearInterval(t);
      } else if (fallbackTimers.length === 0) {
        fallbackTimers.push(setInterval(() => void this.refreshInfo(), d.health.infoIntervalSec * 1000));
        if (sample) fallbackTimers.push(setInterval(sampleStatsIfDue, STATS_INTERVAL_MS));
      }
    };
    this.watchers.push(() => {
      for (const t of fallbackTimers.splice(0)) clearInterval(t);
    });
    setFeedUp(false);

    if (d.wsPort > 0) {
      // Only a feed proven to come from this daemon is listened to (feed-ownership.ts): another
      // daemon's monitor would show its models and uptime and hide a hang of ours. Until then, and
      // if the proof fails, `get_info` polling and pings carry on alone.
      void proveFeedOwnership(d.host, d.port, d.wsPort).then((proof) => {
        if (stopped) return;
        if (!proof.trusted) {
          this.opts.capture.supervisor(
            'warning',
            `Not using the status feed on ${d.host}:${d.wsPort}: ${proof.reason}. Polling get_info instead.`,
          );
          return;
        }
        const monitor = createMonitorSocket({
          host: d.host,
          port: d.wsPort,
          onStatus: (info) => {
            lastFeedAt = monotonic();
            this.setInfo(info);
            sampleStatsIfDue();
          },
          onConnectionChange: setFeedUp,
        });
        this.watchers.push(() => monitor.dispose());
      });
    }
    void this.refreshInfo();
  }

  private stopWatching(): void {
    for (const w of this.watchers.splice(0)) w();
    if (this.statsValue) {
      this.statsValue = null;
      this.emit('stats', null);
    }
  }

  private onPingFailed(failedPings: number, error: unknown): void {
    const state = this.statusValue.state;
    if (state !== 'running' && state !== 'unresponsive') return;
    const d = this.daemonSettings();
    // An adopted daemon has no exit event: "refused" with its process gone means it went away.
    if (
      !this.child &&
      isDaemonError(error, 'refused') &&
      (this.adoptedPid === null || !isPidAlive(this.adoptedPid))
    ) {
      const record: ExitRecord = { code: null, signal: null, at: this.now(), stderrTail: [] };
      this.lastExitValue = record;
      this.opts.capture.supervisor('warning', 'The adopted daemon went away (its port refuses connections).');
      this.adoptedPid = null;
      this.handleUnexpectedExit(record, Math.max(0, monotonic() - this.adoptedAt));
      return;
    }
    const before = this.statusValue;
    this.apply({ type: 'ping-failed', failedPings, threshold: d.health.failuresBeforeUnresponsive });
    if (before.state === 'running' && this.statusValue.state === 'unresponsive') {
      this.opts.capture.supervisor(
        'error',
        `The daemon stopped answering pings (${failedPings} failed: ${errorMessage(error)}).`,
      );
      const pid = this.pid;
      const ours = this.child !== null || this.adoptedOwned;
      if (d.restart.restartUnresponsive && pid && ours) {
        // A hung daemon will not honour `shutdown`: kill it; its exit goes through the restart policy.
        this.opts.capture.supervisor(
          'warning',
          `Killing the unresponsive daemon (PID ${pid}) so it can be restarted.`,
        );
        if (this.child) {
          this.child.killedUnresponsive = true;
          void this.killChild(this.child);
        } else {
          void killTree(pid, 'SIGKILL').then(() => {
            const record: ExitRecord = {
              code: null,
              signal: 'SIGKILL',
              at: this.now(),
              stderrTail: [],
              cause: 'unresponsive',
            };
            this.lastExitValue = record;
            this.adoptedPid = null;
            this.handleUnexpectedExit(record, 0);
          });
        }
      }
    }
  }

  private async refreshInfo(): Promise<void> {
    const generation = this.generationInUse();
    if (!generation) return;
    try {
      this.setInfo(
        await this.client(generation).info({ timeoutMs: this.opts.config().health.pingTimeoutMs }),
      );
    } catch {
      // Health pings report an unreachable daemon; a failed info refresh keeps the last info.
    }
  }

  private setInfo(info: DaemonInfo): void {
    const state = this.statusValue.state;
    if (state !== 'running' && state !== 'unresponsive') return;
    this.infoValue = info;
    this.infoAtValue = this.now();
    this.emit('info', info);
  }

  /** Re-apply user choices the daemon forgets on restart (STYLE.md §9.4, docs/daemon-protocol.md §15 problem 13). */
  private async applyDaemonSettings(generation: Generation): Promise<void> {
    if (generation !== 'current') return;
    const d = this.daemonSettings();
    const client = this.client(generation);
    for (const kind of ['clip', 'vae', 'llm'] as const) {
      const device = d.devices[kind];
      if (!device) continue;
      try {
        const r = await client.setDevice(kind, device);
        this.opts.capture.supervisor(
          'info',
          `Set the ${kind.toUpperCase()} device to ${r.newDevice} (was ${r.oldDevice}).`,
        );
      } catch (e) {
        this.opts.capture.supervisor(
          'warning',
          `The daemon refused ${kind.toUpperCase()} device "${device}": ${errorMessage(e)}`,
        );
      }
    }
    if (d.attentionMode) {
      try {
        await client.setAttentionMode(d.attentionMode);
      } catch (e) {
        this.opts.capture.supervisor(
          'warning',
          `The daemon refused attention mode "${d.attentionMode}": ${errorMessage(e)}`,
        );
      }
    }
    if (Object.values(d.devices).some(Boolean)) void this.refreshInfo();
  }

  /**
   * After a start, the process answering on the port must be our child or one of its descendants
   * (docs/daemon-protocol.md §15 problem 2: on Windows SO_REUSEADDR lets a second daemon bind the same port). A
   * mismatch is reported loudly; it is not something we can repair by ourselves.
   */
  private async verifyOwnership(childPid: number): Promise<void> {
    const d = this.daemonSettings();
    const owner = await findPortOwner(d.port, d.host);
    if (!owner || owner.pid === childPid || (await isDescendantOf(owner.pid, childPid))) return;
    this.opts.capture.supervisor(
      'error',
      `Port ${d.port} is answered by PID ${owner.pid} (${owner.name}), not by the daemon Luna Tray started (PID ${childPid}): two daemons may be sharing the port. Stop the other one.`,
    );
  }

  // ---- helpers -------------------------------------------------------------------------------

  private generationInUse(): Generation | null {
    const s = this.statusValue;
    return s.state === 'running' || s.state === 'unresponsive' ? s.generation : null;
  }

  private client(generation: Generation = this.generationInUse() ?? 'current'): LunaClient {
    const d = this.daemonSettings();
    return new LunaClient({ host: d.host, port: d.port, generation });
  }

  /** The daemon settings, with host, ports and generation of the running daemon's endpoint. */
  private daemonSettings(): Settings['daemon'] {
    const ep = this.ep();
    return {
      ...this.opts.config(),
      host: ep.host,
      port: ep.port,
      wsPort: ep.wsPort,
      generation: ep.generation,
    };
  }

  /** The settings as the shared helpers read them: the shared part, with this daemon's block. */
  private view(): Settings {
    return { ...this.opts.settings(), daemon: this.opts.config() };
  }

  /** The running daemon's endpoint, or the settings' when there is none. */
  private ep(): DaemonEndpoint {
    return this.endpoint ?? endpointOf(this.view());
  }

  /** A message as the user reads it: prefixed with the daemon's label when it has one (several daemons). */
  private name(message: string): string {
    const label = this.opts.label?.() ?? '';
    return label ? `${label}: ${message}` : message;
  }

  private named(outcome: ActionOutcome): ActionOutcome {
    return { ...outcome, message: this.name(outcome.message) };
  }

  private apply(event: StatusEvent): void {
    if (event.type === 'failed' || event.type === 'backoff')
      event = { ...event, message: this.name(event.message) };
    const next = transition(this.statusValue, event, this.now());
    if (next === this.statusValue) return;
    if (next.state === 'stopped' || next.state === 'failed') {
      this.infoValue = null;
      this.infoAtValue = null;
      // No process any more: the next start takes host, ports and launch from the settings.
      if (!this.child) this.endpoint = null;
    }
    this.statusValue = next;
    this.emit('status', next);
  }

  /**
   * The last {@link TAIL_LINES} lines the daemon printed after `fromSeq` (docs/daemon-protocol.md §15 problem 6), read
   * back from the log store when the record is built: nothing is copied per line while it runs.
   */
  private outputTail(fromSeq: number): string[] {
    const store = this.opts.store;
    // Look further back only while the supervisor's own events crowd out the daemon's lines.
    for (let window = TAIL_LINES * 2; ; window *= 4) {
      const after = Math.max(fromSeq, store.lastSeq - window);
      const lines: string[] = [];
      for (const e of store.since(after).entries) {
        if (e.source !== 'supervisor') lines.push(...e.text.split('\n'));
      }
      if (lines.length >= TAIL_LINES || after === fromSeq || after < store.firstSeq)
        return lines.slice(-TAIL_LINES);
    }
  }

  private cancelBackoff(): void {
    if (this.backoffTimer) {
      clearTimeout(this.backoffTimer);
      this.backoffTimer = null;
    }
  }

  /** Serialise lifecycle operations: a start and a stop never interleave. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.opChain.then(fn, fn);
    this.opChain = run.catch(() => undefined);
    return run;
  }
}

function looksLikePython(command: string): boolean {
  return /python/i.test(basename(command));
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
