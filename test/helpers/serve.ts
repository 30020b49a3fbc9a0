import { spawn, spawnSync, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

import getPort from 'get-port';

import { exited, track, waitFor } from './processes.js';

export const CLI = fileURLToPath(new URL('../../out/cli/index.js', import.meta.url));

/** A temp data dir with free ports for the control server and the (simulated) daemon. */
export interface ServeEnv {
  dataDir: string;
  port: number;
  daemonPort: number;
  daemonWsPort: number;
  cleanup: () => void;
}

export async function serveEnv(extraConfig: [string, string][] = []): Promise<ServeEnv> {
  const dataDir = mkdtempSync(join(tmpdir(), 'luna-serve-'));
  const env: ServeEnv = {
    dataDir,
    port: await getPort(),
    daemonPort: await getPort(),
    daemonWsPort: await getPort(),
    cleanup: () => {
      killRecordedDaemon(dataDir);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  for (const [k, v] of [
    ['daemon.port', String(env.daemonPort)],
    ['daemon.wsPort', String(env.daemonWsPort)],
    ['daemon.restart.initialDelayMs', '200'],
    ['daemon.health.intervalSec', '0.5'],
    // Skip the simulator's ~1 s start-up delay (importing torch) for speed; a test's own daemon.args wins.
    ['daemon.args', '["--startup-delay", "0"]'],
    ...extraConfig,
  ] as [string, string][]) {
    const r = cli(env, ['config', 'set', k, v]);
    if (r.status !== 0) throw new Error(`config set ${k} failed: ${r.stderr}`);
  }
  return env;
}

/**
 * The daemon a `serve` spawned lives in its own process group, so killing `serve` does not reach it:
 * kill the PID recorded in the data dir's PID file (and its group), whatever state the test left.
 */
export function killRecordedDaemon(dataDir: string, pidFile = 'daemon.pid.json'): void {
  let pid: number | undefined;
  try {
    pid = (JSON.parse(readFileSync(join(dataDir, pidFile), 'utf8')) as { pid?: number }).pid;
  } catch {
    return;
  }
  if (!pid) return;
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** Run the CLI synchronously against an environment. */
export function cli(
  env: Pick<ServeEnv, 'dataDir' | 'port'>,
  args: string[],
  timeoutMs = 60_000,
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(
    process.execPath,
    [CLI, '--data-dir', env.dataDir, '--port', String(env.port), ...args],
    {
      encoding: 'utf8',
      timeout: timeoutMs,
      env: { ...process.env, NO_COLOR: '1' },
    },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Run the CLI asynchronously (for commands that run while a test waits on something else). */
export function cliAsync(
  env: Pick<ServeEnv, 'dataDir' | 'port'>,
  args: string[],
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return runCli(['--data-dir', env.dataDir, '--port', String(env.port), ...args]);
}

/** Run the CLI with exactly `argv` (and `extraEnv` over the environment); resolves when it exits. */
export function runCli(
  argv: string[],
  extraEnv: Record<string, string> = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...argv], {
      env: { ...process.env, NO_COLOR: '1', ...extraEnv },
    });
    track(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

export interface ServeHandle {
  child: ChildProcess;
  pid: number;
  /** The first panel URL (one-time code). */
  panelUrl: string;
  output: () => string;
  token: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Spawn `luna-tray ARGS` against an environment without waiting for anything; `output()` is stdout
 * and stderr so far. `wrapper` runs it through another program (e.g.
 * `['bash', '-c', 'ulimit -f 8 && exec "$0" "$@"']`).
 */
export function spawnCli(
  env: Pick<ServeEnv, 'dataDir' | 'port'>,
  args: string[],
  wrapper: string[] = [],
): { child: ChildProcessByStdio<null, Readable, Readable>; output: () => string } {
  const argv = [process.execPath, CLI, '--data-dir', env.dataDir, '--port', String(env.port), ...args];
  const [command, ...rest] = [...wrapper, ...argv];
  const child = spawn(command!, rest, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  track(child.pid);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

/** Spawn `luna-tray serve [args]` without waiting for anything (see `spawnCli`). */
export function spawnServe(
  env: Pick<ServeEnv, 'dataDir' | 'port'>,
  args: string[],
  wrapper: string[] = [],
): { child: ChildProcessByStdio<null, Readable, Readable>; output: () => string } {
  return spawnCli(env, ['serve', ...args], wrapper);
}

/** Spawn `luna-tray serve [args]` and wait for its panel URL. */
export async function startServe(
  env: ServeEnv,
  args: string[] = ['--demo', '--no-open'],
): Promise<ServeHandle> {
  const { child, output } = spawnServe(env, args);
  const exit = exited(child);
  const panelUrl: string = await waitFor<string | undefined>(
    () => {
      if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}: ${output()}`);
      return /Panel: (http:\/\/\S+)/.exec(output())?.[1];
    },
    'the panel URL',
    20_000,
  );
  return {
    child,
    pid: child.pid!,
    panelUrl,
    output,
    token: () => readFileSync(join(env.dataDir, 'control-token'), 'utf8').trim(),
    exited: exit,
  };
}

/** Wait until `luna-tray status --json` reports the daemon running (and, if given, not `notPid`); its PID. */
export function runningDaemonPid(env: ServeEnv, timeoutMs = 30_000, notPid?: number): Promise<number> {
  return waitFor(
    async () => {
      const s = JSON.parse((await cliAsync(env, ['status', '--json'])).stdout) as {
        running: boolean;
        pid: number;
      };
      return s.running && s.pid !== notPid ? s.pid : undefined;
    },
    'the daemon running',
    timeoutMs,
  );
}

/**
 * A control-API call against a running `serve` with its bearer token; `body` (when given) is sent as
 * JSON. Resolves with the HTTP status and the parsed JSON reply.
 */
export async function controlCall(
  env: Pick<ServeEnv, 'port'>,
  serve: Pick<ServeHandle, 'token'>,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${env.port}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${serve.token()}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/**
 * A temp data dir whose settings hold the legacy CLIP/VAE split pair as simulators (`--legacy
 * --service-type clip|vae`) on free ports, both stopped until asked (docs/multi-daemon.md), and a
 * free control port. `cleanup` kills what each daemon's PID file names, then removes the directory.
 */
export async function splitPairEnv(): Promise<ServeEnv & { ports: { clip: number; vae: number } }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'luna-split-pair-'));
  const port = await getPort();
  const clip = await getPort({ exclude: [port] });
  const ports = { clip, vae: await getPort({ exclude: [port, clip] }) };
  const entry = (id: 'clip' | 'vae', name: string) => ({
    id,
    name,
    profile: 'simulator',
    // The split pair exists only in the legacy generation (its server.py takes --service-type).
    generation: 'legacy',
    port: ports[id],
    wsPort: 0,
    args: ['--legacy', '--service-type', id, '--startup-delay', '0'],
    autoStart: false,
    stopGraceSec: 3,
    killTimeoutSec: 1,
    restart: { initialDelayMs: 200 },
    health: { intervalSec: 0.5 },
  });
  const env = {
    dataDir,
    port,
    daemonPort: ports.clip,
    daemonWsPort: 0,
    ports,
    cleanup: () => {
      for (const id of ['clip', 'vae']) killRecordedDaemon(dataDir, `daemon-${id}.pid.json`);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  const r = cli(env, [
    'config',
    'set',
    'daemons',
    JSON.stringify([entry('clip', 'CLIP'), entry('vae', 'VAE')]),
  ]);
  if (r.status !== 0) throw new Error(`config set daemons failed: ${r.stderr}${r.stdout}`);
  return env;
}
