import type { EventChannel, EventPayload } from '../../shared/contract/events.js';
import type { InvokeHandlers } from '../../shared/contract/renderer-api.js';
import type { DaemonSnapshot } from '../../shared/snapshot.js';
import type { Settings } from '../../shared/settings-schema.js';
import type { DaemonDevices } from '../gpu/daemon-devices.js';

/** A typed push-event source: `on(channel, listener)` returns a disposer. */
export interface EventSource {
  on<K extends EventChannel>(channel: K, listener: (payload: EventPayload<K>) => void): () => void;
}

/**
 * The core as a host sees it: the contract's handlers, its push events, and lifecycle. Both
 * composition roots (Electron main, headless `serve`) build exactly one of these.
 */
export interface LunaCore {
  /** One async handler per invoke channel; requests are already parsed by the transport. */
  readonly handlers: InvokeHandlers;
  readonly events: EventSource;
  /** The daemon's device and attention-mode calls, for the original `/luna/daemon/*device*` routes. */
  readonly devices?: DaemonDevices;
  /** One daemon's device calls (`/luna/daemons/<id>/devices`); no id = the first; null = no such daemon. */
  daemonDevices?(id: string | undefined): DaemonDevices | null;
  /** The current snapshot (status, info, restarts, warnings). */
  snapshot(): DaemonSnapshot;
  /** Failed ComfyUI prompts seen since start, per instance URL (`GET /metrics`). */
  comfyJobsFailed?(): ReadonlyMap<string, number>;
  settings(): Settings;
  /** Emit `app:navigate` (tray "View logs" / "Settings…"). */
  navigate(view: 'status' | 'logs' | 'settings' | 'comfy'): void;
  /**
   * Show a daemon that already answers as running (adopted), then auto-start it if `daemon.autoStart`
   * is on. Hosts call this once, after start-up.
   */
  autoStart(delayMs?: number): void;
  /**
   * Stop everything. Stops the daemon gracefully unless `keepDaemon` (default:
   * `settings.app.keepDaemonOnExit`), then releases timers, sockets and files.
   */
  dispose(opts?: { keepDaemon?: boolean }): Promise<void>;
}
