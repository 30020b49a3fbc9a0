// `luna-tray diagnose` and the panel's "Save diagnostics": one .tar.gz with what a bug report needs
// (docs/diagnostics.md). The running server builds it with its live state; without one the CLI
// builds it from the data directory alone. Secrets are removed by redact.ts before anything is packed.
import { spawn } from 'node:child_process';
import { open, readdir, stat } from 'node:fs/promises';
import { arch, release, type as osType, platform } from 'node:os';
import { join } from 'node:path';

import type { GpuReport } from '../../shared/gpu.js';
import { settingsForDaemon, type Settings } from '../../shared/settings-schema.js';
import type { DaemonSnapshot } from '../../shared/snapshot.js';
import { readToken } from '../control/auth.js';
import { resolveLaunchProfile } from '../settings/launch-profile.js';
import { DEFAULT_DAEMON_ID, daemonPaths } from '../supervisor/daemon-paths.js';
import { PidFile } from '../supervisor/pid-file.js';
import { findPortOwner, isPortFree, type PortOwner } from '../supervisor/port-owner.js';
import { isPidAlive } from '../supervisor/processes.js';
import { redactSettings, scrub, secretsOf } from './redact.js';
import { tarGz, type TarEntry } from './tar.js';

/** The tail of each log file that goes in (the newest lines matter; the archive stays small). */
const LOG_TAIL_BYTES = 2 * 1024 * 1024;

/** One status transition, as the core remembers it. */
export interface StatusHistoryEntry {
  at: number;
  daemon: string;
  state: string;
  message?: string;
}

/** What only a running server knows. */
export interface LiveState {
  snapshot: DaemonSnapshot;
  statusHistory: readonly StatusHistoryEntry[];
  gpu: () => Promise<GpuReport>;
  /** The resolved launch command (the daemon's Python), from the supervisor's pre-flight. */
  python?: string;
}

export interface DiagnosticsInput {
  dataDir: string;
  settings: Settings;
  version: string;
  simulatorPath: string;
  /** The control port this Luna Tray (or the one asked about) uses. */
  controlPort: number;
  live?: LiveState;
  /** GPU reading without a server (tests: a fake nvidia-smi). */
  gpu?: () => Promise<GpuReport>;
  now?: () => number;
}

/** The archive's file name: `luna-tray-diagnostics-<UTC time>.tar.gz`. */
export function diagnosticsFileName(at: number): string {
  return `luna-tray-diagnostics-${new Date(at).toISOString().replace(/[:.]/g, '-')}.tar.gz`;
}

/** First line of `cmd --version` (Python 2 printed it on stderr), or why not. */
function versionOf(cmd: string): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    const child = spawn(cmd, ['--version'], { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve(`not available: ${e.message}`);
    });
    child.on('close', () => {
      clearTimeout(timer);
      resolve(out.trim().split('\n')[0] ?? '');
    });
  });
}

async function tail(path: string, bytes: number): Promise<Buffer> {
  const f = await open(path, 'r');
  try {
    const { size } = await f.stat();
    const start = Math.max(0, size - bytes);
    const buf = Buffer.alloc(size - start);
    await f.read(buf, 0, buf.length, start);
    return buf;
  } finally {
    await f.close();
  }
}

async function portState(
  port: number,
  host: string,
): Promise<{
  port: number;
  listening: boolean;
  holder: PortOwner | null;
}> {
  if (port === 0) return { port, listening: false, holder: null };
  const listening = !(await isPortFree(port, host).catch(() => true));
  return { port, listening, holder: listening ? await findPortOwner(port, host) : null };
}

async function pidState(dataDir: string): Promise<unknown> {
  const rec = await new PidFile(daemonPaths(dataDir, DEFAULT_DAEMON_ID).pidFile).read();
  return rec ? { ...rec, alive: isPidAlive(rec.pid) } : null;
}

const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;

/** Build the archive; every file is scrubbed of the token, env values and webhook secrets. */
export async function buildDiagnostics(
  input: DiagnosticsInput,
): Promise<{ fileName: string; archive: Buffer }> {
  const at = (input.now ?? Date.now)();
  const { settings, dataDir, live } = input;
  const token = await readToken(dataDir).catch(() => null);
  const secrets = secretsOf(settings, token);
  // The first daemon's launch and ports (docs/settings.md, "daemons").
  const one = settingsForDaemon(settings)!;
  const d = one.daemon;

  const profile = resolveLaunchProfile(one, { dataDir, simulatorPath: input.simulatorPath });
  const python = live?.python ?? (profile.ok ? profile.command : null);
  const versions = {
    lunaTray: input.version,
    node: process.version,
    electron: process.versions.electron ?? null,
    python: python ? { command: python, version: await versionOf(python) } : null,
    os: { platform: platform(), type: osType(), release: release(), arch: arch() },
  };

  const gpuRead = live?.gpu ?? input.gpu;
  const gpu = gpuRead ? await gpuRead().catch((e: unknown) => ({ error: String(e) })) : null;

  const state = {
    serve: live
      ? { running: true, pid: process.pid, controlPort: input.controlPort }
      : { running: false, controlPort: await portState(input.controlPort, '127.0.0.1') },
    daemons: [
      {
        id: DEFAULT_DAEMON_ID,
        host: d.host,
        protocolPort: await portState(d.port, d.host),
        feedPort: await portState(d.wsPort, d.host),
        pidFile: await pidState(dataDir),
        launch: profile.ok
          ? { ok: true, description: profile.description, notes: profile.notes }
          : { ok: false, kind: profile.kind, message: profile.message },
      },
    ],
  };

  const history = live
    ? { snapshot: live.snapshot, transitions: live.statusHistory }
    : {
        note: 'Luna Tray was not running: no live status. The log files hold the supervisor events ([luna-tray] lines).',
        lastExitFromPidFile: state.daemons[0]!.pidFile,
      };

  const root = diagnosticsFileName(at).replace(/\.tar\.gz$/, '');
  const files: TarEntry[] = [
    {
      name: 'summary.json',
      data: json({
        createdAt: new Date(at).toISOString(),
        source: live ? 'running Luna Tray' : 'data directory (Luna Tray not running)',
        dataDir,
        redacted: 'control token, every env value, webhook URL credentials and query values, header values',
      }),
    },
    { name: 'versions.json', data: json(versions) },
    { name: 'settings.json', data: json(redactSettings(settings)) },
    { name: 'gpu.json', data: json(gpu) },
    { name: 'state.json', data: json(state) },
    { name: 'status-history.json', data: json(history) },
  ];
  const logDir = join(dataDir, 'logs');
  const logNames = await readdir(logDir).catch(() => [] as string[]);
  for (const name of logNames.sort()) {
    const path = join(logDir, name);
    if (
      !(await stat(path).then(
        (s) => s.isFile(),
        () => false,
      ))
    )
      continue;
    files.push({ name: `logs/${name}`, data: await tail(path, LOG_TAIL_BYTES) });
  }
  const mtime = Math.floor(at / 1000);
  const entries = files.map((f) => ({
    name: `${root}/${f.name}`,
    data: scrub(typeof f.data === 'string' ? f.data : f.data.toString('utf8'), secrets),
    mtime,
  }));
  return { fileName: `${root}.tar.gz`, archive: tarGz(entries) };
}
