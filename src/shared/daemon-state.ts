// What a daemon state means to a person (tray colour, allowed actions, words), without zod (type
// imports only), so the CLI's `status` can use it without loading the schemas (its start-up time:
// docs/benchmarks.md, cli-startup). Re-exported by daemon-status.ts.
import type { DaemonStatus } from './daemon-status.js';

/** The four tray colours. */
export type TrayColor = 'gray' | 'yellow' | 'green' | 'red';

/** Tray colour of a status: gray stopped, yellow starting/stopping, green running, red otherwise. */
export function colorOf(status: Pick<DaemonStatus, 'state'>): TrayColor {
  switch (status.state) {
    case 'stopped':
      return 'gray';
    case 'starting':
    case 'stopping':
      return 'yellow';
    case 'running':
      return 'green';
    case 'unresponsive':
    case 'backoff':
    case 'failed':
      return 'red';
  }
}

/** Which user actions make sense in a state (tray menu, panel buttons, CLI hints). */
export function allowedActions(status: Pick<DaemonStatus, 'state'>): {
  start: boolean;
  stop: boolean;
  restart: boolean;
  unload: boolean;
} {
  const s = status.state;
  return {
    start: s === 'stopped' || s === 'failed' || s === 'backoff',
    stop: s === 'starting' || s === 'running' || s === 'unresponsive' || s === 'backoff',
    restart: s === 'running' || s === 'unresponsive' || s === 'failed' || s === 'backoff',
    unload: s === 'running',
  };
}

/** Short human words for a state, as the tray and CLI print them. */
export function describeState(status: DaemonStatus, now = Date.now()): string {
  switch (status.state) {
    case 'stopped':
      return status.reason === 'external-shutdown' ? 'stopped (shut down from outside)' : 'stopped';
    case 'starting':
      return 'starting…';
    case 'running':
      return status.adopted ? 'running (adopted)' : 'running';
    case 'unresponsive':
      return `unresponsive (${status.failedPings} failed pings)`;
    case 'stopping':
      return 'stopping…';
    case 'backoff':
      return `restarting in ${Math.max(0, Math.ceil((status.retryAt - now) / 1000))} s`;
    case 'failed':
      return `failed: ${status.message}`;
  }
}
