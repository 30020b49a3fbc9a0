import type { ExitRecord, FailureKind } from '../../shared/daemon-status.js';
import type { LogLevel } from '../../shared/log-entry.js';
import type { DaemonConfig } from '../../shared/settings-schema.js';
import { heldDaemonPort, type DaemonPortKind } from './port-conflict.js';
import { decideAfterExit } from './restart-policy.js';
import type { StatusEvent } from './status-machine.js';

/**
 * How a daemon exit is put into words (docs/daemon-protocol.md §9.5 for the exit codes). Kept apart
 * from the supervisor so the tray, panel, CLI and logs all say the same thing.
 */

/** "exited with code 1" / "was killed by SIGKILL" / "Luna Tray killed it because it stopped answering". */
export function describeExit(record: ExitRecord): string {
  if (record.cause === 'unresponsive') {
    return `Luna Tray killed the daemon because it stopped answering${record.signal ? ` (${record.signal})` : ''}`;
  }
  if (record.signal) return `The daemon was killed by ${record.signal}`;
  if (record.code === null) return 'The daemon went away';
  return `The daemon exited with code ${record.code}`;
}

/** What an early exit is judged against. */
export interface EarlyExitContext {
  /** The interpreter or command that was run. */
  command: string;
}

/**
 * Turn an exit before readiness into an actionable reason (docs/daemon-protocol.md §3.3, §3.8). A port
 * conflict gets a generic message here; the supervisor names the held port and its owner
 * (`port-conflict.ts`).
 */
export function classifyEarlyExit(
  exit: ExitRecord,
  ctx: EarlyExitContext,
): { kind: FailureKind; message: string } {
  const tail = exit.stderrTail.join('\n');
  const last = exit.stderrTail
    .filter((l) => l.trim())
    .slice(-3)
    .join(' | ');
  const suffix = last ? ` Last output: ${last}` : '';
  if (/No module named ['"]?comfy['"]?/.test(tail)) {
    return {
      kind: 'start-failed',
      message: `${describeExit(exit)} before it was ready: ComfyUI is not importable (No module named 'comfy'). Set comfyui.path to your ComfyUI folder so PYTHONPATH points at it.`,
    };
  }
  if (/Address already in use|WinError 10048|Errno 98/.test(tail)) {
    return {
      kind: 'port-conflict',
      message: `${describeExit(exit)} before it was ready: a port it binds is already in use.${suffix}`,
    };
  }
  if (/No module named ['"]?torch['"]?/.test(tail)) {
    return {
      kind: 'start-failed',
      message:
        `${describeExit(exit)} before it was ready: PyTorch is not installed in the Python that ran it (${ctx.command}). ` +
        'Install it there, or point Luna Tray at the Python that has it, usually ComfyUI’s own ' +
        '(venv, .venv or python_embeded): `luna-tray config set daemon.command /path/to/python`.' +
        suffix,
    };
  }
  return { kind: 'start-failed', message: `${describeExit(exit)} before it was ready.${suffix}` };
}

/**
 * An early exit in words, naming the held port and its owner when the daemon died of "Address
 * already in use" and a port is still held (`port-conflict.ts`).
 */
export async function explainEarlyExit(
  exit: ExitRecord,
  ctx: EarlyExitContext & {
    host: string;
    /** The ports the daemon really binds (`effectiveDaemonPorts`). */
    ports: { port: number; wsPort: number };
    conflict: (port: number, kind: DaemonPortKind) => Promise<string>;
  },
): Promise<{ kind: FailureKind; message: string }> {
  const early = classifyEarlyExit(exit, ctx);
  if (early.kind !== 'port-conflict') return early;
  const held = await heldDaemonPort(ctx.host, ctx.ports.port, ctx.ports.wsPort);
  if (!held) return early;
  return {
    kind: early.kind,
    message: `${describeExit(exit)} before it was ready: ${await ctx.conflict(held.port, held.kind)}`,
  };
}

/** What to do after the daemon went away without being asked: the status, a log line, a restart. */
export interface ExitVerdict {
  event: StatusEvent;
  log: { level: LogLevel; text: string } | null;
  /** The quick-crash count from now on. */
  quickCrashes: number;
  /** Start again after this delay; null: stay as `event` says. */
  restartInMs: number | null;
}

/** Apply the daemon's restart policy (`restart-policy.ts`) to an unexpected exit, as data. */
export function judgeUnexpectedExit(o: {
  record: ExitRecord;
  policy: DaemonConfig['restart'];
  uptimeMs: number;
  quickCrashes: number;
  now: number;
}): ExitVerdict {
  const { record, policy } = o;
  const decision = decideAfterExit({
    policy,
    exitCode: record.code,
    uptimeMs: o.uptimeMs,
    quickCrashes: o.quickCrashes,
  });
  switch (decision.action) {
    case 'stay-stopped':
      if (decision.reason === 'external-shutdown') {
        return {
          event: { type: 'stopped', reason: 'external-shutdown', lastExit: record },
          log: {
            level: 'info',
            text: 'The daemon was shut down from outside Luna Tray (exit 0): not restarting.',
          },
          quickCrashes: o.quickCrashes,
          restartInMs: null,
        };
      }
      return {
        event: {
          type: 'failed',
          kind: 'crashed',
          message: `${describeExit(record)}; automatic restart is off (daemon.restart.enabled).`,
          lastExit: record,
        },
        log: null,
        quickCrashes: o.quickCrashes,
        restartInMs: null,
      };
    case 'give-up': {
      const message = `Crash loop: the daemon exited ${decision.quickCrashes} times in a row, each within ${policy.stableAfterSec} s of starting (last: ${describeExit(record)}). Fix the cause (see the logs), then start it again.`;
      return {
        event: { type: 'failed', kind: 'crash-loop', message, lastExit: record },
        log: { level: 'error', text: message },
        quickCrashes: decision.quickCrashes,
        restartInMs: null,
      };
    }
    case 'restart':
      return {
        event: {
          type: 'backoff',
          attempt: decision.quickCrashes,
          retryAt: o.now + decision.delayMs,
          message: describeExit(record),
          lastExit: record,
        },
        log: {
          level: 'warning',
          text: `Restarting in ${(decision.delayMs / 1000).toFixed(1)} s (attempt ${decision.quickCrashes}).`,
        },
        quickCrashes: decision.quickCrashes,
        restartInMs: decision.delayMs,
      };
  }
}
