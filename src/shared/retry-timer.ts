/**
 * One reconnect timer with capped exponential backoff, shared by every reconnecting client (the
 * CLI's `logs -f`, the panel's HTTP bridge). A lost connection is usually reported twice (`error`
 * then `close`); scheduling while a retry is pending does nothing, so reconnects never multiply.
 */
export interface RetryTimer {
  /** Run `fn` after the current delay, unless a retry is already pending (then returns false). */
  schedule(fn: () => void): boolean;
  /** A connection succeeded: the next outage starts again from the initial delay. */
  reset(): void;
  /** Drop the pending retry, if any (on shutdown). */
  cancel(): void;
  readonly pending: boolean;
}

export interface RetryTimerOptions {
  initialMs: number;
  maxMs: number;
  setTimeout?: (fn: () => void, ms: number) => unknown;
  clearTimeout?: (handle: unknown) => void;
}

export function createRetryTimer(opts: RetryTimerOptions): RetryTimer {
  const setT = opts.setTimeout ?? ((fn: () => void, ms: number) => globalThis.setTimeout(fn, ms));
  const clearT =
    opts.clearTimeout ?? ((h: unknown) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>));
  let delay = opts.initialMs;
  let handle: unknown = null;
  return {
    schedule(fn) {
      if (handle !== null) return false;
      const ms = delay;
      delay = Math.min(opts.maxMs, delay * 2);
      handle = setT(() => {
        handle = null;
        fn();
      }, ms);
      return true;
    },
    reset() {
      delay = opts.initialMs;
    },
    cancel() {
      if (handle !== null) clearT(handle);
      handle = null;
    },
    get pending() {
      return handle !== null;
    },
  };
}
