/** Global options every command sees. */
export interface Context {
  dataDir: string;
  /** The control/lock port. */
  port: number;
  /** True when `--port` was given (the demo otherwise picks a free one). */
  portGiven?: boolean;
  json: boolean;
}

/** Stable exit codes (documented in `--help`). */
export const EXIT = {
  ok: 0,
  /** The operation failed (the API answered ok: false, or the daemon refused). */
  failed: 1,
  /** Bad usage: unknown command or option, invalid value. */
  usage: 2,
  /** Luna Tray is not running, refused our token, or the port holder failed the identity proof. */
  unavailable: 3,
  /** ComfyUI cannot be reached (`run`, `convert --instance`). */
  comfyUnreachable: 4,
  /** Interrupted (Ctrl+C). */
  interrupted: 130,
} as const;

/** A usage error: printed with a hint, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
