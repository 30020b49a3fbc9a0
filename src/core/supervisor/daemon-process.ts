import type { ExitRecord } from '../../shared/daemon-status.js';
import type { LogLevel } from '../../shared/log-entry.js';
import { isDaemonError } from '../daemon/errors.js';
import type { LogCapture } from '../logs/log-capture.js';
import type { LogStore } from '../logs/log-store.js';
import { errorMessage } from '../util/error-message.js';
import { describeExit } from './exit-classification.js';
import { wireChild, type OwnedChild } from './owned-child.js';
import type { PidFile } from './pid-file.js';
import type { LaunchedProcess } from './process-launcher.js';
import { isGroupAlive, isPidAlive, killTree } from './processes.js';
import {
  confirmPortReleased,
  killSpawned,
  stopAdopted,
  stopSpawned,
  stopStrayHolder,
  sweepGroup,
  type StopContext,
} from './stop-sequence.js';
import { findStrayHolder, strayHolderMessage } from './stray-holder.js';

/** See supervisor.ts: durations use the monotonic clock, never the wall clock. */
const monotonic = (): number => performance.now();

export interface DaemonProcessOptions {
  store: LogStore;
  capture: LogCapture;
  now: () => number;
  pidFile: PidFile;
  log: (level: LogLevel, text: string) => void;
  /** Running or unresponsive. Exits while starting or stopping belong to the routine in charge. */
  isUp: () => boolean;
  /** Host and port of the daemon (the endpoint it was started on). */
  endpoint: () => { host: string; port: number };
  recordExit: (record: ExitRecord) => void;
  /** The health watch must stop before the process group is swept. */
  stopWatching: () => void;
  /** The daemon went away without being asked: stop watching it, and let the restart policy judge. */
  onUnexpectedExit: (record: ExitRecord, uptimeMs: number) => void;
  /** It exited, but another process kept its port: a failed stop, with that process to end. */
  onStrayHolder: (message: string, record: ExitRecord) => void;
}

/**
 * The one daemon process a Supervisor answers for, spawned (owned-child.ts) or adopted, and how it
 * goes away: its exit (only the current child's counts), the sweep of its process group, a
 * process that kept its port, an adopted daemon that vanished, and the kill of a hung one.
 */
export class DaemonProcess {
  private childValue: OwnedChild | null = null;
  private gen = 0;
  /** An adopted daemon: its PID when known, whether it is provably ours, when it was adopted (monotonic). */
  private adoptedValue: { pid: number | null; owned: boolean; at: number } | null = null;
  /** A process that kept the daemon port after the daemon exited (reported; a stop ends it). */
  private strayPid: number | null = null;
  /** Settles once the last unexpected exit has been handled (group swept, strays looked for). */
  exitHandled: Promise<void> = Promise.resolve();

  constructor(private readonly o: DaemonProcessOptions) {}

  get child(): OwnedChild | null {
    return this.childValue;
  }
  get adopted(): { pid: number | null; owned: boolean } | null {
    return this.adoptedValue;
  }
  /** The PID we believe the daemon has (spawned or adopted), or null. */
  get pid(): number | null {
    return this.childValue?.proc.pid ?? this.adoptedValue?.pid ?? null;
  }

  /** Make a freshly spawned process THE child; earlier children's exits are ignored from now on. */
  take(proc: LaunchedProcess): OwnedChild {
    const child = wireChild(proc, ++this.gen, {
      store: this.o.store,
      capture: this.o.capture,
      now: this.o.now,
    });
    this.childValue = child;
    this.adoptedValue = null;
    this.strayPid = null;
    void child.exit.then((record) => this.onChildExit(child, record));
    return child;
  }

  adopt(pid: number | null, owned: boolean): void {
    this.adoptedValue = { pid, owned, at: monotonic() };
  }

  /**
   * Stop the spawned or adopted daemon (stop-sequence.ts) and confirm its port is free; a process
   * still holding it is remembered for the next stop. `graceful`: ask it to shut down first.
   */
  async stop(ctx: StopContext, graceful: boolean): Promise<{ forced: boolean } | { failure: string }> {
    const child = this.childValue;
    const forced = child
      ? await stopSpawned(ctx, { pid: child.proc.pid, exit: child.exit }, graceful)
      : await stopAdopted(ctx, this.adoptedValue?.pid ?? null);
    const released = await confirmPortReleased(ctx.host, ctx.port, this.pid);
    if (!released.released) {
      if (released.strayPid !== null) this.strayPid = released.strayPid;
      return { failure: released.message };
    }
    this.adoptedValue = null;
    return { forced };
  }

