import type { Generation } from '../../shared/daemon-status.js';
import type { LogLevel } from '../../shared/log-entry.js';
import type { DaemonConfig } from '../../shared/settings-schema.js';
import type { LunaClient } from '../daemon/luna-client.js';
import { errorMessage } from '../util/error-message.js';
import type { DaemonProcess } from './daemon-process.js';
import { startHealthWatch, type HealthWatch } from './health-watch.js';
import type { ObservedState } from './observed-state.js';

export interface LivenessOptions {
  state: ObservedState;
  proc: Pick<DaemonProcess, 'pid' | 'adoptedWentAway' | 'killUnresponsive'>;
  /** This daemon's settings, read at each use (health and restart policy). */
  config: () => Pick<DaemonConfig, 'health' | 'restart'>;
  /** Host and ports of the daemon that is up. */
  endpoint: () => { host: string; port: number; wsPort: number };
  client: (generation: Generation) => LunaClient;
  log: (level: LogLevel, text: string) => void;
  /** See `PROTOCOL_CHECK_MS` in health-watch.ts; tests shorten it. */
  protocolCheckMs?: number;
}

/**
 * While the daemon is up: the health watch (health-watch.ts) feeding the observed state, and what a
 * failed ping means — an adopted daemon gone, `unresponsive` after enough failures in a row, and the
 * kill of a hung daemon when `daemon.restart.restartUnresponsive` allows it (docs/architecture.md §11).
 */
export class Liveness {
  private watch: HealthWatch | null = null;

  constructor(private readonly o: LivenessOptions) {}

  /** (Re)start watching the daemon that just became ready or was adopted. */
  start(generation: Generation): void {
    this.stop();
    const { o } = this;
    const ep = o.endpoint();
    this.watch = startHealthWatch({
      generation,
      host: ep.host,
      port: ep.port,
      wsPort: ep.wsPort,
      health: o.config().health,
      pid: o.proc.pid,
      ...(o.protocolCheckMs !== undefined ? { protocolCheckMs: o.protocolCheckMs } : {}),
      client: o.client,
      onPingOk: () => void o.state.apply({ type: 'ping-ok' }),
      onPingFailed: (n, e) => this.onPingFailed(n, e),
      onInfo: (info) => o.state.setInfo(info),
      refreshInfo: () => void this.refreshInfo(),
      onStats: (s) => o.state.setStats(s),
      warn: (m) => o.log('warning', m),
    });
  }

  /** Stop watching; the stats of a daemon nobody watches are cleared. */
  stop(): void {
    this.watch?.stop();
    this.watch = null;
    this.o.state.clearStats();
  }

  /** Ask the daemon that is up for fresh info; a failure keeps the last info (pings report outages). */
  async refreshInfo(): Promise<void> {
    const { state } = this.o;
    const generation = state.generation;
    if (!generation) return;
    try {
      state.setInfo(
        await this.o.client(generation).info({ timeoutMs: this.o.config().health.pingTimeoutMs }),
      );
    } catch {
      // Health pings report an unreachable daemon; a failed info refresh keeps the last info.
    }
  }

  private onPingFailed(failedPings: number, error: unknown): void {
    const { state, proc, log } = this.o;
    if (!state.up || proc.adoptedWentAway(error)) return;
    const d = this.o.config();
    const before = state.status;
    state.apply({ type: 'ping-failed', failedPings, threshold: d.health.failuresBeforeUnresponsive });
    if (before.state !== 'running' || state.status.state !== 'unresponsive') return;
    log('error', `The daemon stopped answering pings (${failedPings} failed: ${errorMessage(error)}).`);
    if (d.restart.restartUnresponsive) proc.killUnresponsive();
  }
}
