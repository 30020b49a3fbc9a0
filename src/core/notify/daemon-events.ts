// Which status transitions of a daemon are webhook events: crashed, crash loop, recovered
// (docs/webhooks.md). Pure: fed every status in order, it answers the event a transition is, if any.
import type { DaemonStatus } from '../../shared/daemon-status.js';
import type { WebhookEventName } from '../../shared/settings-schema.js';

export interface DaemonEvent {
  event: Extract<WebhookEventName, 'crashed' | 'crash-loop' | 'recovered'>;
  message: string;
}

/** A tracker for one daemon: call it with each status; it remembers what it needs. */
export function createDaemonEventTracker(): (next: DaemonStatus) => DaemonEvent | null {
  let prev: DaemonStatus | null = null;
  // Set by a crash, cleared by running again or by a stop the user asked for.
  let troubled = false;
  return (next) => {
    const was = prev?.state;
    prev = next;
    if (next.state === 'backoff' && (was === 'running' || was === 'unresponsive')) {
      troubled = true;
      return { event: 'crashed', message: next.message };
    }
    if (next.state === 'failed' && next.kind === 'crash-loop' && was !== 'failed') {
      troubled = true;
      return { event: 'crash-loop', message: next.message };
    }
    if (next.state === 'running' && was !== 'running' && was !== 'unresponsive' && troubled) {
      troubled = false;
      return {
        event: 'recovered',
        message: `The Luna daemon is running again${next.pid !== null ? ` (PID ${next.pid})` : ''}.`,
      };
    }
    if (next.state === 'stopped' && next.reason === 'user') troubled = false;
    return null;
  };
}
