import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import getPort from 'get-port';

import { pythonExecutable } from './python.js';
import { exited, killAllTracked, track, waitFor } from './processes.js';

export const SIM_PATH = fileURLToPath(new URL('../../sim/luna_daemon_sim.py', import.meta.url));

export interface SimHandle {
  child: ChildProcess;
  pid: number;
  port: number;
  wsPort: number;
  /** Everything the simulator wrote to stderr and stdout so far. */
  output: () => string;
  /** SIGKILL it (no-op when gone) and wait for the exit. */
  kill: () => Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface SimOptions {
  /** Extra simulator flags, e.g. `['--legacy']`. */
  args?: string[];
  /** Wait for the ready line (default true). */
  waitReady?: boolean;
  /** Use these ports instead of free ones. */
  port?: number;
  wsPort?: number;
  /**
   * Keep the simulator's real ~1 s start-up delay (importing torch). By default it is skipped with
   * `--startup-delay 0`, for speed; tests about start-up timing set this.
   */
  realStartup?: boolean;
}

/** Spawn the Luna daemon simulator on free ports and (by default) wait until it logs readiness. */
export async function spawnSim(opts: SimOptions = {}): Promise<SimHandle> {
  const port = opts.port ?? (await getPort());
  const wsPort = opts.wsPort ?? (await getPort());
  const child = spawn(
    pythonExecutable(),
    [
      SIM_PATH,
      '--port',
      String(port),
      '--ws-port',
      String(wsPort),
      ...(opts.realStartup ? [] : ['--startup-delay', '0']),
      ...(opts.args ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1' } },
  );
  track(child.pid);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exit = exited(child);
  const handle: SimHandle = {
    child,
    pid: child.pid!,
    port,
    wsPort,
    output: () => out,
    exited: exit,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exit;
    },
  };
  if (opts.waitReady !== false) {
    const legacy = opts.args?.includes('--legacy');
    await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`simulator exited ${child.exitCode}: ${out}`);
        return legacy ? out.includes('Ready to accept connections!') : out.includes('Luna Daemon Ready!');
      },
      'the simulator to be ready',
      15_000,
    );
  }
  return handle;
}

export { killAllTracked };
