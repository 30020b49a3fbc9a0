import { z } from 'zod';

import { vramDeviceSchema } from './daemon-info.js';
import { daemonIdSchema } from './settings-schema.js';
import { daemonSnapshotSchema } from './snapshot.js';

/** The four tray colours (see `colorOf` in daemon-state.ts). */
export const trayColorSchema = z.enum(['gray', 'yellow', 'green', 'red']);

/**
 * One daemon as `GET /luna/daemons`, `daemons:list` and the `daemons:changed` event show it: who it
 * is, where it listens, and its full snapshot (the same object `daemon:get-snapshot` returns for it).
 * `state`, `color`, `pid`, `models` and `vram` repeat what the snapshot holds, for a one-line view.
 */
export const daemonSummarySchema = z.object({
  id: daemonIdSchema,
  name: z.string(),
  enabled: z.boolean(),
  host: z.string(),
  port: z.number().int(),
  /** 0 = the WebSocket feed is not used. */
  wsPort: z.number().int(),
  state: z.enum(['stopped', 'starting', 'running', 'unresponsive', 'stopping', 'backoff', 'failed']),
  color: trayColorSchema,
  pid: z.number().int().nullable(),
  /** Names of the models the daemon holds. */
  models: z.array(z.string()),
  vram: z.array(vramDeviceSchema),
  snapshot: daemonSnapshotSchema,
});
export type DaemonSummary = z.infer<typeof daemonSummarySchema>;

/** The presets `luna-tray config preset` and `daemons:apply-preset` know (docs/settings.md). */
export const daemonPresetIdSchema = z.enum(['single', 'split-clip-vae', 'one-per-gpu']);
export type DaemonPresetId = z.infer<typeof daemonPresetIdSchema>;
