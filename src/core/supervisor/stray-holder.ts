import { probeGeneration } from '../daemon/generation-probe.js';
import { findPortOwner, type PortOwner } from './port-owner.js';
import { killTree, signalPid, waitForPidExit } from './processes.js';

/**
 * A process that still answers on the daemon port after the daemon exited: typically a launcher's
 * child in its own session, which the process-group sweep cannot reach (docs/daemon-protocol.md §9.5).
 * Luna Tray names it by PID instead of reporting "stopped", and a Stop ends it.
 */

/** Who still answers on `port` after the daemon (`daemonPid`) exited; null when nobody does. */
export async function findStrayHolder(
  host: string,
  port: number,
  daemonPid: number,
): Promise<{ owner: PortOwner | null } | null> {
  const p = await probeGeneration({ host, port, timeoutMs: 500 });
  if (p.generation === 'none') return null;
  const owner = await findPortOwner(port, host);
  if (owner && owner.pid === daemonPid) return null;
  return { owner };
}

/** The report: the exit, who holds the port, and how to end it. */
export function strayHolderMessage(exitText: string, owner: PortOwner | null, port: number): string {
  const who = owner ? `PID ${owner.pid} (${owner.name})` : 'another process';
  return `${exitText}, but ${who} still holds port ${port}: a stray left behind by the daemon command. Stop it with Stop${owner ? ` (or kill PID ${owner.pid})` : ''}.`;
}

/** SIGTERM, then after `graceMs` a SIGKILL of its tree; resolves once it is gone (or 5 s later). */
export async function endStray(pid: number, graceMs: number): Promise<void> {
  signalPid(pid, 'SIGTERM');
  if (await waitForPidExit(pid, graceMs)) return;
  await killTree(pid, 'SIGKILL');
  await waitForPidExit(pid, 5_000);
}
