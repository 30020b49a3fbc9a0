import getPort from 'get-port';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ComfyClient } from '../../src/core/comfyui/client.js';
import {
  clearQueue,
  createComfyMonitor,
  freeVram,
  interrupt,
  tcpReachable,
  unreachableBackoffCapMs,
  unreachableBackoffMs,
  type ComfyInstanceError,
  type ComfyMonitorOptions,
} from '../../src/core/comfyui/monitor.js';
import { readLocalGpus } from '../../src/core/comfyui/nvidia-smi.js';
import type { JsonObject } from '../../src/core/comfyui/json.js';
import type { ComfyInstance } from '../../src/shared/comfy-instance.js';
import { comfyInstanceSchema } from '../../src/shared/comfy-instance.js';
import { startFakeComfy, type FakeComfy } from '../fakes/fake-comfyui.js';
import { txt2imgPrompt } from '../fakes/sample-prompt.js';
import { waitFor } from '../helpers/processes.js';

// A fresh seed per call: the server caches an identical prompt and would not run it again (docs/comfyui.md).
let seed = 1;
const prompt = (steps: number): JsonObject =>
  txt2imgPrompt({
    steps,
    seed: seed++,
    checkpointTitle: 'Load Checkpoint',
    samplerTitle: 'Main sampler',
    filenamePrefix: 'm',
  });

/** A monitor of `url` alone: checked every 5 s, no socket, no discovery. */
const monitorOf = (url: string, extra: Partial<ComfyMonitorOptions>) =>
  createComfyMonitor({
    instances: [url],
    discover: false,
    pollIntervalMs: 5_000,
    websocket: false,
    onChange: () => undefined,
    ...extra,
  });

let a: FakeComfy;
let b: FakeComfy;
beforeAll(async () => {
  a = await startFakeComfy({ stepDelayMs: 25 });
  b = await startFakeComfy({ comfyuiVersion: '0.3.64', os: 'win32' });
});
afterAll(async () => {
  await a.close();
  await b.close();
});

describe('createComfyMonitor', () => {
  it('reports health, version, OS, devices; progress of prompts queued by ANOTHER client; the last error', async () => {
    const downPort = await getPort();
    const down = `http://127.0.0.1:${downPort}`;
    let latest: ComfyInstance[] = [];
    const failures: Array<[string, ComfyInstanceError]> = [];
    const mon = createComfyMonitor({
      instances: [a.url, b.url, down],
      discover: false,
      pollIntervalMs: 200,
      onChange: (list) => (latest = list),
      onJobFailed: (url, e) => failures.push([url, e]),
    });
    try {
      await waitFor(
        () => latest.length === 3 && latest[0]!.reachable && latest[1]!.reachable && latest[2]!.checkedAt > 0,
        'first poll',
      );
      for (const i of latest) comfyInstanceSchema.parse(i);
      expect(latest.map((i) => i.url)).toEqual([a.url, b.url, down]);
      expect(latest[0]).toMatchObject({
        version: '0.8.0',
        os: 'linux',
        devices: [{ vramTotal: 25393692672, index: 0 }],
        queue: { running: 0, pending: 0 },
      });
      expect(latest[1]).toMatchObject({ version: '0.3.64', os: 'win32' });
      expect(latest[2]).toMatchObject({
        reachable: false,
        problem: expect.stringContaining('connection refused'),
      });

      // A prompt queued by a browser (client_id set, not ours): only `status` reaches us → /queue polling.
      await waitFor(() => mon.refresh().then(() => a.socketIds().length > 0), 'monitor socket');
      const other = await a.queuePromptFromOtherClient(prompt(40));
      const seen = await waitFor(
        () => latest[0]?.progress?.promptId === other && latest[0],
        'progress of the other client prompt',
        3_000,
      );
      expect((seen as ComfyInstance).queue.running).toBe(1);
      await a.waitForHistory(other);
      await waitFor(() => latest[0]?.progress === null && latest[0]?.queue.running === 0, 'idle again');

      // A prompt without client_id: progress events are broadcast, so steps and node show up.
      const anon = await a.queuePromptFromOtherClient(prompt(40), { clientId: null });
      const withSteps = await waitFor(
        () => {
          const p = latest[0]?.progress;
          return p && p.promptId === anon && p.max === 40 && p.value > 0 && p;
        },
        'step progress',
        3_000,
      );
      expect(withSteps).toMatchObject({ node: '3', nodeTitle: 'Main sampler' });
      await a.waitForHistory(anon);

      // An OOM in someone else's prompt becomes lastError (found through /history) and onJobFailed fires once.
      a.behaviour.failAtNode = '3';
      const failing = await a.queuePromptFromOtherClient(prompt(2));
      await waitFor(() => latest[0]?.lastError?.promptId === failing, 'lastError', 3_000);
      expect(latest[0]!.lastError).toMatchObject({
        nodeId: '3',
        nodeType: 'KSampler',
        exceptionType: 'torch.OutOfMemoryError',
      });
      expect(failures.filter(([, e]) => e.promptId === failing)).toHaveLength(1);
      expect(failures[0]![0]).toBe(a.url);
    } finally {
      a.behaviour.failAtNode = null;
      await mon.dispose();
    }
  });

  it('setInstances swaps the list; discovery finds loopback instances on the given ports', async () => {
    let latest: ComfyInstance[] = [];
    const freePort = await getPort();
    const mon = createComfyMonitor({
      instances: [],
      discover: true,
      ports: [b.port, freePort],
      pollIntervalMs: 100,
      websocket: false,
      onChange: (l) => (latest = l),
    });
    try {
      await waitFor(() => latest.some((i) => i.url === b.url && i.discovered && i.reachable), 'discovered b');
      expect(latest.map((i) => i.url)).toEqual([b.url]);
      mon.setInstances([a.url]);
      await waitFor(
        () => latest[0]?.url === a.url && latest[0].reachable && !latest[0].discovered,
        'configured a first',
      );
      expect(mon.snapshot().map((i) => i.url)).toEqual([a.url, b.url]);
    } finally {
      await mon.dispose();
    }
  });
});

