import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import getPort from 'get-port';
import { describe, expect, it } from 'vitest';

import { daemonPaths } from '../../../src/core/supervisor/daemon-paths.js';
import { createLogCapture } from '../../../src/core/logs/log-capture.js';
import { LogStore } from '../../../src/core/logs/log-store.js';
import { harness } from './harness.js';

describe('daemonPaths', () => {
  it('keeps the single daemon’s file names and gives any other daemon its own', () => {
    expect(daemonPaths('/d', 'default')).toEqual({
      pidFile: join('/d', 'daemon.pid.json'),
      logFile: join('/d', 'logs', 'daemon.log'),
    });
    expect(daemonPaths('/d', 'clip')).toEqual({
      pidFile: join('/d', 'daemon-clip.pid.json'),
      logFile: join('/d', 'logs', 'clip.log'),
    });
  });

  it('refuses an id that would leave the data directory', () => {
    expect(() => daemonPaths('/d', '../x')).toThrow(/Not a daemon id/);
    expect(() => daemonPaths('/d', '')).toThrow(/Not a daemon id/);
  });
});

describe('log entries tagged with the daemon id', () => {
  it('tags captured output and supervisor events; an untagged capture adds no key', () => {
    const store = new LogStore({ capacity: 10 });
    const tagged = createLogCapture({ store, daemon: 'vae' });
    const plain = createLogCapture({ store });
    tagged.supervisor('info', 'tagged event');
    plain.supervisor('info', 'plain event');
    const [a, b] = store.since(0).entries;
    expect(a).toMatchObject({ text: 'tagged event', daemon: 'vae' });
    expect(b).not.toHaveProperty('daemon');
    store.setCapacity(20); // the column survives a resize
    expect(store.since(0).entries[0]!.daemon).toBe('vae');
  });
});

describe('Supervisor identity', () => {
  it('two daemons in one data directory: own PID files, tagged logs, labelled messages', async () => {
    const a = await harness({}, undefined, { id: 'clip', label: 'CLIP' });
    const b = await harness(
      {},
      { dataDir: a.dataDir, port: await getPort(), wsPort: await getPort() },
      { id: 'vae', label: '' },
    );
    expect(a.sup.id).toBe('clip');
    expect(await a.sup.start()).toMatchObject({
      ok: true,
      message: expect.stringMatching(/^CLIP: The Luna/),
    });
    expect(await b.sup.start()).toMatchObject({ ok: true, message: expect.stringMatching(/^The Luna/) });
    const pidOf = (id: string) =>
      (JSON.parse(readFileSync(daemonPaths(a.dataDir, id).pidFile, 'utf8')) as { pid: number }).pid;
    expect(pidOf('clip')).toBe(a.sup.pid);
    expect(pidOf('vae')).toBe(b.sup.pid);
    expect(existsSync(join(a.dataDir, 'daemon.pid.json'))).toBe(false);
    expect(a.store.since(0).entries.every((e) => e.daemon === 'clip')).toBe(true);

    // Stopping one leaves the other running and its PID file in place.
    expect(await a.sup.stop()).toEqual({ ok: true, message: 'CLIP: The Luna daemon stopped gracefully.' });
    expect(b.sup.status.state).toBe('running');
    expect(pidOf('vae')).toBe(b.sup.pid);
  });

  it('a failure’s status message carries the label', async () => {
    const h = await harness({ daemon: { profile: 'custom', command: '/nonexistent/python' } }, undefined, {
      id: 'gpu1',
      label: 'GPU 1',
    });
    const r = await h.sup.start();
    expect(r.ok).toBe(false);
    expect(r.message.startsWith('GPU 1: ')).toBe(true);
    expect(h.sup.status).toMatchObject({ state: 'failed', message: expect.stringMatching(/^GPU 1: /) });
  });
});
