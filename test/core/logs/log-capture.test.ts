import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';

import { afterEach, describe, expect, it } from 'vitest';

import {
  createLogCapture,
  formatSupervisorFileLine,
  MAX_PENDING_BYTES,
  SLICE_BYTES,
} from '../../../src/core/logs/log-capture.js';
import { parseLogFileLine } from '../../../src/core/logs/log-line-parser.js';
import { LogStore } from '../../../src/core/logs/log-store.js';
import { createRotatingFile } from '../../../src/core/logs/rotating-file.js';
import { exited, killAllTracked, sleep, track, waitFor } from '../../helpers/processes.js';

const dirs: string[] = [];
afterEach(() => {
  killAllTracked();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const TS = 1_763_000_000_000;

describe('createLogCapture', () => {
  it('parses, strips and batches one chunk into one store append', () => {
    const store = new LogStore();
    const batches: number[] = [];
    store.subscribe((es) => batches.push(es.length));
    const capture = createLogCapture({ store, now: () => TS });
    const stderr = new PassThrough();
    capture.attach(stderr, 'stderr');
    stderr.write(
      '2025-12-12 14:03:11,123 - LunaDaemon - INFO - [Socket] Server listening on 127.0.0.1:19283\n' +
        '\x1b[32m  continuation\x1b[0m\n' +
        '2025-12-12 14:03:11,124 - LunaDaemon - WARNING - one\n' +
        '2025-12-12 14:03:11,124 - LunaDaemon - INFO - Luna Daemon Ready!\n',
    );
    // The last record is held open for continuations; flush() publishes it.
    expect(batches).toEqual([2]);
    capture.flush();
    expect(batches).toEqual([2, 1]);
    expect(store.since(0).entries).toEqual([
      {
        seq: 1,
        ts: TS,
        source: 'stderr',
        level: 'info',
        logger: 'LunaDaemon',
        text: '[Socket] Server listening on 127.0.0.1:19283\n  continuation',
      },
      { seq: 2, ts: TS, source: 'stderr', level: 'warning', logger: 'LunaDaemon', text: 'one' },
      { seq: 3, ts: TS, source: 'stderr', level: 'info', logger: 'LunaDaemon', text: 'Luna Daemon Ready!' },
    ]);
    const stdout = new PassThrough();
    capture.attach(stdout, 'stdout');
    stdout.write('\x1b[1mplain print\x1b[0m\nsecond print\n');
    expect(batches).toEqual([2, 1, 2]);
    expect(store.since(3).entries.map((e) => [e.source, e.level, e.text])).toEqual([
      ['stdout', 'info', 'plain print'],
      ['stdout', 'info', 'second print'],
    ]);
    capture.dispose();
  });

  it('attaches a traceback arriving in later chunks, then publishes after the idle delay', async () => {
    const store = new LogStore();
    const capture = createLogCapture({ store, recordIdleMs: 30 });
    const stderr = new PassThrough();
    capture.attach(stderr, 'stderr');
    stderr.write(
      '2025-12-12 14:03:10,002 - LunaDaemon - ERROR - [Config] Fallback import failed: boom\nTraceback (most',
    );
    await sleep(5);
    stderr.write(' recent call last):\n  File "x.py", line 1, in <module>\n');
    await sleep(5);
    stderr.write('ValueError: boom\n');
    await sleep(5);
    expect(store.lastSeq).toBe(0);
    await waitFor(() => store.lastSeq === 1, 'the record to be published', 2_000);
    expect(store.since(0).entries[0]!.text).toBe(
      '[Config] Fallback import failed: boom\nTraceback (most recent call last):\n  File "x.py", line 1, in <module>\nValueError: boom',
    );
    capture.dispose();
  });

  it('publishes everything, including a partial last line, when the stream ends', async () => {
    const store = new LogStore();
    const capture = createLogCapture({ store, recordIdleMs: 10_000 });
    const stdout = new PassThrough();
    capture.attach(stdout, 'stdout');
    stdout.write(
      'Traceback (most recent call last):\n  File "x.py", line 1\nKeyError: 1\nno newline at the end',
    );
    stdout.end();
    await waitFor(() => store.lastSeq === 2, 'the end-of-stream flush', 2_000);
    expect(store.since(0).entries.map((e) => [e.source, e.level, e.text])).toEqual([
      ['stdout', 'error', 'Traceback (most recent call last):\n  File "x.py", line 1\nKeyError: 1'],
      ['stdout', 'info', 'no newline at the end'],
    ]);
  });

  it('records supervisor events and writes the daemon lines verbatim to the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'luna-capture-'));
    dirs.push(dir);
    const store = new LogStore();
    const file = createRotatingFile({ path: join(dir, 'daemon.log') });
    const capture = createLogCapture({ store, file, now: () => Date.parse('2026-11-21T05:41:00.123Z') });
    const entry = capture.supervisor('warning', 'Port 19283 is busy (pid 42, python3)');
    expect(entry).toMatchObject({ seq: 1, source: 'supervisor', level: 'warning' });
    const stderr = new PassThrough();
    capture.attach(stderr, 'stderr');
    stderr.write('2025-12-12 14:03:11,123 - LunaDaemon - INFO - Luna Daemon Ready!\r\n\n');
    stderr.write('\x1b[31mred\x1b[0m print\n' + 'x'.repeat(40) + '\n');
    stderr.end('Traceback (most recent call last):\n  File "a.py", line 2\nOSError: x');
    await waitFor(() => store.lastSeq === 3, 'the stream to end', 2_000);
    capture.supervisor('info', 'two\nlines');
    await file.close();
    // Daemon lines as printed (ANSI stripped, CRLF normalised, blank lines kept, the partial last
    // line completed); only the supervisor's own events get a prefix.
    expect(readFileSync(join(dir, 'daemon.log'), 'utf8')).toBe(
      [
        '2026-11-21T05:41:00.123Z [luna-tray] WARNING Port 19283 is busy (pid 42, python3)',
        '2025-12-12 14:03:11,123 - LunaDaemon - INFO - Luna Daemon Ready!',
        '',
        'red print',
        'x'.repeat(40),
        'Traceback (most recent call last):',
        '  File "a.py", line 2',
        'OSError: x',
        '2026-11-21T05:41:00.123Z [luna-tray] INFO two',
        'lines',
        '',
      ].join('\n'),
    );
    expect(
      parseLogFileLine('2026-11-21T05:41:00.123Z [luna-tray] WARNING Port 19283 is busy (pid 42, python3)'),
    ).toEqual({
      ts: Date.parse('2026-11-21T05:41:00.123Z'),
      source: 'supervisor',
      level: 'warning',
      text: 'Port 19283 is busy (pid 42, python3)',
    });
  });

  it('caps overlong lines in the file as in the store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'luna-capture-'));
    dirs.push(dir);
    const store = new LogStore();
    const file = createRotatingFile({ path: join(dir, 'daemon.log') });
    const capture = createLogCapture({ store, file, maxLineLength: 10 });
    const stdout = new PassThrough();
    capture.attach(stdout, 'stdout');
    stdout.end('short\n' + 'y'.repeat(25) + '\nend\n');
    await waitFor(() => store.lastSeq === 3, 'the stream to end', 2_000);
    await file.close();
    const text = readFileSync(join(dir, 'daemon.log'), 'utf8');
    expect(text).toBe(`short\n${store.since(0).entries[1]!.text}\nend\n`);
    expect(text).toContain(`${'y'.repeat(10)} … [truncated 15 bytes]`);
  });

  it('formats the supervisor file line', () => {
    expect(formatSupervisorFileLine(1, 'critical', 'c')).toBe(
      '1970-01-01T00:00:00.001Z [luna-tray] CRITICAL c\n',
    );
  });

  it('captures a real child process: 20,000 lines over both pipes, nothing lost on exit', async () => {
    const store = new LogStore({ capacity: 100_000 });
    const capture = createLogCapture({ store });
    const script = `
      const lines = [];
      for (let i = 0; i < 10000; i++) lines.push('2025-12-12 14:03:11,123 - LunaDaemon - INFO - line ' + i);
      process.stderr.write(lines.join('\\n') + '\\n');
      for (let i = 0; i < 10000; i++) process.stdout.write('print ' + i + '\\n');
      process.stderr.write('Traceback (most recent call last):\\n  File "x", line 1\\nRuntimeError: crash');
      process.exitCode = 3;`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    track(child.pid);
    capture.attach(child.stdout, 'stdout');
    capture.attach(child.stderr, 'stderr');
    expect((await exited(child)).code).toBe(3);
    await waitFor(() => store.lastSeq === 20_001, 'all lines', 5_000);
    const all = store.since(0).entries;
    const stderr = all.filter((e) => e.source === 'stderr');
    expect(stderr.slice(0, 10_000).map((e) => e.text)).toEqual(
      Array.from({ length: 10_000 }, (_, i) => `line ${i}`),
    );
    expect(stderr[10_000]).toMatchObject({
      level: 'error',
      text: 'Traceback (most recent call last):\n  File "x", line 1\nRuntimeError: crash',
    });
    expect(all.filter((e) => e.source === 'stdout').map((e) => e.text)).toEqual(
      Array.from({ length: 10_000 }, (_, i) => `print ${i}`),
    );
  });

  it('processes a big chunk a slice per event-loop turn, in order, and flush() finishes it at once', async () => {
    const store = new LogStore({ capacity: 10_000 });
    const dir = mkdtempSync(join(tmpdir(), 'luna-capture-'));
    dirs.push(dir);
    const file = createRotatingFile({ path: join(dir, 'daemon.log') });
    const capture = createLogCapture({ store, file, now: () => TS });
    const stderr = new PassThrough();
    capture.attach(stderr, 'stderr');
    // ~4 slices of records, with a 3-byte character straddling slice boundaries somewhere.
    const lines = Array.from(
      { length: 800 },
      (_, i) => `2025-12-12 14:03:11,123 - L - INFO - line ${i} €€€ ${'x'.repeat(60)}`,
    );
    const big = Buffer.from(lines.join('\n') + '\n');
    expect(big.length).toBeGreaterThan(3 * SLICE_BYTES);
    stderr.write(big);
    await new Promise((r) => setImmediate(r));
    // Not all at once: the pipe must keep being read while a flood is parsed.
    const afterOneTurn = store.lastSeq;
    expect(afterOneTurn).toBeGreaterThan(0);
    expect(afterOneTurn).toBeLessThan(799);
    stderr.write('2025-12-12 14:03:11,124 - L - INFO - after\n');
    capture.flush();
    const texts = store.since(0).entries.map((e) => e.text);
    expect(texts).toEqual([
      ...lines.map((l) => l.slice('2025-12-12 14:03:11,123 - L - INFO - '.length)),
      'after',
    ]);
    capture.dispose();
    await file.close();
    expect(readFileSync(join(dir, 'daemon.log'), 'utf8')).toBe(
      lines.join('\n') + '\n2025-12-12 14:03:11,124 - L - INFO - after\n',
    );
  });

  it('keeps a small chunk synchronous: normal daemon output is published at once', () => {
    const store = new LogStore();
    const capture = createLogCapture({ store, now: () => TS });
    const stdout = new PassThrough();
    capture.attach(stdout, 'stdout');
    stdout.write('hello\nworld\n');
    expect(store.since(0).entries.map((e) => e.text)).toEqual(['hello', 'world']);
    capture.dispose();
  });

  it('pauses a stream that outruns the parser and resumes it once the queue is down', async () => {
    const store = new LogStore({ capacity: 1_000 });
    const capture = createLogCapture({ store, now: () => TS });
    const stdout = new PassThrough({ highWaterMark: 4 * MAX_PENDING_BYTES });
    capture.attach(stdout, 'stdout');
    const line = `print ${'x'.repeat(90)}\n`;
    const chunk = Buffer.from(line.repeat(Math.ceil(MAX_PENDING_BYTES / 2 / line.length)));
    for (let i = 0; i < 6; i++) stdout.write(chunk);
    await new Promise((r) => setImmediate(r));
    expect(stdout.isPaused()).toBe(true);
    const total = 6 * (chunk.length / line.length);
    await waitFor(() => store.lastSeq === total, 'every line captured', 10_000);
    expect(stdout.isPaused()).toBe(false);
    expect(store.tail(1).entries[0]!.text).toBe(line.slice(0, -1));
    capture.dispose();
  });
});
