// Desktop notifications derived from status transitions (docs/architecture.md §15): debounced per kind and
// switched off by `app.notifications`. Pure apart from the injected `show`, so it is tested as data.
import type { ApiResult } from '../shared/contract/result.js';
import type { DaemonStatus } from '../shared/daemon-status.js';

/** The kinds of automatic notification; each is deduplicated on its own. */
export type NotificationKind =
  'crash' | 'crash-loop' | 'start-failed' | 'external-stop' | 'job-failed' | 'job-finished';

/** Options of `createNotifier`. */
export interface NotifierOptions {
  show: (title: string, body: string) => void;
  now?: () => number;
  /** `settings.app.notifications`, read at the moment of each notification. */
  enabled: () => boolean;
  /** The same kind within this window is shown once (default 60 s). */
  dedupeMs?: number;
  /** `settings.notify.jobFinished`: finished jobs notify only when this opt-in is on. */
  jobFinished?: () => boolean;
}

/** Which daemon a status belongs to, with several: the notification names it. */
export interface DaemonRef {
  id: string;
  name: string;
}

/** Feed it statuses; it decides what deserves a notification. */
export interface Notifier {
  /**
   * Call with every status (in order); transitions decide. With several daemons pass `daemon`:
   * transitions are then followed per daemon and the title names it ("Luna daemon VAE crashed").
   */
  onStatus(status: DaemonStatus, daemon?: DaemonRef): void;
  /** A ComfyUI job failed (wired to the ComfyUI service's `onJobFailed`). */
  notifyJobFailed(instance: string, message: string): void;
  /** A ComfyUI job finished (opt-in: `notify.jobFinished`). */
  notifyJobFinished(instance: string, message: string): void;
  /** A user-started action failed (tray Start/Stop/…): always shown, the user is waiting for it. */
  notifyActionFailed(action: string, message: string): void;
  /** The result of the tray's "Check status". Shown even when automatic notifications are off: the user asked. */
  notifyCheckResult(result: ApiResult<{ message: string }>): void;
}

/** Default dedupe window: a crash loop must not produce a notification per restart. */
export const NOTIFY_DEDUPE_MS = 60_000;

/** Which notification a transition deserves, if any. Exported for table tests. */
export function notificationFor(
  prev: DaemonStatus | null,
  next: DaemonStatus,
  daemonName?: string,
): { kind: NotificationKind; title: string; body: string } | null {
  const n = notificationOf(prev, next);
  if (!n || daemonName === undefined) return n;
  return { ...n, title: n.title.replace(/^Luna daemon/, `Luna daemon ${daemonName}`) };
}

function notificationOf(
  prev: DaemonStatus | null,
  next: DaemonStatus,
): { kind: NotificationKind; title: string; body: string } | null {
  const was = prev?.state;
  if (next.state === 'backoff' && (was === 'running' || was === 'unresponsive')) {
    return { kind: 'crash', title: 'Luna daemon crashed', body: next.message };
  }
  if (next.state === 'failed' && next.kind === 'crash-loop' && was !== 'failed') {
    return { kind: 'crash-loop', title: 'Luna daemon keeps crashing', body: next.message };
  }
  if (next.state === 'failed' && was === 'starting') {
    return { kind: 'start-failed', title: 'Luna daemon failed to start', body: next.message };
  }
  if (
    next.state === 'stopped' &&
    next.reason === 'external-shutdown' &&
    (was === 'running' || was === 'unresponsive')
  ) {
    return {
      kind: 'external-stop',
      title: 'Luna daemon stopped',
      body: 'It was shut down from outside Luna Tray.',
    };
  }
  return null;
}

/** Create the notifier. */
export function createNotifier(opts: NotifierOptions): Notifier {
  const now = opts.now ?? Date.now;
  const dedupeMs = opts.dedupeMs ?? NOTIFY_DEDUPE_MS;
  const lastShown = new Map<string, number>();
  // The last status per daemon id ('' = the one daemon of a single-daemon host).
  const prev = new Map<string, DaemonStatus>();

  function emit(key: string, title: string, body: string): void {
    if (!opts.enabled()) return;
    const t = now();
    const last = lastShown.get(key);
    if (last !== undefined && t - last < dedupeMs) return;
    lastShown.set(key, t);
    opts.show(title, body);
  }

  return {
    onStatus(status, daemon) {
      const key = daemon?.id ?? '';
      const n = notificationFor(prev.get(key) ?? null, status, daemon?.name);
      prev.set(key, status);
      // Dedupe per daemon: the VAE daemon crashing says nothing about the CLIP daemon.
      if (n) emit(daemon ? `${n.kind}:${daemon.id}` : n.kind, n.title, n.body);
    },
    notifyJobFailed(instance, message) {
      // Dedupe per instance: two instances failing are two pieces of news.
      emit(`job-failed:${instance}`, `ComfyUI job failed (${instance})`, message);
    },
    notifyJobFinished(instance, message) {
      if (!opts.jobFinished?.()) return;
      emit(`job-finished:${instance}`, `ComfyUI job finished (${instance})`, message);
    },
    notifyActionFailed(action, message) {
      opts.show(`Luna Tray: ${action} failed`, message);
    },
    notifyCheckResult(result) {
      opts.show('Luna daemon status', result.ok ? result.value.message : `${result.error.message}`);
    },
  };
}
