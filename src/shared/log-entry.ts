import { z } from 'zod';

export const logLevelSchema = z.enum(['debug', 'info', 'warning', 'error', 'critical']);
export type LogLevel = z.infer<typeof logLevelSchema>;

/** Where a log entry came from: the daemon's two pipes, or the supervisor's own events. */
export const logSourceSchema = z.enum(['stdout', 'stderr', 'supervisor']);
export type LogSource = z.infer<typeof logSourceSchema>;

/**
 * One log record. `seq` increases by one per entry for the life of the log store, so clients can
 * ask for everything after the last `seq` they saw and detect gaps. `text` may span several lines
 * (a traceback's continuation lines are attached to the record that started it).
 */
export const logEntrySchema = z.object({
  seq: z.number().int(),
  /** Epoch milliseconds when the supervisor received the line. */
  ts: z.number(),
  source: logSourceSchema,
  level: logLevelSchema,
  /** The logger name when the line's format carries one (e.g. `LunaDaemon`). */
  logger: z.string().optional(),
  /** The id of the daemon whose output or supervisor event this is (several daemons share one store). */
  daemon: z.string().optional(),
  text: z.string(),
});
export type LogEntry = z.infer<typeof logEntrySchema>;

export const LOG_LEVELS: readonly LogLevel[] = logLevelSchema.options;

/** Numeric rank of a level, for "this level and above" filters. */
export function levelRank(level: LogLevel): number {
  return LOG_LEVELS.indexOf(level);
}
