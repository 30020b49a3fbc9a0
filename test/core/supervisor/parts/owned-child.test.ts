import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import getPort from 'get-port';
import { describe, expect, it } from 'vitest';

import { createLogCapture } from '../../../../src/core/logs/log-capture.js';
import { LogStore } from '../../../../src/core/logs/log-store.js';
import { findDaemonToAdopt } from '../../../../src/core/supervisor/adoption.js';
import { outputTail, waitReady, wireChild } from '../../../../src/core/supervisor/owned-child.js';
import { PidFile } from '../../../../src/core/supervisor/pid-file.js';
import { launchNodeScript } from '../../../helpers/processes.js';

const launch = launchNodeScript;

describe('an owned child', () => {
  it('builds its exit record with the last output lines, not the supervisor’s own events', async () => {
    const store = new LogStore({ capacity: 1000 });
    const capture = createLogCapture({ store });
    const proc = launch("for (let i = 1; i <= 30; i++) console.log('line ' + i); process.exit(3);");
    const child = wireChild(proc, 1, { store, capture, now: () => 42 });
    capture.supervisor('info', 'not daemon output');
    const record = await child.exit;
    expect(record).toMatchObject({ code: 3, signal: null, at: 42 });
    expect(record.stderrTail).toHaveLength(20);
    expect(record.stderrTail.at(-1)).toBe('line 30');
    expect(record.stderrTail).not.toContain('not daemon output');
  });

  it('notices a shutdown announced in its output (from anyone)', async () => {
    const store = new LogStore({ capacity: 100 });
    const proc = launch("console.log('Shutdown command received'); setTimeout(() => {}, 300);");
    const child = wireChild(proc, 1, { store, capture: createLogCapture({ store }), now: Date.now });
    await child.exit;
    expect(child.shuttingDown).toBe(true);
  });

  it('waitReady: an exit before any answer is reported as such; a cancelled start as aborted', async () => {
    const store = new LogStore({ capacity: 100 });
    const port = await getPort();
    const opts = { host: '127.0.0.1', port, generation: 'current' as const, timeoutMs: 10_000, store };
    const dying = wireChild(launch('process.exit(1)'), 1, {
      store,
      capture: createLogCapture({ store }),
      now: Date.now,
    });
    const r = await waitReady(dying, { ...opts, signal: new AbortController().signal });
    expect(r).toMatchObject({ kind: 'exited', exit: { code: 1 } });

    const slow = wireChild(launch('setTimeout(() => {}, 5000)'), 2, {
      store,
      capture: createLogCapture({ store }),
      now: Date.now,
    });
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 100);
    expect(await waitReady(slow, { ...opts, signal: abort.signal })).toEqual({ kind: 'aborted' });
    slow.proc.child.kill('SIGKILL');
  });

  it('outputTail looks further back when supervisor events crowd the window', () => {
    const store = new LogStore({ capacity: 1000 });
    store.append([{ seq: 0, ts: 0, source: 'stdout', level: 'info', text: 'daemon line' }]);
    for (let i = 0; i < 100; i++)
      store.append([{ seq: 0, ts: 0, source: 'supervisor', level: 'info', text: `s${i}` }]);
    expect(outputTail(store, 0)).toEqual(['daemon line']);
  });
});

describe('adoption', () => {
  it('nothing on the port and no PID file: nothing to adopt', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'luna-adopt-'));
    const found = await findDaemonToAdopt({
      host: '127.0.0.1',
      port: await getPort(),
      wsPort: 0,
      pidFile: new PidFile(join(dir, 'daemon.pid.json')),
      signal: new AbortController().signal,
      log: () => undefined,
    });
    expect(found).toEqual({ kind: 'none', probed: 'none' });
  });
});