describe('unreachable instances back off', () => {
  it('doubles the wait after each failed poll, up to six periods (a minute at most)', () => {
    expect([1, 2, 3, 4, 5, 9].map((n) => unreachableBackoffMs(5_000, n))).toEqual([
      5_000, 10_000, 20_000, 30_000, 30_000, 30_000,
    ]);
    expect(unreachableBackoffCapMs(5_000)).toBe(30_000);
    expect(unreachableBackoffCapMs(20_000)).toBe(60_000);
    expect(unreachableBackoffCapMs(3_600_000)).toBe(3_600_000);
    expect(unreachableBackoffMs(100, 1_000)).toBe(600);
  });

  it('a dead instance is probed ever less often (TCP only), a live one every period; it is found when it comes up', async () => {
    const downPort = await getPort();
    const down = `http://127.0.0.1:${downPort}`;
    const probes: number[] = [];
    let latest: ComfyInstance[] = [];
    const t0 = performance.now();
    const mon = createComfyMonitor({
      instances: [b.url, down],
      discover: false,
      pollIntervalMs: 100,
      websocket: false,
      onChange: (l) => (latest = l),
      probe: (url, ms) => {
        if (url === down) probes.push(performance.now() - t0);
        return tcpReachable(url, ms);
      },
    });
    const statsCalls = () => b.calls.filter((c) => c.path === '/system_stats').length;
    const bBefore = statsCalls();
    let late: FakeComfy | undefined;
    try {
      await waitFor(() => probes.length >= 5, 'five probes of the dead instance', 8_000);
      // The first check probes too; failed polls 1, 2, 3, 4 → waits of 100, 200, 400, 600 ms (the
      // cap is 6 periods).
      const gaps = probes.slice(1).map((t, i) => t - probes[i]!);
      expect(gaps[1]).toBeGreaterThanOrEqual(150);
      expect(gaps[2]).toBeGreaterThanOrEqual(350);
      expect(gaps[3]).toBeGreaterThanOrEqual(550);
      // Meanwhile the live instance was polled over HTTP every period.
      const elapsed = performance.now() - t0;
      expect(statsCalls() - bBefore).toBeGreaterThanOrEqual(Math.floor(elapsed / 100 / 2));
      expect(latest.find((i) => i.url === down)).toMatchObject({ reachable: false });
      expect(latest.find((i) => i.url === down)?.problem).toMatch(/refused/);

      // It comes up: found within the cap (600 ms) plus a poll.
      late = await startFakeComfy({ port: downPort });
      const up = performance.now();
      await waitFor(() => latest.find((i) => i.url === down)?.reachable, 'the late instance', 5_000);
      expect(performance.now() - up).toBeLessThan(600 + 1_000);
      expect(late.calls.some((c) => c.path === '/system_stats')).toBe(true);
    } finally {
      await mon.dispose();
      await late?.close();
    }
  });

  it('refresh() checks every instance at once, backed off or not', async () => {
    const downPort = await getPort();
    const down = `http://127.0.0.1:${downPort}`;
    let probes = 0;
    const mon = monitorOf(down, {
      probe: (url, ms) => {
        probes++;
        return tcpReachable(url, ms);
      },
    });
    let late: FakeComfy | undefined;
    try {
      await waitFor(() => mon.snapshot()[0]!.checkedAt > 0, 'the first poll');
      late = await startFakeComfy({ port: downPort });
      // The next scheduled check is seconds away; a refresh does not wait for it.
      const snap = await mon.refresh();
      expect(snap[0]).toMatchObject({ url: down, reachable: true });
      expect(probes).toBe(2); // the first check, then the refresh's
    } finally {
      await mon.dispose();
      await late?.close();
    }
  });

  it('the first check of a dead instance is a TCP probe only (no HTTP client request) and names the refusal', async () => {
    const down = `http://127.0.0.1:${await getPort()}`;
    const requests: string[] = [];
    const mon = monitorOf(down, {
      createClient: (url) => {
        const client = new ComfyClient(url);
        const systemStats = client.systemStats.bind(client);
        client.systemStats = (signal) => {
          requests.push(url);
          return systemStats(signal);
        };
        return client;
      },
    });
    try {
      const snap = await mon.refresh();
      expect(snap[0]).toMatchObject({ url: down, reachable: false });
      expect(snap[0]!.problem).toMatch(/connection refused/);
      expect(snap[0]!.checkedAt).toBeGreaterThan(0);
      expect(requests).toEqual([]);
    } finally {
      await mon.dispose();
    }
  });

  it('tcpReachable: true on a listening port, false on a closed one and on a bad URL', async () => {
    expect(await tcpReachable(b.url, 1000)).toBe(true);
    expect(await tcpReachable(`http://127.0.0.1:${await getPort()}`, 1000)).toBe(false);
    expect(await tcpReachable('not a url', 1000)).toBe(false);
  });
});

