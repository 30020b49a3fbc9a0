import type { DaemonInfo } from '../../shared/daemon-info.js';
import type { DaemonStatus, ExitRecord, Generation } from '../../shared/daemon-status.js';
import type { ProcessSample } from './processes.js';
import { INITIAL_STATUS, transition, type StatusEvent } from './status-machine.js';

/** What a Supervisor tells its listeners. */
export interface SupervisorEvents {
  status: DaemonStatus;
  info: DaemonInfo | null;
  stats: ProcessSample | null;
}

export interface ObservedStateOptions {
  now: () => number;
  /** How messages name the daemon; '' leaves them as with a single daemon (`SupervisorOptions.label`). */
  label?: () => string;
  emit: <K extends keyof SupervisorEvents>(event: K, payload: SupervisorEvents[K]) => void;
  /** Called when the status comes to rest (stopped or failed), before listeners hear of it. */
  onRest?: () => void;
}

/**
 * What one daemon looks like from outside: its status, the daemon's own info, process stats, the
 * last exit and the restart count. Status changes go only through the pure reducer
 * (`status-machine.ts`), so a listener hears of each real change once and of no non-change; the
 * info of a daemon that is not up is neither kept nor shown.
 */
export class ObservedState {
  private statusValue: DaemonStatus;
  private infoValue: DaemonInfo | null = null;
  private infoAtValue: number | null = null;
  private statsValue: ProcessSample | null = null;
  private lastExitValue: ExitRecord | null = null;
  private restartsValue = 0;

  constructor(private readonly o: ObservedStateOptions) {
    this.statusValue = { ...INITIAL_STATUS, at: o.now() };
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
  get restarts(): number {
    return this.restartsValue;
  }

  /** Running or unresponsive: a daemon process answers (or did a moment ago). */
  get up(): boolean {
    const s = this.statusValue.state;
    return s === 'running' || s === 'unresponsive';
  }

  /** The protocol generation of the daemon that is up, or null. */
  get generation(): Generation | null {
    const s = this.statusValue;
    return s.state === 'running' || s.state === 'unresponsive' ? s.generation : null;
  }

  /** Feed an event through the reducer; returns whether the status changed. */
  apply(event: StatusEvent): boolean {
    if (event.type === 'failed' || event.type === 'backoff')
      event = { ...event, message: this.name(event.message) };
    const next = transition(this.statusValue, event, this.o.now());
    if (next === this.statusValue) return false;
    if (next.state === 'stopped' || next.state === 'failed') {
      this.infoValue = null;
      this.infoAtValue = null;
      this.o.onRest?.();
    }
    this.statusValue = next;
    this.o.emit('status', next);
    return true;
  }

  /** The daemon's info, kept only while it is up (a late reply after a stop is dropped). */
  setInfo(info: DaemonInfo): void {
    if (!this.up) return;
    this.infoValue = info;
    this.infoAtValue = this.o.now();
    this.o.emit('info', info);
  }

  /** A process sample from the health watch (null when sampling failed). */
  setStats(stats: ProcessSample | null): void {
    this.statsValue = stats;
    this.o.emit('stats', stats);
  }

  /** No watch any more: forget the stats; clearing stats that are already clear tells nobody. */
  clearStats(): void {
    if (this.statsValue) this.setStats(null);
  }

  recordExit(record: ExitRecord): void {
    this.lastExitValue = record;
  }

  countRestart(): void {
    this.restartsValue++;
  }

  /** A message as the user reads it: prefixed with the daemon's label when it has one (several daemons). */
  name(message: string): string {
    const label = this.o.label?.() ?? '';
    return label ? `${label}: ${message}` : message;
  }
}
