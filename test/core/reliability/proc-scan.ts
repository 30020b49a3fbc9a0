import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

import { pythonExecutable } from '../../helpers/python.js';

let realPython: string | undefined;

/**
 * The interpreter's real path (`sys.executable`), not a shim: a pyenv shim is a bash script whose
 * subshells carry the same command line for a moment, which a process-table scan would count as
 * extra daemons.
 */
export function realPythonExecutable(): string {
  realPython ??= execFileSync(pythonExecutable(), ['-c', 'import sys; print(sys.executable)'], {
    encoding: 'utf8',
  }).trim();
  return realPython;
}

/** A process from /proc whose command line matches. */
export interface ScannedProcess {
  pid: number;
  argv: string[];
  /** The `State:` letter of /proc/<pid>/status (R, S, T = stopped, Z = zombie …). */
  state: string;
  ppid: number;
}

/**
 * Every live process whose argv contains `needle` (an argv element ending with it) and the pair
 * `--port <port>`: the simulators (or fixtures) started for THIS test's port. Linux only (/proc).
 * Shell processes are skipped (see below).
 * Zombies are not counted: they hold no port and are reaped by their parent.
 */
export function processesOnPort(needle: string, port: number): ScannedProcess[] {
  const out: ScannedProcess[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    } catch {
      continue; // exited while we looked
    }
    if (!argv.some((a) => a.endsWith(needle))) continue;
    // A pyenv shim is a bash script ending in `exec python3 …`; until then it and its command
    // substitution subshells carry the daemon's command line but are not daemons.
    if (/(?:^|\/)(?:ba|da)?sh$/.test(argv[0] ?? '')) continue;
    const i = argv.indexOf('--port');
    if (i < 0 || argv[i + 1] !== String(port)) continue;
    let state: string;
    let ppid: number;
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      state = /^State:\s+(\S)/m.exec(status)?.[1] ?? '?';
      ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    } catch {
      continue;
    }
    if (state === 'Z' || state === 'X') continue;
    out.push({ pid, argv, state, ppid });
  }
  return out;
}

/** The simulator processes started for `port`. */
export function simsOnPort(port: number): ScannedProcess[] {
  return processesOnPort('luna_daemon_sim.py', port);
}

/** SIGKILL every process in `list` (and its group when it leads one). */
export function killAll(list: readonly ScannedProcess[]): void {
  for (const p of list) {
    for (const target of [-p.pid, p.pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
  }
}

/** A small deterministic PRNG (mulberry32), so a failing chaos run can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
