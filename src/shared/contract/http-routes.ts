import type { InvokeChannel } from './invoke.js';
import { INVOKE_CHANNELS } from './invoke.js';

/** `'daemon:get-snapshot'` → `/api/daemon/get-snapshot`. Every invoke route is a POST with a JSON body. */
export function httpPathOf(channel: InvokeChannel): string {
  const [domain, verb] = channel.split(':');
  return `/api/${domain}/${verb}`;
}

/** The reverse table, for the server. */
export const HTTP_ROUTES: ReadonlyMap<string, InvokeChannel> = new Map(
  INVOKE_CHANNELS.map((c) => [httpPathOf(c), c]),
);

/** The event WebSocket path. */
export const EVENTS_PATH = '/api/events';
