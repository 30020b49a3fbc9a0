import { spawn } from 'node:child_process';

import { afterEach, describe, expect, it } from 'vitest';

import { readAmd } from '../../../src/core/gpu/amd.js';
import { parseNvidiaApps, parseNvidiaGpus, readNvidia } from '../../../src/core/gpu/nvidia.js';
import { createGpuTelemetry, readGpuReport } from '../../../src/core/gpu/telemetry.js';
import { createHolderResolver, type Holder } from '../../../src/core/gpu/vram-holders.js';
import { killAllTracked, sleep, track, waitFor } from '../../helpers/processes.js';
import { fakeNvidiaSmi, fakeSysfs, nvidiaFixture, type FakeNvidiaSmi } from './fake-gpu.js';

const UUID0 = 'GPU-1b2c3d4e-0000-1111-2222-333344445555';
const UUID1 = 'GPU-9f8e7d6c-aaaa-bbbb-cccc-ddddeeeeffff';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
  killAllTracked();
});
function smi(gpus?: string, apps?: string): FakeNvidiaSmi {
  const f = fakeNvidiaSmi(gpus, apps);
  cleanups.push(f.restore);
  return f;
}

describe('nvidia-smi parsing', () => {
  it('reads every GPU column, [N/A] and [Not Supported] as null, a comma inside a name', () => {
    expect(parseNvidiaGpus(nvidiaFixture('gpus.csv'))).toEqual([
      {
        index: 0,
        uuid: UUID0,
        busId: '00000000:01:00.0',
        name: 'NVIDIA GeForce RTX 4090',
        memoryTotalMiB: 24564,
        memoryUsedMiB: 10240,
        memoryFreeMiB: 14035,
        utilizationPercent: 37,
        temperatureC: 61,
        powerW: 112.45,
      },
      {
        index: 1,
        uuid: UUID1,
        busId: '00000000:02:00.0',
        name: 'NVIDIA RTX A6000, Rev. 2',
        memoryTotalMiB: 49140,
        memoryUsedMiB: 512,
        memoryFreeMiB: 48628,
        utilizationPercent: null,
        temperatureC: null,
        powerW: null,
      },
    ]);
    expect(parseNvidiaGpus('No devices were found\n')).toEqual([]);
  });

  it('reads compute processes, commas in process names, Windows N/A memory, none at all', () => {
    expect(parseNvidiaApps(nvidiaFixture('apps.csv'))).toEqual([
      { gpuUuid: UUID0, pid: 4242, name: '/usr/bin/python3', usedMiB: 6144 },
      { gpuUuid: UUID0, pid: 5151, name: 'python', usedMiB: 3072 },
      { gpuUuid: UUID1, pid: 777, name: '/opt/Render, Inc/bin/render', usedMiB: 256 },
    ]);
    expect(parseNvidiaApps(nvidiaFixture('apps-windows.csv'))).toEqual([
      { gpuUuid: UUID0, pid: 4242, name: 'C:\\Python311\\python.exe', usedMiB: null },
      { gpuUuid: UUID0, pid: 9000, name: 'C:\\Program Files\\Foo, Inc\\foo.exe', usedMiB: null },
    ]);
    expect(parseNvidiaApps(nvidiaFixture('apps-none.csv'))).toEqual([]);
  });

  it('runs the `nvidia-smi` found first on PATH with both queries', async () => {
    const f = smi();
    f.onPath();
    const r = await readNvidia();
    expect(r.ok && r.gpus.map((g) => g.uuid)).toEqual([UUID0, UUID1]);
    expect(r.ok && r.processes.length).toBe(3);
    expect(f.calls()).toEqual([
      expect.stringMatching(
        /^--query-gpu=index,uuid,pci\.bus_id,name,memory\.total,memory\.used,memory\.free,utilization\.gpu,temperature\.gpu,power\.draw$/,
      ),
      '--query-compute-apps=gpu_uuid,pid,process_name,used_memory',
    ]);
  });

  it('a missing or failing nvidia-smi is reported, not thrown', async () => {
    expect(await readNvidia('/nonexistent/nvidia-smi')).toEqual({
      ok: false,
      missing: true,
      message: '/nonexistent/nvidia-smi was not found',
    });
    const f = smi();
    f.fail("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.");
    const r = await readNvidia(f.command);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.missing).toBe(false);
  });
});

