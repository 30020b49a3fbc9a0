import type { ExitRecord, FailureKind } from '../../shared/daemon-status.js';

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
 * Turn an exit before readiness into an actionable reason (STYLE.md §9.3). A port conflict gets a
 * generic message here; the supervisor names the held port and its owner (`port-conflict.ts`).
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
