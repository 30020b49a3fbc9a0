import type { LogLevel } from '../../shared/log-entry.js';
import { probeGeneration } from '../daemon/generation-probe.js';
import { findPortOwner } from './port-owner.js';
import { isGroupAlive, killGroup, killTree, signalPid, waitForPidExit } from './processes.js';
import { endStray } from './stray-holder.js';

/**
 * Stopping a daemon, one escalation step after another: protocol `shutdown` → grace → SIGTERM →
 * tree kill → process-group sweep → the port released (docs/daemon-protocol.md §9, §15 problem 3).
 * The coordinator learns of each escalation through `onEscalate` and of everything worth logging
 * through `log`; it decides what the outcome means for the status.
 */

/** After a stop, how long to wait for the port to stop answering. */
export const PORT_RELEASE_TIMEOUT_MS = 5_000;

/** What a stop needs: the daemon's address and timings, a way to say `shutdown`, and its reports. */
export interface StopContext {
  host: string;
  port: number;
  /** Grace after the protocol `shutdown` before SIGTERM (`daemon.stopGraceSec`). */
  graceMs: number;
  /** After SIGTERM, how long before the tree kill (`daemon.killTimeoutSec`). */
  killTimeoutMs: number;
  /** Send the protocol `shutdown`; rejects when the daemon did not take it. */
  shutdown: () => Promise<unknown>;
  onEscalate: (step: 'terminating' | 'killing') => void;
  log: (level: LogLevel, text: string) => void;
}

const monotonic = (): number => performance.now();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function sayShutdown(ctx: StopContext, what: string): Promise<void> {
  try {
    await ctx.shutdown();
    ctx.log('info', `Sent the protocol shutdown command${what}.`);
  } catch (e) {
    ctx.log('warning', `The shutdown command failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * A daemon we spawned (`exit` settles when it exited): protocol shutdown (when `graceful`) → grace →
 * SIGTERM → tree kill → sweep of its process group. Returns whether force was needed.
 */
export async function stopSpawned(
  ctx: StopContext,
  child: { pid: number; exit: Promise<unknown> },
  graceful: boolean,
): Promise<boolean> {
  const { pid } = child;
  const exitedWithin = (ms: number) =>
    Promise.race([child.exit.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
  let done = false;
  if (graceful) {
    await sayShutdown(ctx, '');
    done = await exitedWithin(ctx.graceMs);
  }
  let forced = false;
  if (!done && process.platform !== 'win32') {
    // Windows has no graceful signal: Node's kill() terminates at once, so go to the tree kill.
    forced = true;
    ctx.onEscalate('terminating');
    ctx.log('warning', `Sending SIGTERM to PID ${pid}.`);
    signalPid(pid, 'SIGTERM');
    done = await exitedWithin(ctx.killTimeoutMs);
  }
  if (!done) {
    forced = true;
    ctx.onEscalate('killing');
    ctx.log('warning', `Killing the process tree of PID ${pid}.`);
    await killTree(pid, 'SIGKILL');
    killGroup(pid);
    done = await exitedWithin(5_000);
  }
  // Descendants that outlived the daemon (a wrapper's grandchild) are still in its process group.
  await sweepGroup(pid, ctx.log);
  return forced;
}

/** An adopted daemon: protocol shutdown, then wait for the port to close; escalate by PID if we know it. */
export async function stopAdopted(ctx: StopContext, pid: number | null): Promise<boolean> {
  await sayShutdown(ctx, ' to the adopted daemon');
  if (await waitPortReleased(ctx.host, ctx.port, ctx.graceMs)) {
    if (pid) await waitForPidExit(pid, 2_000);
    return false;
  }
  if (!pid) return false;
  if (process.platform !== 'win32') {
    ctx.onEscalate('terminating');
    signalPid(pid, 'SIGTERM');
    if (await waitForPidExit(pid, ctx.killTimeoutMs)) return true;
  }
  ctx.onEscalate('killing');
  await killTree(pid, 'SIGKILL');
  await waitForPidExit(pid, 5_000);
  return true;
}

/** A hung child: SIGKILL its tree and group at once, wait for its exit, sweep the group. */
export async function killSpawned(
  child: { pid: number; exit: Promise<unknown> },
  log: StopContext['log'],
): Promise<void> {
  await killTree(child.pid, 'SIGKILL');
  killGroup(child.pid);
  await Promise.race([child.exit, sleep(5_000)]);
  await sweepGroup(child.pid, log);
}

/** Kill what is left of the daemon's process group (a wrapper's grandchildren). */
export async function sweepGroup(pgid: number, log: StopContext['log']): Promise<void> {
  if (!isGroupAlive(pgid)) return;
  log('warning', `Processes of the daemon's group ${pgid} outlived it: killing them.`);
  killGroup(pgid);
  const deadline = monotonic() + 2_000;
  while (isGroupAlive(pgid) && monotonic() < deadline) await sleep(20);
}

/** Poll until no Luna daemon answers on the port; false after `timeoutMs`. */
export async function waitPortReleased(host: string, port: number, timeoutMs: number): Promise<boolean> {
  const deadline = monotonic() + timeoutMs;
  for (;;) {
    const p = await probeGeneration({ host, port, timeoutMs: 500 });
    if (p.generation !== 'current' && p.generation !== 'legacy') return true;
    if (monotonic() >= deadline) return false;
    await sleep(50);
  }
}

/**
 * The last step of every stop: "stopped" only once the port no longer answers. Otherwise the
 * process that still holds it, by PID when it can be named and is not `daemonPid` (a later Stop
 * ends it as a stray).
 */
export async function confirmPortReleased(
  host: string,
  port: number,
  daemonPid: number | null,
): Promise<{ released: true } | { released: false; strayPid: number | null; message: string }> {
  if (await waitPortReleased(host, port, PORT_RELEASE_TIMEOUT_MS)) return { released: true };
  const owner = await findPortOwner(port, host);
  const strayPid = owner && owner.pid !== daemonPid ? owner.pid : null;
  const who = owner ? `PID ${owner.pid} (${owner.name})` : 'a process Luna Tray cannot name';
  const message = `The daemon was asked to stop but ${host}:${port} still answers, held by ${who}.${strayPid !== null ? ' Stop again to end it.' : ''}`;
  return { released: false, strayPid, message };
}

/** End a process that kept the daemon port after the daemon exited; the failure message, or null. */
export async function stopStrayHolder(
  ctx: Pick<StopContext, 'host' | 'port' | 'killTimeoutMs' | 'log'>,
  pid: number,
): Promise<string | null> {
  ctx.log('warning', `Stopping PID ${pid}, which kept port ${ctx.port} after the daemon exited.`);
  await endStray(pid, ctx.killTimeoutMs);
  if (!(await waitPortReleased(ctx.host, ctx.port, PORT_RELEASE_TIMEOUT_MS))) {
    return `PID ${pid} was stopped but ${ctx.host}:${ctx.port} still answers.`;
  }
  return null;
}
