import { z } from 'zod';

import { comfyInstanceSchema, localGpuSchema } from '../comfy-instance.js';
import { logEntrySchema } from '../log-entry.js';
import { daemonSummarySchema } from '../daemon-summary.js';
import { daemonIdSchema, settingsSchema } from '../settings-schema.js';
import { daemonSnapshotSchema } from '../snapshot.js';

/** Push channels (main → renderer, server → browser): past tense or nouns. */
export const eventContract = {
  /** The first daemon's snapshot (what a one-daemon panel shows). */
  'daemon:status-changed': daemonSnapshotSchema,
  /** Every daemon, whenever any one of them changes (coalesced like the status). */
  'daemons:changed': z.object({ daemons: z.array(daemonSummarySchema) }),
  'logs:appended': z.object({ entries: z.array(logEntrySchema) }),
  'settings:changed': settingsSchema,
  'comfy:instances-changed': z.object({
    instances: z.array(comfyInstanceSchema),
    gpus: z.array(localGpuSchema),
  }),
  /** Ask the panel to show a view (tray "View logs", "Settings…"). */
  'app:navigate': z.object({
    view: z.enum(['status', 'logs', 'settings', 'comfy']),
    /** With `logs`: show only this daemon's entries (the tray's per-daemon "View logs"). */
    daemon: daemonIdSchema.optional(),
  }),
} as const;

export type EventContract = typeof eventContract;
export type EventChannel = keyof EventContract;
export type EventPayload<K extends EventChannel> = z.output<EventContract[K]>;
export const EVENT_CHANNELS = Object.keys(eventContract) as EventChannel[];

/** One message on the event WebSocket (`/api/events`): a union, so `m.type` narrows `m.data`. */
export type EventMessage<K extends EventChannel = EventChannel> = K extends EventChannel
  ? { type: K; data: EventPayload<K> }
  : never;
