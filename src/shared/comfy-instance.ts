import { z } from 'zod';

/** One GPU (or CPU) device as ComfyUI's `/system_stats` reports it, in bytes. */
export const comfyDeviceSchema = z.object({
  name: z.string(),
  type: z.string(),
  index: z.number().nullable(),
  vramTotal: z.number(),
  vramFree: z.number(),
});

/** Progress of the prompt an instance is executing (whoever queued it). */
export const comfyProgressSchema = z.object({
  promptId: z.string(),
  /** The node executing now, and its title when known. */
  node: z.string().nullable(),
  nodeTitle: z.string().nullable(),
  value: z.number(),
  max: z.number(),
  startedAt: z.number(),
  /**
   * Whether step progress reaches Luna Tray for this prompt. ComfyUI sends it only to the client
   * that queued the prompt (or to everyone when it was queued without a client id).
   */
  stepsVisible: z.boolean(),
});

/** The last failed prompt on an instance; `at` is when it failed (ms since the epoch). */
export const comfyErrorSchema = z.object({
  promptId: z.string().nullable(),
  nodeId: z.string().nullable(),
  nodeType: z.string().nullable(),
  exceptionType: z.string().nullable(),
  message: z.string(),
  at: z.number(),
});

/** What the instance monitor knows about one ComfyUI server. */
export const comfyInstanceSchema = z.object({
  url: z.string(),
  reachable: z.boolean(),
  /** Why it is unreachable, in words. */
  problem: z.string().nullable(),
  version: z.string().nullable(),
  os: z.string().nullable(),
  devices: z.array(comfyDeviceSchema),
  queue: z.object({ running: z.number(), pending: z.number() }),
  progress: comfyProgressSchema.nullable(),
  lastError: comfyErrorSchema.nullable(),
  checkedAt: z.number(),
  discovered: z.boolean(),
});
export type ComfyInstance = z.infer<typeof comfyInstanceSchema>;

/** Local GPU figures from `nvidia-smi`, when present. */
export const localGpuSchema = z.object({
  index: z.number(),
  name: z.string(),
  utilizationPercent: z.number().nullable(),
  temperatureC: z.number().nullable(),
  memoryUsedMb: z.number(),
  memoryTotalMb: z.number(),
});
export type LocalGpu = z.infer<typeof localGpuSchema>;
