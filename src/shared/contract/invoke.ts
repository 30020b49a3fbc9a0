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
import { daemonPresetIdSchema, daemonSummarySchema } from '../daemon-summary.js';
import { daemonEntrySchema, daemonIdSchema, settingsSchema } from '../settings-schema.js';
import { daemonSnapshotSchema } from '../snapshot.js';

const empty = z.object({}).strict();
const message = z.object({ message: z.string() });
/**
 * Which daemon a `daemon:*` or `devices:*` call is about: an id of `settings.daemons`. Absent = the
 * first daemon, so every caller written for one daemon keeps working (docs/settings.md).
 */
const daemonRef = z.object({ daemon: daemonIdSchema.optional() }).strict();

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

/** A preset of `settings.daemons` (docs/settings.md, "Several daemons"). */
export const daemonPresetSchema = z.object({
  id: daemonPresetIdSchema,
  name: z.string(),
  description: z.string(),
  /** The entries applying it would write (built from this machine: its GPUs, the current daemon). */
  daemons: z.array(daemonEntrySchema),
});
export type DaemonPreset = z.infer<typeof daemonPresetSchema>;

/** One daemon's answer to an action applied to every enabled daemon (`daemons:act`). */
export const daemonActionResultSchema = z.object({
  id: daemonIdSchema,
  name: z.string(),
  ok: z.boolean(),
  message: z.string(),
});
export type DaemonActionResult = z.infer<typeof daemonActionResultSchema>;

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
 * table (docs/architecture.md §3).
 */
export const invokeContract = {
  'daemon:get-snapshot': { request: daemonRef, response: daemonSnapshotSchema },
  'daemon:start': { request: daemonRef, response: message },
  'daemon:stop': { request: daemonRef, response: message },
  'daemon:restart': { request: daemonRef, response: message },
  'daemon:unload': { request: daemonRef, response: message },
  'daemon:check': { request: daemonRef, response: message },
  'daemon:test-profile': { request: daemonRef, response: preflightReportSchema },
  /** Every configured daemon, enabled or not, in settings order. */
  'daemons:list': { request: empty, response: z.object({ daemons: z.array(daemonSummarySchema) }) },
  /** One action on every ENABLED daemon at once (tray "Start all"/"Stop all", CLI without --daemon). */
  'daemons:act': {
    request: z.object({ action: z.enum(['start', 'stop', 'restart', 'unload', 'check']) }).strict(),
    response: z.object({ results: z.array(daemonActionResultSchema) }),
  },
  'daemons:list-presets': { request: empty, response: z.object({ presets: z.array(daemonPresetSchema) }) },
  /** Replace `settings.daemons` with a preset; running daemons the preset drops are stopped first. */
  'daemons:apply-preset': {
    request: z.object({ preset: daemonPresetIdSchema }).strict(),
    response: settingsViewSchema,
  },
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
  'devices:get': { request: daemonRef, response: daemonDevicesSchema },
  'devices:set-device': {
    request: daemonRef.extend({ component: deviceComponentSchema, device: z.string() }).strict(),
    response: deviceChangeSchema,
  },
  'devices:set-attention-mode': {
    request: daemonRef.extend({ mode: z.string() }).strict(),
    response: z.object({ mode: z.string(), message: z.string() }),
  },
  'gpus:get': { request: empty, response: gpuReportSchema },
  'gpus:get-history': { request: empty, response: vramHistorySchema },
  /** The panel's Quit: the host runs its Exit (daemon stopped unless app.keepDaemonOnExit). */
  'app:quit': { request: empty, response: message },
  /**
   * The diagnostics bundle (docs/diagnostics.md): a .tar.gz, base64, secrets already removed. The
   * panel's "Save diagnostics" and `luna-tray diagnose` (with a server running) use it.
   */
  'app:diagnostics': {
    request: empty,
    response: z.object({ fileName: z.string(), archive: z.string(), bytes: z.number().int() }),
  },
} as const;

export type InvokeContract = typeof invokeContract;
export type InvokeChannel = keyof InvokeContract;
export type InvokeRequest<K extends InvokeChannel> = z.input<InvokeContract[K]['request']>;
export type ParsedRequest<K extends InvokeChannel> = z.output<InvokeContract[K]['request']>;
export type InvokeResponse<K extends InvokeChannel> = z.output<InvokeContract[K]['response']>;
export const INVOKE_CHANNELS = Object.keys(invokeContract) as InvokeChannel[];