describe('AMD sysfs', () => {
  it('reads VRAM, busy %, temperature and power per card, keyed by PCI slot; ignores connectors', async () => {
    const sys = fakeSysfs([
      {
        busId: '0000:03:00.0',
        totalBytes: 16 * 1024 ** 3,
        usedBytes: 3 * 1024 ** 3,
        busy: 12,
        productName: 'Radeon RX 6800',
        tempMilliC: 48000,
        powerMicroW: 35_500_000,
      },
      { busId: '0000:0a:00.0', totalBytes: 512 * 1024 ** 2, usedBytes: 100 * 1024 ** 2 },
    ]);
    cleanups.push(sys.cleanup);
    expect(await readAmd(sys.root)).toEqual([
      {
        index: 0,
        busId: '0000:03:00.0',
        name: 'Radeon RX 6800',
        memoryTotalMiB: 16384,
        memoryUsedMiB: 3072,
        utilizationPercent: 12,
        temperatureC: 48,
        powerW: 35.5,
      },
      {
        index: 1,
        busId: '0000:0a:00.0',
        name: 'AMD GPU (device 0x73bf)',
        memoryTotalMiB: 512,
        memoryUsedMiB: 100,
        utilizationPercent: null,
        temperatureC: null,
        powerW: null,
      },
    ]);
    expect(await readAmd('/nonexistent-root')).toEqual([]);
  });
});

describe('the GPU report', () => {
  const holders = new Map<number, Holder>([
    [4242, { role: 'daemon' }],
    [5151, { role: 'comfyui', instance: 'http://127.0.0.1:8188' }],
  ]);

  it('NVIDIA: GPUs keyed by uuid, processes with their holder, memory split daemon/ComfyUI/other', async () => {
    const f = smi();
    const r = await readGpuReport({
      nvidiaSmi: f.command,
      resolveHolders: async () => holders,
      now: () => 5,
    });
    expect(r.source).toBe('nvidia');
    expect(r.sampledAt).toBe(5);
    expect(r.gpus.map((g) => g.key)).toEqual([UUID0, UUID1]);
    expect(r.gpus[0]!.processes).toEqual([
      { pid: 4242, name: '/usr/bin/python3', usedMiB: 6144, role: 'daemon' },
      { pid: 5151, name: 'python', usedMiB: 3072, role: 'comfyui', instance: 'http://127.0.0.1:8188' },
    ]);
    expect(r.gpus[0]!.split).toEqual({ daemonMiB: 6144, comfyuiMiB: 3072, otherMiB: 1024 });
    expect(r.gpus[1]!.split).toEqual({ daemonMiB: 0, comfyuiMiB: 0, otherMiB: 512 });
  });

  it('Windows (all per-process memory N/A): holders listed, the whole use counted as other', async () => {
    const f = smi('gpus.csv', 'apps-windows.csv');
    const r = await readGpuReport({ nvidiaSmi: f.command, resolveHolders: async () => holders });
    expect(r.gpus[0]!.processes.map((p) => [p.pid, p.usedMiB, p.role])).toEqual([
      [4242, null, 'daemon'],
      [9000, null, 'other'],
    ]);
    expect(r.gpus[0]!.split).toEqual({ daemonMiB: 0, comfyuiMiB: 0, otherMiB: 10240 });
  });

  it('falls back to AMD sysfs, then to an explicit "no GPU telemetry" state', async () => {
    const sys = fakeSysfs([{ busId: '0000:03:00.0', totalBytes: 8 * 1024 ** 3, usedBytes: 1024 ** 3 }]);
    cleanups.push(sys.cleanup);
    const amd = await readGpuReport({ nvidiaSmi: '/nonexistent/nvidia-smi', sysfsRoot: sys.root });
    expect(amd.source).toBe('amd');
    expect(amd.gpus.map((g) => [g.key, g.vendor, g.memoryFreeMiB, g.split.otherMiB])).toEqual([
      ['0000:03:00.0', 'amd', 7168, 1024],
    ]);
    const none = await readGpuReport({ nvidiaSmi: '/nonexistent/nvidia-smi', sysfsRoot: '/nonexistent' });
    expect(none).toMatchObject({ source: 'none', gpus: [] });
    expect(none.message).toMatch(/^No GPU telemetry: nvidia-smi was not found, and no AMD GPU/);
  });
});

