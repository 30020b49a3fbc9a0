import { probeGeneration } from '../daemon/generation-probe.js';
import { isPortFree } from './port-owner.js';
import { waitForPidExit } from './processes.js';

/**
 * After `shutdown` the daemon replies at once and keeps answering `ping` for 0.5 s before it closes
 * its listeners and exits (docs/daemon-protocol.md §9.1). A start (or an adoption) in that window
 * sees a healthy daemon that is about to exit. These helpers tell the two apart and wait the old
 * process out.
 */

/** The window in which a daemon that was told to shut down still answers (§9.1). */
export const SHUTDOWN_ANSWER_WINDOW_MS = 500;
/** A second look this long after the first answer falls after any such window. */
export const CONFIRM_ANSWER_AFTER_MS = 750;

/** The daemon log lines that announce a shutdown (current and legacy generation, §9.1, §9.3). */
export function announcesShutdown(line: string): boolean {
  return line.includes('Shutdown command received') || line.includes('Shutdown requested via command');
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}

/**
 * A daemon answered a moment ago: does it still answer after the shutdown window? False means it
 * was shutting down (its listeners are closed by now) and must not be adopted.
 */
export async function stillAnswersAfterShutdownWindow(
  host: string,
  port: number,
  signal?: AbortSignal,
): Promise<boolean> {
  await sleep(CONFIRM_ANSWER_AFTER_MS, signal);
  if (signal?.aborted) return false;
  const p = await probeGeneration({ host, port, timeoutMs: 1_000, ...(signal ? { signal } : {}) });
  return p.generation === 'current' || p.generation === 'legacy';
}

/**
 * Wait until a daemon that is shutting down is gone: its process exited (when its PID is known) and
 * both ports are free, so a fresh daemon can bind them. False on timeout.
 */
export async function waitForDaemonGone(opts: {
  host: string;
  port: number;
  wsPort: number;
  pid: number | null;
  timeoutMs: number;
  signal?: AbortSignal;
}): Promise<boolean> {
  const deadline = performance.now() + opts.timeoutMs;
  if (opts.pid !== null && !(await waitForPidExit(opts.pid, opts.timeoutMs))) return false;
  for (;;) {
    if (opts.signal?.aborted) return false;
    const free =
      (await isPortFree(opts.port, opts.host)) &&
      (opts.wsPort <= 0 || (await isPortFree(opts.wsPort, opts.host)));
    if (free) return true;
    if (performance.now() >= deadline) return false;
    await sleep(50, opts.signal);
  }
}
