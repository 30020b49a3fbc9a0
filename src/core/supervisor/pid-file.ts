import { readFile, rm } from 'node:fs/promises';

import { writeFileAtomicSync } from '../util/atomic-write.js';

import { isPidAlive, processStartTime } from './processes.js';

/** What we record about the daemon we spawned, so a later supervisor can prove it is ours. */
export interface PidRecord {
  pid: number;
  /** Process start time (see `processStartTime`): guards against PID reuse. */
  startTime: string | null;
  command: string;
  port: number;
  startedAt: number;
}

/** The daemon PID file (docs/daemon-protocol.md §15 problem 5: the original launchers recorded no PID). */
export class PidFile {
  constructor(readonly path: string) {}

  /** Atomic (complete or not at all): a half-written record would lose track of a living daemon. */
  async write(record: PidRecord): Promise<void> {
    writeFileAtomicSync(this.path, JSON.stringify(record));
  }

  async read(): Promise<PidRecord | null> {
    try {
      const v = JSON.parse(await readFile(this.path, 'utf8')) as Partial<PidRecord>;
      if (typeof v.pid !== 'number' || !Number.isInteger(v.pid) || v.pid <= 0) return null;
      return {
        pid: v.pid,
        startTime: typeof v.startTime === 'string' ? v.startTime : null,
        command: String(v.command ?? ''),
        port: Number(v.port ?? 0),
        startedAt: Number(v.startedAt ?? 0),
      };
    } catch {
      return null;
    }
  }

  async remove(): Promise<void> {
    await rm(this.path, { force: true });
  }

  /**
   * The recorded process if it is still alive AND provably the same process (same start time).
   * A stale file (dead PID, or a PID reused by another program) is removed and `null` returned.
   */
  async livingOrphan(): Promise<PidRecord | null> {
    const rec = await this.read();
    if (!rec) return null;
    if (isPidAlive(rec.pid)) {
      const start = await processStartTime(rec.pid);
      if (rec.startTime === null || start === rec.startTime) return rec;
    }
    await this.remove();
    return null;
  }
}