  /** End the process that kept the daemon port after the daemon exited, if there is one. */
  async stopStray(ctx: StopContext): Promise<{ pid: number; failure: string | null } | null> {
    const pid = this.strayPid;
    if (pid === null) return null;
    const failure = await stopStrayHolder(ctx, pid);
    this.strayPid = null;
    return { pid, failure };
  }

  /**
   * A failed ping of an adopted daemon, which has no exit event: "refused" with its process gone
   * means it went away. Returns whether it did (and was handed to the restart policy).
   */
  adoptedWentAway(error: unknown): boolean {
    const adopted = this.adoptedValue;
    if (this.childValue || !isDaemonError(error, 'refused')) return false;
    if (adopted?.pid != null && isPidAlive(adopted.pid)) return false;
    this.o.log('warning', 'The adopted daemon went away (its port refuses connections).');
    this.adoptedGone(
      { code: null, signal: null, at: this.o.now(), stderrTail: [] },
      monotonic() - (adopted?.at ?? 0),
    );
    return true;
  }

  /**
   * A hung daemon will not honour `shutdown`: kill it, when it is provably ours; its exit goes
   * through the restart policy.
   */
  killUnresponsive(): void {
    const pid = this.pid;
    const child = this.childValue;
    if (!pid || !(child || this.adoptedValue?.owned)) return;
    this.o.log('warning', `Killing the unresponsive daemon (PID ${pid}) so it can be restarted.`);
    if (child) {
      child.killedUnresponsive = true;
      void killSpawned({ pid, exit: child.exit }, this.o.log);
      return;
    }
    void killTree(pid, 'SIGKILL').then(() =>
      this.adoptedGone(
        { code: null, signal: 'SIGKILL', at: this.o.now(), stderrTail: [], cause: 'unresponsive' },
        0,
      ),
    );
  }

  private adoptedGone(record: ExitRecord, uptimeMs: number): void {
    this.o.recordExit(record);
    if (this.adoptedValue) this.adoptedValue = { ...this.adoptedValue, pid: null };
    this.o.onUnexpectedExit(record, Math.max(0, uptimeMs));
  }

  private onChildExit(child: OwnedChild, exitRecord: ExitRecord): void {
    // A late exit of an earlier child must not touch the state of the one that replaced it.
    if (child.gen !== this.gen) return;
    const record: ExitRecord = child.killedUnresponsive
      ? { ...exitRecord, cause: 'unresponsive' }
      : exitRecord;
    const { log } = this.o;
    this.o.recordExit(record);
    this.childValue = null;
    void this.o.pidFile.remove();
    log(record.code === 0 ? 'info' : 'warning', describeExit(record));
    if (!this.o.isUp()) return;
    const uptimeMs = child.readyAt === null ? 0 : Math.max(0, monotonic() - child.readyAt);
    const pid = child.proc.pid;
    if (!isGroupAlive(pid) && record.code !== 0) return this.o.onUnexpectedExit(record, uptimeMs);
    // An exit we did not ask for still sweeps the daemon's process group; after an exit 0 (a
    // shutdown from outside) a process that kept the daemon port is reported, not called stopped.
    this.o.stopWatching();
    this.exitHandled = (async () => {
      await sweepGroup(pid, log);
      const still = () => this.childValue === null && this.o.isUp();
      if (!still()) return;
      if (record.code === 0) {
        const { host, port } = this.o.endpoint();
        const stray = await findStrayHolder(host, port, pid);
        if (stray && still()) {
          this.strayPid = stray.owner?.pid ?? null;
          return this.o.onStrayHolder(strayHolderMessage(describeExit(record), stray.owner, port), record);
        }
      }
      if (still()) this.o.onUnexpectedExit(record, uptimeMs);
    })().catch((e: unknown) => log('error', `After the daemon exited: ${errorMessage(e)}`));
  }
}
