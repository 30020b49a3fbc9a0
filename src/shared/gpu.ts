import { z } from 'zod';

/** A daemon component whose device can be moved. */
export const deviceComponentSchema = z.enum(['clip', 'vae', 'llm']);
export type DeviceComponentName = z.infer<typeof deviceComponentSchema>;

/** `get_devices` of the running daemon, typed (the raw reply rides along for the original route). */
export const daemonDevicesSchema = z.object({
  devices: z.object({ clip: z.string().nullable(), vae: z.string().nullable(), llm: z.string().nullable() }),
  availableGpus: z.array(z.string()),
  hasCuda: z.boolean(),
  /** The attention mode from the last `get_info` (null before the first one). */
  attentionMode: z.string().nullable(),
});
export type DaemonDevicesView = z.infer<typeof daemonDevicesSchema>;

export const deviceChangeSchema = z.object({
  oldDevice: z.string(),
  newDevice: z.string(),
  message: z.string(),
});
export type DeviceChange = z.infer<typeof deviceChangeSchema>;

/** Who a GPU process is, as far as Luna Tray can tell (docs/devices.md). */
export const vramRoleSchema = z.enum(['daemon', 'comfyui', 'other']);
export type VramRole = z.infer<typeof vramRoleSchema>;

export const gpuProcessSchema = z.object({
  pid: z.number().int(),
  name: z.string(),
  /** Null where the driver will not say (Windows reports N/A for every process). */
  usedMiB: z.number().nullable(),
  role: vramRoleSchema,
  /** The watched ComfyUI instance's URL, for role `comfyui`. */
  instance: z.string().optional(),
});
export type GpuProcess = z.infer<typeof gpuProcessSchema>;

/** Memory in use on one GPU, split by holder; `other` is the rest of `memoryUsedMiB`. */
export const vramSplitSchema = z.object({
  daemonMiB: z.number(),
  comfyuiMiB: z.number(),
  otherMiB: z.number(),
});
export type VramSplit = z.infer<typeof vramSplitSchema>;

export const gpuSchema = z.object({
  /** Stable key: the NVIDIA uuid, else the PCI bus id (never the index alone). */
  key: z.string(),
  vendor: z.enum(['nvidia', 'amd']),
  index: z.number().int(),
  uuid: z.string().nullable(),
  busId: z.string().nullable(),
  name: z.string(),
  memoryTotalMiB: z.number().nullable(),
  memoryUsedMiB: z.number().nullable(),
  memoryFreeMiB: z.number().nullable(),
  utilizationPercent: z.number().nullable(),
  temperatureC: z.number().nullable(),
  powerW: z.number().nullable(),
  processes: z.array(gpuProcessSchema),
  split: vramSplitSchema,
});
export type Gpu = z.infer<typeof gpuSchema>;

/** One telemetry reading; `source: 'none'` is the explicit "no GPU telemetry" state. */
export const gpuReportSchema = z.object({
  source: z.enum(['nvidia', 'amd', 'none']),
  /** Why there is no telemetry, or what went wrong reading it. */
  message: z.string().nullable(),
  sampledAt: z.number(),
  gpus: z.array(gpuSchema),
});
export type GpuReport = z.infer<typeof gpuReportSchema>;

/** One point of the VRAM history of one GPU (MiB). */
export const vramPointSchema = z.object({
  at: z.number(),
  usedMiB: z.number(),
  totalMiB: z.number(),
  daemonMiB: z.number(),
  comfyuiMiB: z.number(),
  otherMiB: z.number(),
});
export type VramPoint = z.infer<typeof vramPointSchema>;

export const vramHistorySchema = z.object({
  intervalMs: z.number(),
  /** Per GPU key: its name and its points, oldest first. */
  gpus: z.array(z.object({ key: z.string(), name: z.string(), points: z.array(vramPointSchema) })),
});
export type VramHistory = z.infer<typeof vramHistorySchema>;
