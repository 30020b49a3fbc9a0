// The channel names come from channels.ts (no zod): the CLI builds its paths without loading the
// schemas, which would cost most of its start-up time.
import { INVOKE_CHANNEL_NAMES } from './channels.js';
import type { InvokeChannel } from './invoke.js';

/** `'daemon:get-snapshot'` → `/api/daemon/get-snapshot`. Every invoke route is a POST with a JSON body. */
export function httpPathOf(channel: InvokeChannel): string {
  const [domain, verb] = channel.split(':');
  return `/api/${domain}/${verb}`;
}

/** The reverse table, for the server. */
export const HTTP_ROUTES: ReadonlyMap<string, InvokeChannel> = new Map(
  INVOKE_CHANNEL_NAMES.map((c) => [httpPathOf(c), c]),
);

/** The event WebSocket path. */
export const EVENTS_PATH = '/api/events';

/**
 * `POST /app/panel-url` (control server only, no IPC twin): a panel link with a fresh one-time
 * code. The CLI's `open` reads this reply.
 */
export const PANEL_URL_PATH = '/app/panel-url';

/** `POST /app/quit` → 202, then the app (or `serve`) runs its Exit: `luna-tray quit`. */
export const APP_QUIT_PATH = '/app/quit';
export interface PanelUrlReply {
  url: string;
}
