import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import getPort from 'get-port';
import { afterEach, describe, expect, it } from 'vitest';

import type { ExitRecord } from '../../../../src/shared/daemon-status.js';
import { DaemonError } from '../../../../src/core/daemon/errors.js';
import { createLogCapture } from '../../../../src/core/logs/log-capture.js';
import { LogStore } from '../../../../src/core/logs/log-store.js';
import { DaemonProcess } from '../../../../src/core/supervisor/daemon-process.js';
import { PidFile } from '../../../../src/core/supervisor/pid-file.js';
import type { StopContext } from '../../../../src/core/supervisor/stop-sequence.js';
import { isAlive, killAllTracked, launchNodeScript, sleep, waitFor } from '../../../helpers/processes.js';

afterEach(() => killAllTracked());

const launch = launchNodeScript;

function rig(o: { up?: boolean; port?: number } = {}) {
  const box = { up: o.up ?? true };
  const seen: string[] = [];
  const exits: ExitRecord[] = [];
  const unexpected: { record: ExitRecord; uptimeMs: number }[] = [];
  const strays: string[] = [];
  const logs: string[] = [];
  const store = new LogStore({ capacity: 200 });
  const pidFile = new PidFile(join(mkdtempSync(join(tmpdir(), 'luna-dp-')), 'daemon.pid.json'));
  const p = new DaemonProcess({
    store,
    capture: createLogCapture({ store }),
    now: () => 5,
    pidFile,
    log: (level, text) => logs.push(`${level}: ${text}`),
    isUp: () => box.up,
    endpoint: () => ({ host: '127.0.0.1', port: o.port ?? 1 }),
    recordExit: (r) => exits.push(r),
    stopWatching: () => seen.push('stop watching'),
    onUnexpectedExit: (record, uptimeMs) => {
      seen.push('unexpected exit');
      unexpected.push({ record, uptimeMs });
    },
    onStrayHolder: (message) => strays.push(message),
  });
  return { p, box, seen, exits, unexpected, strays, logs };
}

const refused = new DaemonError('refused', 'connection refused');

describe('the daemon process (spawned or adopted, and how it goes away)', () => {
  it('a crash of the running child is recorded and handed to the restart policy with its uptime', async () => {
    const r = rig();
    const child = r.p.take(launch('setTimeout(() => process.exit(4), 200)'));
    child.readyAt = performance.now();
    expect(r.p.pid).toBe(child.proc.pid);
    await waitFor(() => r.unexpected.length === 1, 'the exit to be handled', 5_000);
    expect(r.unexpected[0]!.record).toMatchObject({ code: 4 });
    expect(r.unexpected[0]!.uptimeMs).toBeGreaterThan(100);
    expect(r.exits).toHaveLength(1);
    expect(r.p.child).toBeNull();
    expect(r.p.pid).toBeNull();
    expect(r.logs).toContain('warning: The daemon exited with code 4');
  });

  it('an exit while starting or stopping is only recorded; the exit of a replaced child is ignored', async () => {
    const r = rig({ up: false });
    const first = r.p.take(launch('setTimeout(() => process.exit(1), 300)'));
    const second = r.p.take(launch('setTimeout(() => process.exit(2), 100)'));
    await second.exit;
    await first.exit;
    await sleep(50);
    expect(r.exits.map((e) => e.code)).toEqual([2]);
    expect(r.unexpected).toEqual([]);
  });

  it('an exit 0 from outside with another process still on the port is reported as that stray, and a stop ends it', async () => {
    const port = await getPort();
    const holder = launch(
      `require('node:net').createServer((s) => s.end()).listen(${port}, '127.0.0.1'); setTimeout(() => {}, 60_000)`,
    );
    await waitFor(
      () =>
        new Promise<boolean>((res) => {
          const s = net.connect(port, '127.0.0.1');
          s.on('connect', () => {
            s.destroy();
            res(true);
          });
          s.on('error', () => res(false));
        }),
      'the holder to listen',
      5_000,
    );
    const r = rig({ port });
    r.p.take(launch('setTimeout(() => process.exit(0), 100)'));
    await waitFor(() => r.strays.length === 1, 'the stray report', 10_000);
    expect(r.strays[0]).toMatch(new RegExp(`PID ${holder.pid} .*still holds port ${port}`));
    expect(r.unexpected).toEqual([]);
    expect(r.seen).toEqual(['stop watching']);

    const ctx = { host: '127.0.0.1', port, graceMs: 500, log: () => undefined } as unknown as StopContext;
    expect(await r.p.stopStray(ctx)).toEqual({ pid: holder.pid, failure: null });
    expect(isAlive(holder.pid)).toBe(false);
    expect(await r.p.stopStray(ctx)).toBeNull();
  });

  it('an adopted daemon went away only when its port refuses and its process is gone', async () => {
    const live = launch('setTimeout(() => {}, 60_000)');
    const r = rig();
    r.p.adopt(live.pid, false);
    expect(r.p.adoptedWentAway(refused)).toBe(false); // the process is still there
    r.p.adopt(999_999_999, false);
    expect(r.p.adoptedWentAway(new DaemonError('timeout', 'slow'))).toBe(false);
    expect(r.p.adoptedWentAway(refused)).toBe(true);
    expect(r.unexpected).toHaveLength(1);
    expect(r.unexpected[0]!.record).toMatchObject({ code: null, signal: null });
    expect(r.p.adopted).toMatchObject({ pid: null });
  });

  it('an unresponsive daemon is killed only when it is provably ours', async () => {
    const foreign = launch('setTimeout(() => {}, 60_000)');
    const r = rig();
    r.p.adopt(foreign.pid, false);
    r.p.killUnresponsive();
    await sleep(200);
    expect(isAlive(foreign.pid)).toBe(true);
    expect(r.logs).toEqual([]);

    const child = r.p.take(launch('setTimeout(() => {}, 60_000)'));
    r.p.killUnresponsive();
    const record = await child.exit;
    expect(record.signal).toBe('SIGKILL');
    await waitFor(() => r.unexpected.length === 1, 'the exit to be handled', 5_000);
    expect(r.unexpected[0]!.record.cause).toBe('unresponsive');
  });
});
