import { z } from 'zod';

/** How a child process ended: the fields of execa's result that matter to a supervisor. */
export const exitRecordSchema = z.object({
  code: z.number().int().nullable(),
  signal: z.string().nullable(),
  at: z.number(),
  /** The last lines the process wrote to stderr (and stdout), oldest first. */
  stderrTail: z.array(z.string()),
  /** Set when Luna Tray itself ended the process: `unresponsive` = killed because it stopped answering. */
  cause: z.enum(['unresponsive']).optional(),
});
export type ExitRecord = z.infer<typeof exitRecordSchema>;

/** Why the supervisor gave up. Every kind has an actionable `message` beside it. */
export const failureKindSchema = z.enum([
  'crash-loop',
  'crashed',
  'start-failed',
  'start-timeout',
  'port-conflict',
  'missing-python',
  'missing-script',
  'not-configured',
  'not-luna',
  'stop-failed',
]);
export type FailureKind = z.infer<typeof failureKindSchema>;

export const generationSchema = z.enum(['current', 'legacy']);
export type Generation = z.infer<typeof generationSchema>;

/**
 * The daemon's status as a discriminated union (docs/architecture.md §10). Every variant carries `at`, the
 * epoch milliseconds of the transition. Transitions are computed by the pure reducer in
 * `src/core/supervisor/status-machine.ts`.
 */
export const daemonStatusSchema = z.discriminatedUnion('state', [
  z.object({
    state: z.literal('stopped'),
    at: z.number(),
    reason: z.enum(['initial', 'user', 'external-shutdown']),
    lastExit: exitRecordSchema.optional(),
  }),
  z.object({
    state: z.literal('starting'),
    at: z.number(),
    pid: z.number().int().nullable(),
    attempt: z.number().int(),
  }),
  z.object({
    state: z.literal('running'),
    at: z.number(),
    pid: z.number().int().nullable(),
    since: z.number(),
    adopted: z.boolean(),
    generation: generationSchema,
  }),
  z.object({
    state: z.literal('unresponsive'),
    at: z.number(),
    pid: z.number().int().nullable(),
    since: z.number(),
    adopted: z.boolean(),
    generation: generationSchema,
    failedPings: z.number().int(),
  }),
  z.object({
    state: z.literal('stopping'),
    at: z.number(),
    pid: z.number().int().nullable(),
    step: z.enum(['shutdown-sent', 'terminating', 'killing']),
  }),
  z.object({
    state: z.literal('backoff'),
    at: z.number(),
    attempt: z.number().int(),
    retryAt: z.number(),
    lastExit: exitRecordSchema.optional(),
    message: z.string(),
  }),
  z.object({
    state: z.literal('failed'),
    at: z.number(),
    kind: failureKindSchema,
    message: z.string(),
    lastExit: exitRecordSchema.optional(),
  }),
]);
export type DaemonStatus = z.infer<typeof daemonStatusSchema>;
export type DaemonState = DaemonStatus['state'];

// Re-exported from a zod-free module so the CLI can describe a status without loading zod.
export { allowedActions, colorOf, describeState, type TrayColor } from './daemon-state.js';
