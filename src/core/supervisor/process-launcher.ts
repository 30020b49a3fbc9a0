import { spawn, type ChildProcess } from 'node:child_process';

/** What to launch. */
export interface LaunchSpec {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
}

/** A launched child with its pipes. */
export interface LaunchedProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves once, with the exit code and signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The one `child_process.spawn` call site; an interface so tests can fake it. */
export interface ProcessLauncher {
  launch(spec: LaunchSpec): LaunchedProcess;
}

/** Thrown when the OS refuses to start the process at all (ENOENT, EACCES). */
export class LaunchError extends Error {
  override readonly name = 'LaunchError';
  constructor(
    message: string,
    readonly code: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Spawns with piped stdout/stderr. On Unix the child leads its own process group (`detached`), so
 * (1) a Ctrl+C in the supervisor's terminal does not reach the daemon — we stop it ourselves,
 * gracefully — and (2) the final clean-up can signal the whole group, reaching grandchildren that
 * a wrapper script left behind. On Windows `windowsHide` avoids a console window.
 */
export const nodeProcessLauncher: ProcessLauncher = {
  launch(spec) {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: process.platform !== 'win32',
      windowsHide: true,
    });
    if (child.pid === undefined) {
      // spawn reports ENOENT/EACCES asynchronously through 'error'; the pid is missing then.
      let error: NodeJS.ErrnoException | undefined;
      child.once('error', (e) => (error = e));
      throw new LaunchError(`could not start ${spec.command}`, error?.code);
    }
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    // An 'error' after a successful spawn (e.g. kill failing) must not crash the supervisor.
    child.on('error', () => undefined);
    return { pid: child.pid, child, exited };
  },
};
