import { z } from 'zod';

import { comfyInstanceSchema, localGpuSchema } from '../comfy-instance.js';
import {
  daemonDevicesSchema,
  deviceChangeSchema,
  deviceComponentSchema,
  gpuReportSchema,
  vramHistorySchema,
} from '../gpu.js';
import { logEntrySchema } from '../log-entry.js';
import { settingsSchema } from '../settings-schema.js';
import { daemonSnapshotSchema } from '../snapshot.js';

const empty = z.object({}).strict();
const message = z.object({ message: z.string() });

/** Result of the launch-profile pre-flight checks. */
export const preflightReportSchema = z.object({
  ok: z.boolean(),
  command: z.string(),
  args: z.array(z.string()),
  cwd: z.string(),
  checks: z.array(z.object({ name: z.string(), ok: z.boolean(), message: z.string() })),
});
export type PreflightReport = z.infer<typeof preflightReportSchema>;

export const logPageSchema = z.object({
  entries: z.array(logEntrySchema),
  /** The oldest seq still in the ring (older ones were evicted). */
  firstSeq: z.number().int(),
  /** The newest seq in the ring (0 when empty). */
  lastSeq: z.number().int(),
});
export type LogPage = z.infer<typeof logPageSchema>;

export const settingsViewSchema = z.object({
  settings: settingsSchema,
  /** Where the settings live (a file path, or a description). */
  path: z.string(),
});
export type SettingsView = z.infer<typeof settingsViewSchema>;

export const freeVramReportSchema = z.object({
  daemon: z.object({ ok: z.boolean(), message: z.string() }),
  instances: z.array(z.object({ url: z.string(), ok: z.boolean(), message: z.string() })),
});
export type FreeVramReport = z.infer<typeof freeVramReportSchema>;

const instanceRef = z.object({ url: z.string().url() }).strict();
const reportProgress = z
  .object({
    url: z.string().url(),
    promptId: z.string().min(1).max(200),
    node: z.string().max(500).nullable(),
    nodeTitle: z.string().max(500).nullable(),
    value: z.number().min(0),
    max: z.number().min(0),
  })
  .strict();
/** Interrupt: only `promptId` when given (and only while it is the running prompt), else whatever runs. */
const interruptRef = z.object({ url: z.string().url(), promptId: z.string().min(1).optional() }).strict();

/**
 * The invoke channels: `'domain:verb-noun'` → request and response schemas. The Electron IPC
 * handlers, the preload API, the HTTP routes and both renderer bridges are all derived from this one
 * table (STYLE.md §8).
 */
export const invokeContract = {
  'daemon:get-snapshot': { request: empty, response: daemonSnapshotSchema },
  'daemon:start': { request: empty, response: message },
  'daemon:stop': { request: empty, response: message },
  'daemon:restart': { request: empty, response: message },
  'daemon:unload': { request: empty, response: message },
  'daemon:check': { request: empty, response: message },
  'daemon:test-profile': { request: empty, response: preflightReportSchema },
  'logs:get-since': {
    request: z
      .object({
        seq: z.number().int().min(0),
        limit: z.number().int().min(1).max(200_000).optional(),
      })
      .strict(),
    response: logPageSchema,
  },
  'settings:get': { request: empty, response: settingsViewSchema },
  'settings:update': {
    request: z.object({ patch: z.record(z.string(), z.unknown()) }).strict(),
    response: settingsViewSchema,
  },
  'comfy:list-instances': {
    request: empty,
    response: z.object({ instances: z.array(comfyInstanceSchema), gpus: z.array(localGpuSchema) }),
  },
  'comfy:free-vram': { request: empty, response: freeVramReportSchema },
  'comfy:interrupt': { request: interruptRef, response: message },
  /**
   * `luna-tray run` tells the running Luna Tray how its prompt is doing: ComfyUI sends step progress
   * only to the client that queued the prompt, so the panel learns it from the submitter.
   */
  'comfy:report-progress': { request: reportProgress, response: message },
  /** Forget an instance's "last error" (the panel's Dismiss). */
  'comfy:dismiss-error': { request: instanceRef, response: message },
  'comfy:clear-queue': { request: instanceRef, response: message },
  'devices:get': { request: empty, response: daemonDevicesSchema },
  'devices:set-device': {
    request: z.object({ component: deviceComponentSchema, device: z.string() }).strict(),
    response: deviceChangeSchema,
  },
  'devices:set-attention-mode': {
    request: z.object({ mode: z.string() }).strict(),
    response: z.object({ mode: z.string(), message: z.string() }),
  },
  'gpus:get': { request: empty, response: gpuReportSchema },
  'gpus:get-history': { request: empty, response: vramHistorySchema },
  /** The panel's Quit: the host runs its Exit (daemon stopped unless app.keepDaemonOnExit). */
  'app:quit': { request: empty, response: message },
} as const;

export type InvokeContract = typeof invokeContract;
export type InvokeChannel = keyof InvokeContract;
export type InvokeRequest<K extends InvokeChannel> = z.input<InvokeContract[K]['request']>;
export type ParsedRequest<K extends InvokeChannel> = z.output<InvokeContract[K]['request']>;
export type InvokeResponse<K extends InvokeChannel> = z.output<InvokeContract[K]['response']>;
export const INVOKE_CHANNELS = Object.keys(invokeContract) as InvokeChannel[];
