// Forwards every core push event to the live windows (docs/architecture.md §8): main → renderer.
import { EVENT_CHANNELS } from '../../shared/contract/events.js';
import type { EventSource } from '../../core/app/luna-core.types.js';

/** The part of a WebContents push needs. */
export interface PushTarget {
  send(channel: string, ...args: unknown[]): void;
  isDestroyed(): boolean;
}

/**
 * Subscribe to every event channel of the contract and send each payload to every live target.
 * Returns the disposer that unsubscribes all of them.
 */
export function forwardEvents(events: EventSource, targets: () => Iterable<PushTarget>): () => void {
  const disposers = EVENT_CHANNELS.map((channel) =>
    events.on(channel, (payload) => {
      for (const wc of targets()) {
        // A window may be closing between the event and the send; skip destroyed ones.
        if (!wc.isDestroyed()) wc.send(channel, payload);
      }
    }),
  );
  return () => {
    for (const d of disposers) d();
  };
}
