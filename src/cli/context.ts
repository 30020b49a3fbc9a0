/** Global options every command sees. */
export interface Context {
  dataDir: string;
  /** The control/lock port. */
  port: number;
  /** True when `--port` was given (the demo otherwise picks a free one). */
  portGiven?: boolean;
  /** The address the control API is reached at (`::1` only for an `http://[::1]:…` --url). */
  host?: '127.0.0.1' | '::1';
  /**
   * `--url`/LUNA_TRAY_URL: the control API on a forwarded port (an SSH tunnel) whose far side
   * listens on another port; `port` is the URL's (docs/security.md §2, "SSH tunnels").
   */
  tunnel?: boolean;
  /** `--token-file`/LUNA_TRAY_TOKEN_FILE: the token to send instead of `<dataDir>/control-token`. */
  tokenFile?: string;
  json: boolean;
}

/** Stable exit codes (documented in `--help`). */
export const EXIT = {
  ok: 0,
  /** The operation failed (the API answered ok: false, or the daemon refused). */
  failed: 1,
  /** Bad usage: unknown command or option, invalid value, a `--daemon ID` that is not configured. */
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
