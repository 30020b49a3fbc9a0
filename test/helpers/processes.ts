import type { ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';

import { nodeProcessLauncher, type LaunchedProcess } from '../../src/core/supervisor/process-launcher.js';

/** True while a process with this PID exists (zombies included until reaped). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Wait until `pid` is gone, or throw after `timeoutMs`. */
export async function waitForPidGone(pid: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) throw new Error(`process ${pid} still alive after ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** Poll `fn` until it returns a truthy value, or throw with `what` after `timeoutMs`. */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  what: string,
  timeoutMs = 10_000,
  stepMs = 20,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last instanceof Error ? last.message : JSON.stringify(last)}` : ''}`,
      );
    }
    await sleep(stepMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Run `node -e script` as the product launches a daemon (piped output, its own process group),
 * tracked for clean-up.
 */
export function launchNodeScript(script: string): LaunchedProcess {
  const proc = nodeProcessLauncher.launch({
    command: process.execPath,
    args: ['-e', script],
    cwd: tmpdir(),
    env: { ...process.env } as Record<string, string>,
  });
  track(proc.pid);
  return proc;
}

/** Every PID a test spawned, so `killAllTracked` can clean up by PID whatever happened. */
const tracked = new Set<number>();

export function track(pid: number | undefined): void {
  if (pid) tracked.add(pid);
}

/** SIGKILL every tracked PID that is still alive (and its process group when it leads one). */
export function killAllTracked(): void {
  for (const pid of tracked) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // Already gone, or not a group leader: nothing to do.
      }
    }
    tracked.delete(pid);
  }
}

/** Resolve when the child emits `exit`. */
export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}
