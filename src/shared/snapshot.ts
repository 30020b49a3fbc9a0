import { z } from 'zod';

import { daemonInfoSchema } from './daemon-info.js';
import { daemonStatusSchema, exitRecordSchema } from './daemon-status.js';

/** CPU and memory of the daemon process (spawned, or adopted when its PID is known). */
export const processStatsSchema = z.object({
  cpuPercent: z.number(),
  rssBytes: z.number(),
});

/** A visible warning: something degraded that the user should know about (never a silent reset). */
export const appWarningSchema = z.object({
  id: z.string(),
  message: z.string(),
  at: z.number(),
});
export type AppWarning = z.infer<typeof appWarningSchema>;

/** Everything the panel, tray and CLI show about the daemon, in one object. */
export const daemonSnapshotSchema = z.object({
  status: daemonStatusSchema,
  info: daemonInfoSchema.nullable(),
  infoAt: z.number().nullable(),
  restarts: z.number().int(),
  lastExit: exitRecordSchema.nullable(),
  process: processStatsSchema.nullable(),
  warnings: z.array(appWarningSchema),
  /** The last log sequence number at snapshot time. */
  logSeq: z.number().int(),
});
export type DaemonSnapshot = z.infer<typeof daemonSnapshotSchema>;
