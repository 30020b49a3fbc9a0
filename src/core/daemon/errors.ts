/**
 * Typed failures of the Luna daemon protocol client (docs/daemon-protocol.md §5–§7).
 * One class, `DaemonError`, with a stable `code`: callers switch on `code`, humans read `message`.
 */

/** Every way a daemon exchange can fail. */
export type DaemonErrorCode =
  /** ECONNREFUSED: nothing listens on the port. */
  | 'refused'
  /** ECONNRESET / EPIPE: the peer reset the connection. */
  | 'reset'
  /** The connect or the reply took longer than allowed. */
  | 'timeout'
  /** The caller's AbortSignal fired. */
  | 'aborted'
  /** The peer closed the connection before a complete reply. */
  | 'closed'
  /** Undecodable bytes: not a pickle, truncated, malformed, or not the expected shape. */
  | 'garbage'
  /** A frame header (or a decoded structure) larger than the configured bound. */
  | 'oversized'
  /** The pickle contains an opcode that imports or constructs objects (docs/daemon-protocol.md §6.3), or an unknown byte. */
  | 'refused-opcode'
  /** The peer speaks the other daemon generation's framing (docs/daemon-protocol.md §1, §7). */
  | 'wrong-generation'
  /** The daemon answered `{"error": ...}` (or `success: False`). */
  | 'daemon-error'
  /** The command does not exist in this daemon generation. */
  | 'unsupported';

/** All codes, for exhaustive tests and schema building. */
export const DAEMON_ERROR_CODES: readonly DaemonErrorCode[] = [
  'refused',
  'reset',
  'timeout',
  'aborted',
  'closed',
  'garbage',
  'oversized',
  'refused-opcode',
  'wrong-generation',
  'daemon-error',
  'unsupported',
];

/** Options of {@link DaemonError}: the standard `cause`, plus the offending opcode for `refused-opcode`. */
export interface DaemonErrorOptions {
  cause?: unknown;
  /** For `refused-opcode`: the pickletools name of the opcode, e.g. `'GLOBAL'`. */
  opcode?: string;
}

/** A failure talking to the Luna daemon. `instanceof DaemonError` and `.code` both work. */
export class DaemonError extends Error {
  override readonly name = 'DaemonError';
  readonly code: DaemonErrorCode;
  /** For `refused-opcode`: the refused opcode's name. */
  readonly opcode: string | undefined;

  constructor(code: DaemonErrorCode, message: string, options: DaemonErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.opcode = options.opcode;
  }
}

/** True when `e` is a {@link DaemonError}, optionally with one of `codes`. */
export function isDaemonError(e: unknown, ...codes: DaemonErrorCode[]): e is DaemonError {
  return e instanceof DaemonError && (codes.length === 0 || codes.includes(e.code));
}

/**
 * Map a Node socket error to a {@link DaemonError} with a message a person can act on.
 * Errors that are already `DaemonError`s pass through unchanged. `connected` says whether the TCP
 * connect had completed.
 */
export function fromSocketError(err: unknown, host: string, port: number, connected = false): DaemonError {
  if (err instanceof DaemonError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const where = `${host}:${port}`;
  switch (code) {
    case 'ECONNREFUSED':
      return new DaemonError('refused', `nothing is listening on ${where}`, { cause: err });
    case 'ECONNRESET':
      return new DaemonError('reset', `the connection to ${where} was reset by the peer`, { cause: err });
    case 'EPIPE':
      return new DaemonError('reset', `the connection to ${where} was closed while sending (broken pipe)`, {
        cause: err,
      });
    case 'ETIMEDOUT':
      return new DaemonError('timeout', `connecting to ${where} timed out`, { cause: err });
    default: {
      const text = err instanceof Error ? err.message : String(err);
      // After the connect, any other socket error means the connection broke; before it, other
      // errno values (EHOSTUNREACH, EADDRNOTAVAIL, ENOTFOUND …) all mean "could not reach it".
      return connected
        ? new DaemonError('reset', `the connection to ${where} failed: ${text}`, { cause: err })
        : new DaemonError('refused', `could not connect to ${where}: ${text}`, { cause: err });
    }
  }
}
