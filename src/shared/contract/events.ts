import { z } from 'zod';

import { comfyInstanceSchema, localGpuSchema } from '../comfy-instance.js';
import { logEntrySchema } from '../log-entry.js';
import { settingsSchema } from '../settings-schema.js';
import { daemonSnapshotSchema } from '../snapshot.js';

/** Push channels (main → renderer, server → browser): past tense or nouns. */
export const eventContract = {
  'daemon:status-changed': daemonSnapshotSchema,
  'logs:appended': z.object({ entries: z.array(logEntrySchema) }),
  'settings:changed': settingsSchema,
  'comfy:instances-changed': z.object({
    instances: z.array(comfyInstanceSchema),
    gpus: z.array(localGpuSchema),
  }),
  /** Ask the panel to show a view (tray "View logs", "Settings…"). */
  'app:navigate': z.object({ view: z.enum(['status', 'logs', 'settings', 'comfy']) }),
} as const;

export type EventContract = typeof eventContract;
export type EventChannel = keyof EventContract;
export type EventPayload<K extends EventChannel> = z.output<EventContract[K]>;
export const EVENT_CHANNELS = Object.keys(eventContract) as EventChannel[];

/** One message on the event WebSocket (`/api/events`): a union, so `m.type` narrows `m.data`. */
export type EventMessage<K extends EventChannel = EventChannel> = K extends EventChannel
  ? { type: K; data: EventPayload<K> }
  : never;
