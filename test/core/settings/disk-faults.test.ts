/**
 * Disk faults while saving (docs/security.md §5): every atomic write (settings, control token,
 * PID file) must notice a short write or an I/O error and leave the old file intact. The faults
 * are injected into node:fs (a short write followed by ENOSPC, as a nearly full disk does; EIO on
 * fsync); the read-only case uses a real 0444 file (a mode-bit check, so it holds for root too).
 */
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type * as fs from 'node:fs';

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { loadOrCreateToken } from '../../../src/core/control/auth.js';
import { JsonFileSettingsStore } from '../../../src/core/settings/json-file-settings-store.js';
import { PidFile } from '../../../src/core/supervisor/pid-file.js';
import { DiskWriteError, writeFileAtomicSync } from '../../../src/core/util/atomic-write.js';
import { firstDaemon } from '../../../src/shared/settings-schema.js';

/**
 * The injected fault: `short` accepts `budget` more bytes (at most `chunk` per call), then fails
 * with ENOSPC.
 */
type FaultMode = 'none' | 'short' | 'eio-fsync';
const fault = vi.hoisted((): { mode: FaultMode; budget: number; chunk: number } => ({
  mode: 'none',
  budget: 0,
  chunk: Infinity,
}));

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof fs>();
  const writeSync = ((fd: number, data: string | NodeJS.ArrayBufferView, ...rest: unknown[]) => {
    if (fault.mode !== 'short') return (real.writeSync as (...a: unknown[]) => number)(fd, data, ...rest);
    let bytes: Buffer;
    if (typeof data === 'string') bytes = Buffer.from(data, 'utf8');
    else {
      const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      const offset = typeof rest[0] === 'number' ? rest[0] : 0;
      const length = typeof rest[1] === 'number' ? rest[1] : view.length - offset;
      bytes = view.subarray(offset, offset + length);
    }
    if (fault.budget <= 0)
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    // A nearly full disk: the kernel takes what fits and reports the short count.
    const n = Math.min(bytes.length, fault.budget, fault.chunk);
    fault.budget -= n;
    return real.writeSync(fd, bytes, 0, n);
  }) as typeof real.writeSync;
  const fsyncSync = ((fd: number) => {
    if (fault.mode === 'eio-fsync') throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
    real.fsyncSync(fd);
  }) as typeof real.fsyncSync;
  return { ...real, default: { ...real, writeSync, fsyncSync }, writeSync, fsyncSync };
});

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'luna-disk-'));
  fault.mode = 'none';
  fault.chunk = Infinity;
});
afterEach(() => {
  fault.mode = 'none';
  rmSync(dir, { recursive: true, force: true });
});

/** No temporary file may be left behind after a failed write. */
const leftovers = () => readdirSync(dir).filter((f) => f.includes('.tmp'));

describe('settings on a nearly full disk', () => {
  it('a short write (4096 bytes fit) → update fails with a save error, settings.json keeps its old content', () => {
    const path = join(dir, 'settings.json');
    const store = new JsonFileSettingsStore(path);
    expect(store.update({ daemon: { port: 19400 } }).ok).toBe(true);
    const before = readFileSync(path, 'utf8');
    fault.mode = 'short';
    fault.budget = 4096;
    const r = store.update({ daemon: { env: { BIG: 'x'.repeat(20_000) } } });
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.saveError).toMatch(/ENOSPC|no space/);
    fault.mode = 'none';
    expect(readFileSync(path, 'utf8')).toBe(before);
    expect(leftovers()).toEqual([]);
    expect(firstDaemon(store.get()).port).toBe(19400);
    expect(firstDaemon(store.get()).env).toEqual({});
    // The next start reads the old, complete settings (not defaults).
    expect(firstDaemon(new JsonFileSettingsStore(path).get()).port).toBe(19400);
  });

  it('EIO on fsync → a save error (not "invalid input" issues alone), the old file intact', () => {
    const path = join(dir, 'settings.json');
    const store = new JsonFileSettingsStore(path);
    expect(store.update({ daemon: { port: 19401 } }).ok).toBe(true);
    const before = readFileSync(path, 'utf8');
    fault.mode = 'eio-fsync';
    const r = store.update({ daemon: { port: 19402 } });
    expect(r).toMatchObject({ ok: false, saveError: expect.stringMatching(/EIO/) });
    fault.mode = 'none';
    expect(readFileSync(path, 'utf8')).toBe(before);
    expect(leftovers()).toEqual([]);
  });

  it('a read-only settings.json (mode 0444) is not silently replaced', () => {
    const path = join(dir, 'settings.json');
    const store = new JsonFileSettingsStore(path);
    expect(store.update({ daemon: { port: 19403 } }).ok).toBe(true);
    const before = readFileSync(path, 'utf8');
    chmodSync(path, 0o444);
    const r = store.update({ daemon: { port: 19404 } });
    expect(r).toMatchObject({ ok: false, saveError: expect.stringMatching(/read-only/) });
    expect(readFileSync(path, 'utf8')).toBe(before);
    expect(firstDaemon(store.get()).port).toBe(19403);
  });
});

describe('the other atomic writes: PID file and control token', () => {
  it('a short write of the PID file rejects and keeps the previous record', async () => {
    const pid = new PidFile(join(dir, 'daemon.pid.json'));
    const first = { pid: 4242, startTime: '1', command: 'python', port: 19283, startedAt: 1 };
    await pid.write(first);
    fault.mode = 'short';
    fault.budget = 10;
    await expect(pid.write({ ...first, pid: 5353, command: 'x'.repeat(5000) })).rejects.toBeInstanceOf(
      DiskWriteError,
    );
    fault.mode = 'none';
    expect(await pid.read()).toEqual(first);
    expect(leftovers()).toEqual([]);
  });

  it('a token that cannot be written completely is never left half-written on disk', async () => {
    fault.mode = 'short';
    fault.budget = 20;
    await expect(loadOrCreateToken(dir)).rejects.toBeInstanceOf(DiskWriteError);
    fault.mode = 'none';
    expect(readdirSync(dir)).toEqual([]);
    const token = await loadOrCreateToken(dir);
    expect(readFileSync(join(dir, 'control-token'), 'utf8')).toBe(`${token}\n`);
  });

  it('writeFileAtomicSync: every byte is written even when the OS takes them in small pieces', () => {
    const path = join(dir, 'f');
    writeFileSync(path, 'old');
    fault.mode = 'short';
    fault.budget = 1_000_000;
    fault.chunk = 4096;
    const text = 'é'.repeat(100_000);
    writeFileAtomicSync(path, text);
    fault.mode = 'none';
    expect(readFileSync(path, 'utf8')).toBe(text);
  });
});
