import { z } from 'zod';

import { generationSchema } from './daemon-status.js';

/** A model the daemon holds, from the CLIP pool or the weight registry (docs/daemon-protocol.md §8.2). */
export const loadedModelSchema = z.object({
  name: z.string(),
  source: z.enum(['clip_pool', 'weight_registry', 'legacy']),
  type: z.string().optional(),
  device: z.string().optional(),
  memoryGb: z.number().optional(),
});
export type LoadedModel = z.infer<typeof loadedModelSchema>;

export const vramDeviceSchema = z.object({
  device: z.string(),
  usedGb: z.number(),
  totalGb: z.number(),
});
export type VramDevice = z.infer<typeof vramDeviceSchema>;

/**
 * `get_info` (current) or `info` (legacy) normalised, so the rest of the app never sees which
 * generation answered. `raw` keeps the daemon's reply as decoded (bigints turned to strings).
 */
export const daemonInfoSchema = z.object({
  generation: generationSchema,
  status: z.string(),
  uptimeSec: z.number(),
  requestCount: z.number(),
  clipRequestCount: z.number(),
  vaeRequestCount: z.number(),
  serviceType: z.string(),
  attentionMode: z.string().nullable(),
  devices: z.object({
    clip: z.string().optional(),
    vae: z.string().optional(),
    llm: z.string().optional(),
  }),
  vram: z.array(vramDeviceSchema),
  models: z.array(loadedModelSchema),
  clipPool: z
    .object({
      activeWorkers: z.number(),
      queueDepth: z.number(),
      totalRequests: z.number(),
      workersCount: z.number(),
    })
    .nullable(),
  raw: z.record(z.string(), z.unknown()),
});
export type DaemonInfo = z.infer<typeof daemonInfoSchema>;
