import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

import treeKill from 'tree-kill';

/** True while a process with this PID exists. */
export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True while any process of the group led by `pgid` exists (Unix only). */
export function isGroupAlive(pgid: number): boolean {
  if (process.platform === 'win32') return false;
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Send a signal to a PID, ignoring "already gone". Returns whether it was delivered. */
export function signalPid(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** SIGKILL a whole process group (Unix), ignoring "already gone". */
export function killGroup(pgid: number): void {
  if (process.platform === 'win32') return;
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // No member left: nothing to do.
  }
}

/**
 * `tree-kill` wrapped in a promise (it has a callback API). Only numeric PIDs are passed (versions
 * before 1.2.2 had a command-injection flaw with strings). On Windows it runs `taskkill /T /F`.
 */
export function killTree(pid: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (!Number.isInteger(pid) || pid <= 0) return Promise.resolve();
  return new Promise((resolve) => treeKill(pid, signal, () => resolve()));
}

/** The parent PID of a process, or null when unknown (Linux: /proc; elsewhere `ps -o ppid=`). */
export async function parentPid(pid: number): Promise<number | null> {
  if (process.platform === 'linux') {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      return Number.isInteger(ppid) ? ppid : null;
    } catch {
      return null;
    }
  }
  if (process.platform === 'win32') return null;
  return new Promise((resolve) => {
    execFile('ps', ['-o', 'ppid=', '-p', String(pid)], { timeout: 2000 }, (error, stdout) => {
      const ppid = Number(stdout.trim());
      resolve(error || !Number.isInteger(ppid) ? null : ppid);
    });
  });
}

/** True when `ancestor` is `pid`'s parent, grandparent, … (bounded walk). Unknown → true (no false alarm). */
export async function isDescendantOf(pid: number, ancestor: number): Promise<boolean> {
  let cur: number | null = pid;
  for (let depth = 0; depth < 32 && cur !== null && cur > 1; depth++) {
    const parent: number | null = await parentPid(cur);
    if (parent === null) return depth === 0;
    if (parent === ancestor) return true;
    cur = parent;
  }
  return false;
}

/** Wait until `pid` has exited, polling; resolves `false` on timeout. */
export async function waitForPidExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isPidAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return true;
}

/**
 * An identity for a PID that survives PID reuse: the process start time. Linux: field 22 of
 * `/proc/<pid>/stat` (clock ticks since boot); elsewhere `ps -o lstart=`. `null` when unknown.
 */
export async function processStartTime(pid: number): Promise<string | null> {
  if (process.platform === 'linux') {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return fields[19] ?? null;
    } catch {
      return null;
    }
  }
  if (process.platform === 'win32') return null;
  return new Promise((resolve) => {
    execFile('ps', ['-o', 'lstart=', '-p', String(pid)], { timeout: 2000 }, (error, stdout) =>
      resolve(error ? null : stdout.trim() || null),
    );
  });
}

/** Linux defaults on every supported architecture: CLK_TCK = 100 and 4 KiB pages. */
const CLOCK_TICKS = 100;
const PAGE_BYTES = 4096;

/** CPU (percent of one core since the previous sample) and RSS of a process. */
export interface ProcessSample {
  cpuPercent: number;
  rssBytes: number;
}

/** Samples a process's CPU and memory; keep one sampler per PID (CPU % is a difference). */
export function createProcessSampler(pid: number): () => Promise<ProcessSample | null> {
  let last: { cpuSec: number; at: number } | null = null;
  return async () => {
    if (process.platform === 'linux') {
      try {
        // Synchronous on purpose: /proc reads never block, and the async form costs ~10 thread-pool
        // hops per sample — measurably more idle CPU than the reads themselves (bench: idle). One
        // file: `stat` has the resident set too (the same figure as `statm`'s second field).
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        // utime, stime and rss are fields 14, 15 and 24 (1-based), i.e. 11, 12 and 21 after the name.
        const cpuSec = (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
        const rssBytes = Number(f[21]) * PAGE_BYTES;
        if (!Number.isFinite(cpuSec) || !Number.isFinite(rssBytes)) return null;
        const now = Date.now();
        const cpuPercent = last ? Math.max(0, ((cpuSec - last.cpuSec) / ((now - last.at) / 1000)) * 100) : 0;
        last = { cpuSec, at: now };
        return { cpuPercent: Math.round(cpuPercent * 10) / 10, rssBytes };
      } catch {
        return null;
      }
    }
    if (process.platform === 'win32') return null;
    return new Promise((resolve) => {
      execFile('ps', ['-o', '%cpu=,rss=', '-p', String(pid)], { timeout: 2000 }, (error, stdout) => {
        if (error) return resolve(null);
        const [cpu, rssKb] = stdout.trim().split(/\s+/).map(Number);
        resolve({ cpuPercent: cpu ?? 0, rssBytes: (rssKb ?? 0) * 1024 });
      });
    });
  };
}
