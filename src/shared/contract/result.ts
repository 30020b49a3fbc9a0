import { z } from 'zod';

/** Stable error codes the renderer and the CLI switch on. */
export const apiErrorCodeSchema = z.enum([
  'invalid-input',
  'not-running',
  'operation-failed',
  'not-found',
  'unauthorized',
  'forbidden',
  'unavailable',
  'internal',
]);
export type ApiErrorCode = z.infer<typeof apiErrorCodeSchema>;

export const apiErrorSchema = z.object({
  code: apiErrorCodeSchema,
  message: z.string(),
  /** Per-field problems for `invalid-input` (dotted keys). */
  issues: z.array(z.object({ key: z.string(), message: z.string() })).optional(),
});
export type ApiError = z.infer<typeof apiErrorSchema>;

/** Every call resolves to this envelope, on both transports (docs/architecture.md §4). */
export type ApiResult<T> = { ok: true; value: T } | { ok: false; error: ApiError };

export function ok<T>(value: T): ApiResult<T> {
  return { ok: true, value };
}

export function err(code: ApiErrorCode, message: string, issues?: ApiError['issues']): ApiResult<never> {
  return { ok: false, error: issues ? { code, message, issues } : { code, message } };
}

/** zod schema of `ApiResult<T>` for a value schema. */
export function apiResultSchema<T extends z.ZodType>(value: T) {
  return z.union([
    z.object({ ok: z.literal(true), value }),
    z.object({ ok: z.literal(false), error: apiErrorSchema }),
  ]);
}
