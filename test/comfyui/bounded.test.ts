// Replies from ComfyUI are bounded: JSON bodies by a cap per route, WebSocket messages by maxPayload.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ComfyClient, ComfyTooLargeError, parseSize } from '../../src/core/comfyui/client.js';
import { createComfyMonitor } from '../../src/core/comfyui/monitor.js';
import { openComfySocket } from '../../src/core/comfyui/ws.js';
import type { ComfyInstance } from '../../src/shared/comfy-instance.js';
import { startFakeComfy, type FakeComfy } from '../fakes/fake-comfyui.js';
import { waitFor } from '../helpers/processes.js';

let fake: FakeComfy;
beforeAll(async () => {
  fake = await startFakeComfy();
});
afterAll(async () => {
  await fake.close();
});

describe('bounded replies', () => {
  it('a 30 MB /system_stats is refused at the 8 MiB default cap; other routes keep working', async () => {
    Object.assign(fake.behaviour, {
      httpMode: 'huge',
      httpModePaths: ['/system_stats'],
      hugeBytes: 30 << 20,
    });
    const client = new ComfyClient(fake.url);
    try {
      const err = await client.systemStats().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ComfyTooLargeError);
      expect((err as Error).message).toMatch(/larger than the 8 MiB limit/);
      expect(await client.queueRemaining()).toBe(0);
    } finally {
      Object.assign(fake.behaviour, { httpMode: 'normal', httpModePaths: [] });
      await client.close();
    }
  });

  it('/object_info gets the larger cap (64 MiB by default), and both caps are configurable', async () => {
    Object.assign(fake.behaviour, { httpMode: 'huge', httpModePaths: ['/object_info'], hugeBytes: 12 << 20 });
    const big = new ComfyClient(fake.url);
    const small = new ComfyClient(fake.url, { maxLargeJsonBytes: 1 << 20 });
    try {
      expect(Object.keys(await big.objectInfo())).toEqual(['pad']);
      await expect(small.objectInfo()).rejects.toThrow(/larger than the 1 MiB limit/);
    } finally {
      Object.assign(fake.behaviour, { httpMode: 'normal', httpModePaths: [] });
      await big.close();
      await small.close();
    }
  });

  it('the monitor shows an oversized reply as the problem, in words', async () => {
    Object.assign(fake.behaviour, {
      httpMode: 'huge',
      httpModePaths: ['/system_stats'],
      hugeBytes: 20 << 20,
    });
    let latest: ComfyInstance[] = [];
    const mon = createComfyMonitor({
      instances: [fake.url],
      discover: false,
      pollIntervalMs: 5_000,
      websocket: false,
      onChange: (l) => (latest = l),
    });
    try {
      await waitFor(() => latest[0]?.checkedAt, 'first poll');
      expect(latest[0]).toMatchObject({ reachable: false, problem: expect.stringMatching(/8 MiB limit/) });
    } finally {
      Object.assign(fake.behaviour, { httpMode: 'normal', httpModePaths: [] });
      await mon.dispose();
    }
  });

  it('a WebSocket message above maxPayload closes the socket instead of being buffered', async () => {
    const sock = await openComfySocket(fake.url, { maxPayload: 64 * 1024, pingIntervalMs: 0 });
    const closed = new Promise<{ code: number }>((r) => sock.onClose(r));
    fake.broadcastRaw(JSON.stringify({ type: 'crystools.monitor', data: { pad: 'x'.repeat(256 * 1024) } }));
    // ws fails the connection (1009 to the server; locally an abnormal close) rather than buffer it.
    expect([1006, 1009]).toContain((await closed).code);
    expect(sock.open).toBe(false);
    await sock.close();
  });

  it('parseSize reads 512M, 2G, 100k, plain bytes; rejects the rest', () => {
    expect(parseSize('512M')).toBe(512 * 1024 * 1024);
    expect(parseSize('2G')).toBe(2 * 1024 ** 3);
    expect(parseSize('100k')).toBe(102400);
    expect(parseSize('64MiB')).toBe(64 << 20);
    expect(parseSize('1048576')).toBe(1048576);
    for (const bad of ['', 'lots', '-1', '0', '1.5.2G']) expect(parseSize(bad)).toBeNull();
  });
});