describe('actions', () => {
  it('freeVram reaches every instance and reports per instance', async () => {
    const downPort = await getPort();
    const res = await freeVram([a.url, b.url, `http://127.0.0.1:${downPort}`]);
    expect(res.map((r) => r.ok)).toEqual([true, true, false]);
    expect(res[2]!.message).toMatch(/connection refused/);
    for (const f of [a, b])
      expect(f.calls.filter((c) => c.path === '/free').at(-1)?.body).toEqual({
        unload_models: true,
        free_memory: true,
      });
  });

  it('interrupt (with prompt id) and clearQueue', async () => {
    // A prompt that is not running is not interrupted (nor is whatever runs instead).
    const before = b.calls.filter((c) => c.path === '/interrupt').length;
    expect(await interrupt(b.url, 'p-1')).toMatchObject({
      ok: true,
      message: expect.stringContaining('no longer running'),
    });
    expect(b.calls.filter((c) => c.path === '/interrupt')).toHaveLength(before);
    expect(await clearQueue(b.url)).toMatchObject({ ok: true, message: 'removed 0 pending prompt(s)' });
    expect(b.calls.filter((c) => c.path === '/queue' && c.method === 'POST').at(-1)?.body).toEqual({
      clear: true,
    });
  });
});

describe('nvidia-smi', () => {
  it('absent binary → []', async () => {
    expect(await readLocalGpus('/nonexistent/nvidia-smi-xyz')).toEqual([]);
  });
});
