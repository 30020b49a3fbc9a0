import type { ExitRecord, Generation } from '../../shared/daemon-status.js';
import type { DaemonConfig } from '../../shared/settings-schema.js';
import { probeGeneration } from '../daemon/generation-probe.js';
import { LunaClient } from '../daemon/luna-client.js';
import type { LogCapture } from '../logs/log-capture.js';
import type { LogStore } from '../logs/log-store.js';
import type { LaunchedProcess } from './process-launcher.js';
import { announcesShutdown } from './shutdown-window.js';

/**
 * A daemon process we spawned: its output captured, its exit record built, its readiness awaited.
 * The coordinator keeps the status; this module only reports the exit (through `exit`) and whether
 * the daemon announced a shutdown.
 */

/** How many lines of the daemon's last output an exit record keeps. */
const TAIL_LINES = 20;
/** How long to wait for the pipes to close after `exit` (a grandchild may hold them open). */
const PIPE_CLOSE_WAIT_MS = 100;
/** Readiness polling interval while starting. */
const READY_POLL_MS = 50;
/** Per-ping timeout while starting (the daemon may be busy importing torch). */
const READY_PING_TIMEOUT_MS = 1_000;

const monotonic = (): number => performance.now();

export interface OwnedChild {
  gen: number;
  proc: LaunchedProcess;
  /** Resolves once the exit record is complete (pipes drained, capture flushed). */
  exit: Promise<ExitRecord>;
  /** When it became ready, on the MONOTONIC clock (`performance.now()`), for its uptime. */
  readyAt: number | null;
  /** It logged that it received `shutdown` (from anyone): it is about to exit (§9.1). */
  shuttingDown: boolean;
  /** Luna Tray killed it because it stopped answering. */
  killedUnresponsive: boolean;
}

/** Wire a freshly spawned process: capture its output, build its exit record, watch for `shutdown`. */
export function wireChild(
  proc: LaunchedProcess,
  gen: number,
  o: { store: LogStore; capture: LogCapture; now: () => number },
): OwnedChild {
  // The exit record's output tail is read back from the store: this child's entries come after it.
  const outputFromSeq = o.store.lastSeq;
  if (proc.child.stdout) o.capture.attach(proc.child.stdout, 'stdout');
  if (proc.child.stderr) o.capture.attach(proc.child.stderr, 'stderr');
  // Listen for 'close' from spawn time: after a SIGKILL it fires in the same tick as 'exit', and a
  // listener added later would miss it and always wait the full fallback (bench: crash-detection).
  const closed = new Promise((r) => proc.child.once('close', r));
  const exit = proc.exited.then(async ({ code, signal }) => {
    const at = o.now();
    // Let the pipes drain so the last lines are in the record, but never wait on a grandchild
    // that inherited them.
    await Promise.race([closed, new Promise((r) => setTimeout(r, PIPE_CLOSE_WAIT_MS))]);
    o.capture.flush();
    return { code, signal, at, stderrTail: outputTail(o.store, outputFromSeq) } satisfies ExitRecord;
  });
  const child: OwnedChild = {
    gen,
    proc,
    exit,
    readyAt: null,
    shuttingDown: false,
    killedUnresponsive: false,
  };
  // Anyone may send `shutdown` (the ComfyUI panel, a script): the daemon says so in its log, and
  // a start in the next second must wait for the exit instead of calling it running (§9.1).
  const unsubscribe = o.store.subscribe((entries) => {
    if (!child.shuttingDown && entries.some((e) => e.source !== 'supervisor' && announcesShutdown(e.text)))
      child.shuttingDown = true;
  });
  void exit.then(unsubscribe);
  return child;
}

/**
 * The last {@link TAIL_LINES} lines the daemon printed after `fromSeq` (docs/daemon-protocol.md §15
 * problem 6), read back from the log store when the record is built: nothing is copied per line
 * while it runs.
 */
export function outputTail(store: LogStore, fromSeq: number): string[] {
  // Look further back only while the supervisor's own events crowd out the daemon's lines.
  for (let window = TAIL_LINES * 2; ; window *= 4) {
    const after = Math.max(fromSeq, store.lastSeq - window);
    const lines: string[] = [];
    for (const e of store.since(after).entries) {
      if (e.source !== 'supervisor') lines.push(...e.text.split('\n'));
    }
    if (lines.length >= TAIL_LINES || after === fromSeq || after < store.firstSeq)
      return lines.slice(-TAIL_LINES);
  }
}

export type Readiness =
  | { kind: 'ready'; generation: Generation }
  | { kind: 'exited'; exit: ExitRecord }
  | { kind: 'timeout' }
  | { kind: 'aborted' };

/**
 * Ready = a protocol ping round trip (never "port open", docs/daemon-protocol.md §4) within
 * `timeoutMs`; or the child exited, or the start was cancelled.
 */
export async function waitReady(
  child: OwnedChild,
  o: {
    host: string;
    port: number;
    generation: DaemonConfig['generation'];
    timeoutMs: number;
    store: LogStore;
    signal: AbortSignal;
  },
): Promise<Readiness> {
  const { signal } = o;
  const deadline = monotonic() + o.timeoutMs;
  let exited: ExitRecord | null = null;
  void child.exit.then((e) => (exited = e));
  // The ready log line is a hint to ping at once, never readiness by itself (docs/daemon-protocol.md §4).
  let wake: (() => void) | null = null;
  const unsubscribe = o.store.subscribe((entries) => {
    if (
      entries.some(
        (e) => e.text.includes('Luna Daemon Ready!') || e.text.includes('Ready to accept connections!'),
      )
    )
      wake?.();
  });
  // One listener each for the whole wait (not one per poll): an exit or an abort wakes the loop.
  void child.exit.then(() => wake?.());
  const onAbort = () => wake?.();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      if (signal.aborted) return { kind: 'aborted' };
      if (exited) return { kind: 'exited', exit: exited };
      if (monotonic() > deadline) return { kind: 'timeout' };
      const generation = await readinessProbe(o.host, o.port, o.generation, signal);
      if (generation) return { kind: 'ready', generation };
      if (exited) return { kind: 'exited', exit: exited };
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, READY_POLL_MS);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = null;
    }
  } finally {
    unsubscribe();
    signal.removeEventListener('abort', onAbort);
  }
}

/** One readiness attempt: the generation that answered a ping, or null. */
async function readinessProbe(
  host: string,
  port: number,
  setting: DaemonConfig['generation'],
  signal: AbortSignal,
): Promise<Generation | null> {
  if (setting === 'auto') {
    const p = await probeGeneration({ host, port, timeoutMs: READY_PING_TIMEOUT_MS, signal });
    return p.generation === 'current' || p.generation === 'legacy' ? p.generation : null;
  }
  try {
    await new LunaClient({ host, port, generation: setting }).ping({
      timeoutMs: READY_PING_TIMEOUT_MS,
      signal,
    });
    return setting;
  } catch {
    return null;
  }
}
