import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { open } from 'node:fs/promises';

import { afterEach, describe, expect, it, vi } from 'vitest';

import { createRotatingFile, RotatingFileError } from '../../../src/core/logs/rotating-file.js';
import { waitFor } from '../../helpers/processes.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'luna-rotating-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Count the write calls on Node's FileHandle (restore both spies when done). */
async function spyOnFileHandleWrites() {
  const probe = await open(join(tempDir(), 'probe'), 'w');
  const proto = Object.getPrototypeOf(probe) as { write: () => unknown; writev: () => unknown };
  await probe.close();
  return { writes: vi.spyOn(proto, 'write'), writevs: vi.spyOn(proto, 'writev') };
}

describe('createRotatingFile', () => {
  it('appends batches in order and creates the file with mode 0600', async () => {
    const path = join(tempDir(), 'logs', 'daemon.log');
    const file = createRotatingFile({ path });
    for (let i = 0; i < 50; i++) file.write(`line ${i}\n`);
    await file.flush();
    expect(readFileSync(path, 'utf8')).toBe(Array.from({ length: 50 }, (_, i) => `line ${i}\n`).join(''));
    if (process.platform !== 'win32') {
      const { statSync } = await import('node:fs');
      expect(statSync(path).mode & 0o777).toBe(0o600);
    }
    await file.close();
  });

  it('joins batches queued during a write, strings and bytes, in order and within maxBytes', async () => {
    const path = join(tempDir(), 'daemon.log');
    const { writes, writevs } = await spyOnFileHandleWrites();
    const file = createRotatingFile({ path, maxBytes: 200, count: 20 });
    const expected: string[] = [];
    // Queued synchronously: all but the first wait for the first write, then go out joined.
    for (let i = 0; i < 30; i++) {
      const text = `${i} ${'é'.repeat(10)} ${'x'.repeat(i % 7)}\n`;
      expected.push(text);
      file.write(i % 2 === 0 ? text : Buffer.from(text));
    }
    await file.flush();
    await file.close();
    const calls = writes.mock.calls.length + writevs.mock.calls.length;
    const gathered = writevs.mock.calls.length;
    writes.mockRestore();
    writevs.mockRestore();
    // Batches were joined: far fewer write calls than batches (one per file here), strings and
    // bytes together in gathered writes.
    expect(calls).toBeGreaterThan(0);
    expect(calls).toBeLessThan(10);
    expect(gathered).toBeGreaterThan(0);
    const files = [path, ...Array.from({ length: 20 }, (_, i) => `${path}.${i + 1}`)].filter((f) =>
      existsSync(f),
    );
    const sizes = files.map((f) => readFileSync(f).length);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(200);
    const content = files
      .reverse()
      .map((f) => readFileSync(f, 'utf8'))
      .join('');
    expect(content).toBe(expected.join(''));
  });

  it('writes the batches of one event-loop turn in one call, even from an idle writer', async () => {
    const path = join(tempDir(), 'daemon.log');
    const { writes, writevs } = await spyOnFileHandleWrites();
    const file = createRotatingFile({ path });
    try {
      // What the capture queues per chunk: the line completed from the previous chunk, then the
      // chunk's own bytes; then a second chunk in the same turn.
      file.write('tail of a line\n');
      file.write(Buffer.from('line 1\nline 2\n'));
      file.write('tail 2\n');
      file.write(Buffer.from('line 3\n'));
      // Nothing starts before the turn ends (an idle writer used to write the first part alone).
      expect(writes.mock.calls.length + writevs.mock.calls.length).toBe(0);
      await new Promise((r) => setImmediate(r));
      await file.flush();
      expect(writes.mock.calls.length + writevs.mock.calls.length).toBe(1);
      // A later turn's batch is a write of its own, after the first, in order.
      file.write('next\n');
      await file.flush();
      expect(writes.mock.calls.length + writevs.mock.calls.length).toBe(2);
      expect(readFileSync(path, 'utf8')).toBe('tail of a line\nline 1\nline 2\ntail 2\nline 3\nnext\n');
    } finally {
      writes.mockRestore();
      writevs.mockRestore();
      await file.close();
    }
  });

  it('flush and close write what is queued in the current turn: nothing is lost', async () => {
    const dir = tempDir();
    const a = createRotatingFile({ path: join(dir, 'a.log') });
    a.write('one\n');
    await a.flush(); // no turn in between: flush starts the pending write itself
    expect(readFileSync(join(dir, 'a.log'), 'utf8')).toBe('one\n');
    a.write(Buffer.from('two\n'));
    await a.close();
    expect(readFileSync(join(dir, 'a.log'), 'utf8')).toBe('one\ntwo\n');
    a.write('ignored after close\n');
    await new Promise((r) => setImmediate(r));
    expect(readFileSync(join(dir, 'a.log'), 'utf8')).toBe('one\ntwo\n');
  });

  it('rotates inside a turn’s batch without losing or reordering lines', async () => {
    const path = join(tempDir(), 'daemon.log');
    const file = createRotatingFile({ path, maxBytes: 64, count: 50 });
    const expected: string[] = [];
    for (let turn = 0; turn < 5; turn++) {
      for (let i = 0; i < 20; i++) {
        const text = `t${turn} line ${i}\n`;
        expected.push(text);
        file.write(i % 3 === 0 ? text : Buffer.from(text));
      }
      await new Promise((r) => setImmediate(r));
    }
    await file.close();
    const files = [path, ...Array.from({ length: 50 }, (_, i) => `${path}.${i + 1}`)].filter((f) =>
      existsSync(f),
    );
    expect(files.length).toBeGreaterThan(10);
    expect(Math.max(...files.map((f) => readFileSync(f).length))).toBeLessThanOrEqual(64);
    expect(
      files
        .reverse()
        .map((f) => readFileSync(f, 'utf8'))
        .join(''),
    ).toBe(expected.join(''));
  });

  it('rotates daemon.log → .1 … .N and drops the oldest', async () => {
    const path = join(tempDir(), 'daemon.log');
    const file = createRotatingFile({ path, maxBytes: 100, count: 3 });
    // 10 batches of 60 bytes: every batch after the first forces a rotation.
    for (let i = 0; i < 10; i++) {
      file.write(`${String(i).repeat(59)}\n`);
      await file.flush();
    }
    await file.close();
    expect(readFileSync(path, 'utf8')).toBe(`${'9'.repeat(59)}\n`);
    expect(readFileSync(`${path}.1`, 'utf8')).toBe(`${'8'.repeat(59)}\n`);
    expect(readFileSync(`${path}.2`, 'utf8')).toBe(`${'7'.repeat(59)}\n`);
    expect(readFileSync(`${path}.3`, 'utf8')).toBe(`${'6'.repeat(59)}\n`);
    expect(existsSync(`${path}.4`)).toBe(false);
  });

  it('continues an existing file and counts its size', async () => {
    const path = join(tempDir(), 'daemon.log');
    writeFileSync(path, 'x'.repeat(90));
    const file = createRotatingFile({ path, maxBytes: 100, count: 2 });
    file.write('y'.repeat(20));
    await file.close();
    expect(readFileSync(`${path}.1`, 'utf8')).toBe('x'.repeat(90));
    expect(readFileSync(path, 'utf8')).toBe('y'.repeat(20));
  });

  it('reports an unwritable directory once, keeps going, and never throws', async () => {
    const dir = tempDir();
    // The parent is a regular FILE: mkdir/open fail with ENOTDIR/EEXIST even for root.
    writeFileSync(join(dir, 'not-a-dir'), '');
    const errors: RotatingFileError[] = [];
    const file = createRotatingFile({
      path: join(dir, 'not-a-dir', 'daemon.log'),
      onError: (e) => errors.push(e),
      retryDelayMs: 10,
    });
    for (let i = 0; i < 20; i++) {
      file.write(`line ${i}\n`);
      await new Promise((r) => setTimeout(r, 2));
    }
    await file.flush();
    await new Promise((r) => setTimeout(r, 50));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(RotatingFileError);
    expect(errors[0]!.name).toBe('RotatingFileError');
    expect(['ENOTDIR', 'EEXIST']).toContain(errors[0]!.code);
    expect(errors[0]!.message).toContain('daemon.log');
    expect(file.isFailing).toBe(true);
    await file.close();
  });

  it('survives a full disk (ENOSPC via /dev/full), then recovers and writes the backlog', async (ctx) => {
    ctx.skip(process.platform !== 'linux' || !existsSync('/dev/full'), 'needs Linux with /dev/full');
    const dir = tempDir();
    const path = join(dir, 'daemon.log');
    symlinkSync('/dev/full', path);
    const errors: RotatingFileError[] = [];
    let recovered = 0;
    const file = createRotatingFile({
      path,
      onError: (e) => errors.push(e),
      onRecover: () => recovered++,
      retryDelayMs: 20,
    });
    file.write('first\n');
    await waitFor(() => file.isFailing, 'the write to fail');
    file.write('second\n');
    await new Promise((r) => setTimeout(r, 80));
    expect(errors).toHaveLength(1);
    expect(errors[0]!.code).toBe('ENOSPC');
    // "Free space": replace the device by a regular file; the timer retry writes everything.
    unlinkSync(path);
    await waitFor(() => !file.isFailing, 'the retry to succeed', 5_000);
    await file.close();
    expect(recovered).toBe(1);
    expect(readFileSync(path, 'utf8')).toBe('first\nsecond\n');
  });

  it('reports EACCES on a read-only directory', async (ctx) => {
    ctx.skip(process.platform === 'win32', 'POSIX permissions only (not on Windows)');
    // root ignores directory permissions: the write would succeed.
    ctx.skip(process.getuid?.() === 0, 'running as root, which ignores a read-only directory');
    const dir = tempDir();
    chmodSync(dir, 0o500);
    const errors: RotatingFileError[] = [];
    const file = createRotatingFile({ path: join(dir, 'daemon.log'), onError: (e) => errors.push(e) });
    file.write('x\n');
    await file.flush();
    chmodSync(dir, 0o700);
    expect(errors[0]?.code).toBe('EACCES');
    await file.close();
  });

  it('keeps a bounded backlog while failing and notes what was dropped', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'blocker'), '');
    const path = join(dir, 'blocker', 'daemon.log');
    const file = createRotatingFile({ path, maxBacklogChars: 30, retryDelayMs: 10 });
    for (let i = 0; i < 10; i++) file.write(`batch-${i}\n`);
    await waitFor(() => file.isFailing, 'the write to fail');
    for (let i = 10; i < 20; i++) file.write(`batch-${i}\n`);
    unlinkSync(join(dir, 'blocker'));
    await waitFor(
      () => existsSync(path) && readFileSync(path, 'utf8').includes('batch-19'),
      'the backlog to be written',
      5_000,
    );
    await file.close();
    const text = readFileSync(path, 'utf8');
    expect(text).toMatch(
      /\[luna-tray\] WARNING \[log-file\] \d+ characters of daemon output could not be written/,
    );
    expect(text.length).toBeLessThan(400);
    expect(text.endsWith('batch-19\n')).toBe(true);
  });
});
