import type { ExitRecord } from '../../shared/daemon-status.js';
import type { LogLevel } from '../../shared/log-entry.js';
import { judgeUnexpectedExit } from './exit-classification.js';
import type { RestartPolicy } from './restart-policy.js';
import type { StatusEvent } from './status-machine.js';

export interface RestartSchedulerOptions {
  /** The daemon's restart policy, read at each exit (a changed setting applies to the next crash). */
  policy: () => RestartPolicy;
  now: () => number;
  /** The status event the verdict calls for (backoff, crash loop, stopped from outside, …). */
  apply: (event: StatusEvent) => void;
  log: (level: LogLevel, text: string) => void;
  /** The backoff delay is over: start again (the coordinator checks it is still wanted). */
  restart: () => void;
}

/**
 * The memory of the restart policy: how many quick crashes in a row, and the one pending backoff
 * timer. What an exit means is decided as data by `judgeUnexpectedExit` (exit-classification.ts);
 * this part keeps the count between exits and owns the timer, so a stop can always cancel it.
 */
export class RestartScheduler {
  private quickCrashes = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly o: RestartSchedulerOptions) {}

  /** The attempt number an automatic start is (1 after a user start). */
  get attempt(): number {
    return this.quickCrashes + 1;
  }

  /** Whether a restart is scheduled. */
  get pending(): boolean {
    return this.timer !== null;
  }

  /** A start the user asked for begins a fresh count: earlier crashes are not held against it. */
  resetCount(): void {
    this.quickCrashes = 0;
  }

  /** The daemon went away without being asked: judge it, report it, and schedule a restart if due. */
  onUnexpectedExit(record: ExitRecord, uptimeMs: number): void {
    const verdict = judgeUnexpectedExit({
      record,
      policy: this.o.policy(),
      uptimeMs,
      quickCrashes: this.quickCrashes,
      now: this.o.now(),
    });
    this.quickCrashes = verdict.quickCrashes;
    this.o.apply(verdict.event);
    if (verdict.log) this.o.log(verdict.log.level, verdict.log.text);
    if (verdict.restartInMs === null) return;
    this.cancel();
    this.timer = setTimeout(() => {
      this.timer = null;
      this.o.restart();
    }, verdict.restartInMs);
  }

  /** Drop a scheduled restart (a stop, a user start, dispose). */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
