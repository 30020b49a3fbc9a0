import type { Generation } from '../../shared/daemon-status.js';
import type { LogLevel } from '../../shared/log-entry.js';
import { probeGeneration, type ProbedGeneration } from '../daemon/generation-probe.js';
import type { PidFile } from './pid-file.js';
import { checkDaemonUser, findPortOwner } from './port-owner.js';
import { killGroup, killTree, waitForPidExit } from './processes.js';
import { stillAnswersAfterShutdownWindow, waitForDaemonGone } from './shutdown-window.js';

/**
 * Before a start: is there a daemon on this daemon's port to adopt instead (docs/daemon-protocol.md
 * §15 problems 1–2: be the single owner)? Our own from an earlier run, recognised by the daemon's
 * PID file, or one started outside Luna Tray by the same OS user. A daemon that answers only because
 * it is shutting down (§9.1) is waited out, not adopted.
 */

/** How long a start waits for a daemon that is shutting down to exit and free its ports. */
export const SHUTDOWN_WAIT_MS = 10_000;

export type AdoptionFinding =
  | { kind: 'adopt'; generation: Generation; pid: number | null; owned: boolean; what: string }
  /** Another OS user's daemon answers: never adopted (docs/security.md §2). */
  | { kind: 'refuse'; message: string }
  | { kind: 'aborted' }
  /** Nothing to adopt; what answers on the port now (`none` or `not-luna`). */
  | { kind: 'none'; probed: ProbedGeneration };

export interface AdoptionContext {
  host: string;
  port: number;
  wsPort: number;
  pidFile: PidFile;
  signal: AbortSignal;
  log: (level: LogLevel, text: string) => void;
}

export const ORPHAN_WHAT = (pid: number): string => `our daemon from an earlier run (PID ${pid})`;
export const EXTERNAL_WHAT = 'a Luna daemon started outside Luna Tray';

export async function findDaemonToAdopt(ctx: AdoptionContext): Promise<AdoptionFinding> {
  const { host, port, signal } = ctx;
  // 1. A daemon we started in an earlier run, recorded in our PID file: adopt it if it answers,
  //    otherwise it is provably ours and hung: kill it.
  const orphan = await ctx.pidFile.livingOrphan();
  if (orphan) {
    const probe = await probeGeneration({ host, port, timeoutMs: 1_500, signal });
    if (probe.generation === 'current' || probe.generation === 'legacy') {
      if (await answersBeyondShutdown(ctx, orphan.pid)) {
        return {
          kind: 'adopt',
          generation: probe.generation,
          pid: orphan.pid,
          owned: true,
          what: ORPHAN_WHAT(orphan.pid),
        };
      }
      if (signal.aborted) return { kind: 'aborted' };
      await ctx.pidFile.remove();
    } else {
      ctx.log('warning', `Our earlier daemon (PID ${orphan.pid}) is alive but does not answer: killing it.`);
      await killTree(orphan.pid);
      killGroup(orphan.pid);
      await waitForPidExit(orphan.pid, 5_000);
      await ctx.pidFile.remove();
    }
  }

  // 2. Who answers on the daemon port?
  const probe = await probeGeneration({ host, port, timeoutMs: 1_500, signal });
  if (signal.aborted) return { kind: 'aborted' };
  const probed = probe.generation;
  if (probed !== 'current' && probed !== 'legacy') return { kind: 'none', probed };
  const owner = await findPortOwner(port, host);
  if (await answersBeyondShutdown(ctx, owner?.pid ?? null)) {
    const user = await checkDaemonUser(port, host);
    if (user.refuse) return { kind: 'refuse', message: user.refuse };
    if (user.warning) ctx.log('warning', user.warning);
    return { kind: 'adopt', generation: probed, pid: owner?.pid ?? null, owned: false, what: EXTERNAL_WHAT };
  }
  if (signal.aborted) return { kind: 'aborted' };
  return { kind: 'none', probed: 'none' };
}

/**
 * A daemon answered: is it still there after the shutdown window (§9.1)? If not, it was told to
 * shut down a moment ago: wait until it has exited and freed its ports, so a fresh one can start.
 */
async function answersBeyondShutdown(ctx: AdoptionContext, pid: number | null): Promise<boolean> {
  const { host, port, wsPort, signal } = ctx;
  if (await stillAnswersAfterShutdownWindow(host, port, signal)) return true;
  if (signal.aborted) return false;
  ctx.log(
    'info',
    `The daemon on port ${port}${pid ? ` (PID ${pid})` : ''} is shutting down: waiting for it to exit, then starting a fresh one.`,
  );
  await waitForDaemonGone({ host, port, wsPort, pid, timeoutMs: SHUTDOWN_WAIT_MS, signal });
  return false;
}

/**
 * At start-up, without starting anything: a daemon that already answers (ours from an earlier run,
 * or one started outside Luna Tray), or null.
 */
export async function discoverRunning(
  ctx: Omit<AdoptionContext, 'signal' | 'log' | 'wsPort'>,
): Promise<{ generation: Generation; pid: number | null; owned: boolean; what: string } | null> {
  const probe = await probeGeneration({ host: ctx.host, port: ctx.port, timeoutMs: 1_500 });
  if (probe.generation !== 'current' && probe.generation !== 'legacy') return null;
  if (!(await stillAnswersAfterShutdownWindow(ctx.host, ctx.port))) return null;
  const orphan = await ctx.pidFile.livingOrphan();
  if (orphan)
    return { generation: probe.generation, pid: orphan.pid, owned: true, what: ORPHAN_WHAT(orphan.pid) };
  const owner = await findPortOwner(ctx.port, ctx.host);
  return { generation: probe.generation, pid: owner?.pid ?? null, owned: false, what: EXTERNAL_WHAT };
}
