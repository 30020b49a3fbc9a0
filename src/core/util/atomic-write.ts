import {
  closeSync,
  fstatSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';

/**
 * Atomic file writes for everything Luna Tray persists (settings, control token, PID file):
 * docs/security.md §5, "the disk is full". A crash or a full disk leaves the old file or the new one,
 * never a truncated mix.
 */

/** A write that did not reach the disk completely; the target file was left as it was. */
export class DiskWriteError extends Error {
  override readonly name = 'DiskWriteError';
  constructor(
    readonly path: string,
    readonly code: string,
    detail: string,
  ) {
    super(`could not write ${path}: ${detail}. The previous file (if any) is unchanged.`);
  }
}

function errnoOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'EIO';
}

/**
 * Write `data` to a new temporary file next to `path` (mode `mode`), checking that EVERY byte was
 * written (a nearly full disk or a file-size limit gives short writes: `writeSync` then returns
 * less, and ignoring that used to rename a 4096-byte stump over settings.json), fsync it and
 * compare its size. Returns the temporary path; on any failure it is removed and a
 * {@link DiskWriteError} thrown.
 */
export function writeTempFileSync(path: string, data: string | Uint8Array, mode = 0o600): string {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', mode);
    let offset = 0;
    while (offset < bytes.length) {
      const n = writeSync(fd, bytes, offset, bytes.length - offset);
      if (n <= 0) throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      offset += n;
    }
    fsyncSync(fd);
    const size = fstatSync(fd).size;
    if (size !== bytes.length)
      throw Object.assign(new Error(`wrote ${size} of ${bytes.length} bytes`), { code: 'EIO' });
    closeSync(fd);
    fd = undefined;
    return tmp;
  } catch (error) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // Closing can fail with the same I/O error; the temporary file is removed below anyway.
      }
    }
    removeQuietly(tmp);
    throw new DiskWriteError(path, errnoOf(error), (error as Error).message);
  }
}

/** Remove a file, ignoring a missing one (cleanup after a failure must not hide the failure). */
export function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone, or never created.
  }
}

/**
 * Write `data` to `path` atomically: a fully written, fsynced temporary file renamed over the
 * target. A target the user made read-only (no write bit in its mode; checked on the mode, not with
 * access(2), because root may write anything) is refused, never silently replaced.
 */
export function writeFileAtomicSync(path: string, data: string | Uint8Array, mode = 0o600): void {
  refuseReadOnly(path);
  const tmp = writeTempFileSync(path, data, mode);
  try {
    renameSync(tmp, path);
  } catch (error) {
    removeQuietly(tmp);
    throw new DiskWriteError(path, errnoOf(error), (error as Error).message);
  }
  syncDirectory(path);
}

/**
 * Like {@link writeFileAtomicSync}, but only when `path` does not exist yet (a hard link creates the
 * name atomically with the complete content). Returns false when the file already existed. File
 * systems without hard links fall back to a rename.
 */
export function createFileAtomicSync(path: string, data: string | Uint8Array, mode = 0o600): boolean {
  const tmp = writeTempFileSync(path, data, mode);
  try {
    linkSync(tmp, path);
    return true;
  } catch (error) {
    if (errnoOf(error) === 'EEXIST') return false;
    try {
      renameSync(tmp, path);
      return true;
    } catch (e) {
      throw new DiskWriteError(path, errnoOf(e), (e as Error).message);
    }
  } finally {
    removeQuietly(tmp);
    syncDirectory(path);
  }
}

function refuseReadOnly(path: string): void {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch {
    return; // No file yet (or unreadable metadata): nothing to protect.
  }
  if ((mode & 0o222) === 0) {
    throw new DiskWriteError(
      path,
      'EROFS',
      'the file is read-only (someone removed its write permission on purpose); make it writable to save changes',
    );
  }
}

/** Persist the rename itself (POSIX); Windows cannot open a directory for fsync. */
function syncDirectory(path: string): void {
  if (process.platform === 'win32') return;
  let fd: number | undefined;
  try {
    fd = openSync(dirname(path), 'r');
    fsyncSync(fd);
  } catch {
    // Best effort: the file's own content is already on disk.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