describe('on-demand sampling', () => {
  it('never runs nvidia-smi while nobody watches, once per interval while watched, and stops after', async () => {
    const f = smi();
    const t = createGpuTelemetry({ nvidiaSmi: f.command, intervalMs: 150, leaseMs: 500 });
    cleanups.push(() => t.dispose());
    await sleep(400);
    expect(f.calls()).toEqual([]);
    // Many concurrent callers share one reading.
    const reports = await Promise.all([t.sample(), t.sample(), t.sample(), t.localGpus()]);
    expect(reports[0]).toBe(reports[1]);
    expect(f.calls().filter((c) => c.startsWith('--query-gpu'))).toHaveLength(1);
    // While the lease holds, the sampler feeds the history ring …
    await waitFor(() => (t.history().gpus[0]?.points.length ?? 0) >= 3, 'history points', 3_000);
    // … and it stops once nobody asked for a while.
    await sleep(700);
    const settled = f.calls().length;
    await sleep(500);
    expect(f.calls().length).toBe(settled);
    const queries = f.calls().filter((c) => c.startsWith('--query-gpu')).length;
    // 500 ms lease (+ the last history() call's lease) at one reading per 150 ms, never more.
    expect(queries).toBeLessThanOrEqual(Math.ceil(1_400 / 150) + 1);
    const h = t.history();
    expect(h.intervalMs).toBe(150);
    expect(h.gpus.map((g) => g.key)).toEqual([UUID0, UUID1]);
    expect(h.gpus[0]!.points[0]).toMatchObject({ usedMiB: 10240, totalMiB: 24564, otherMiB: 10240 });
  });

  it('peekLocalGpus reads once, then only returns the last reading', async () => {
    const f = smi();
    const t = createGpuTelemetry({ nvidiaSmi: f.command, intervalMs: 50, leaseMs: 0 });
    cleanups.push(() => t.dispose());
    expect((await t.peekLocalGpus()).map((g) => g.name)).toEqual([
      'NVIDIA GeForce RTX 4090',
      'NVIDIA RTX A6000, Rev. 2',
    ]);
    await sleep(120);
    await t.peekLocalGpus();
    await t.peekLocalGpus();
    expect(f.calls().filter((c) => c.startsWith('--query-gpu'))).toHaveLength(1);
    await t.localGpus();
    expect(f.calls().filter((c) => c.startsWith('--query-gpu'))).toHaveLength(2);
  });

  it('an explicit watcher keeps sampling; the history ring is bounded', async () => {
    const f = smi();
    const t = createGpuTelemetry({ nvidiaSmi: f.command, intervalMs: 50, historyMs: 200, leaseMs: 0 });
    cleanups.push(() => t.dispose());
    const stop = t.watch();
    await waitFor(() => f.calls().filter((c) => c.startsWith('--query-gpu')).length >= 8, 'samples', 5_000);
    expect(t.history().gpus[0]!.points).toHaveLength(4);
    stop();
    await sleep(150);
    const n = f.calls().length;
    await sleep(300);
    expect(f.calls().length).toBe(n);
  });
});

describe('who holds the VRAM', () => {
  it('daemon = its PID or a descendant; ComfyUI = the owner of its loopback port; else other', async () => {
    const parent = process.pid;
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    track(child.pid);
    const owners: [number, string][] = [];
    const resolver = createHolderResolver({
      daemonPid: () => parent,
      comfyUrls: () => ['http://127.0.0.1:8188', 'http://gpu-box.lan:8188'],
      findOwner: async (port, host) => {
        owners.push([port, host]);
        return { pid: 5151, name: 'python' };
      },
    });
    const r = await resolver.resolve([child.pid!, parent, 5151, 999_999_999]);
    expect(r.get(child.pid!)).toEqual({ role: 'daemon' });
    expect(r.get(parent)).toEqual({ role: 'daemon' });
    expect(r.get(5151)).toEqual({ role: 'comfyui', instance: 'http://127.0.0.1:8188' });
    // A PID whose parents cannot be seen is never credited to the daemon.
    expect(r.get(999_999_999)).toEqual({ role: 'other' });
    // Only the loopback instance was looked up, on any address, and the answer is cached.
    await resolver.resolve([5151]);
    expect(owners).toEqual([[8188, '']]);
  });
});
