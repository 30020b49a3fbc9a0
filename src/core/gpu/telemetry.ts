import type { LocalGpu } from '../../shared/comfy-instance.js';
import type { Gpu, GpuReport, VramHistory, VramPoint } from '../../shared/gpu.js';
import { readAmd } from './amd.js';
import { readNvidia } from './nvidia.js';
import { splitVram, type Holder } from './vram-holders.js';

/**
 * On-demand GPU telemetry (docs/devices.md). Readings are taken only while somebody watches: a
 * caller of {@link GpuTelemetry.sample} or {@link GpuTelemetry.history} holds a lease for
 * `leaseMs`, an explicit {@link GpuTelemetry.watch} holds one until disposed. While watched, one
 * reading per `intervalMs` feeds the VRAM history ring; concurrent and repeated callers within an
 * interval share that reading, so `nvidia-smi` runs at most once per interval (one GPU query and
 * one process query).
 */
export interface GpuTelemetry {
  sample(): Promise<GpuReport>;
  history(): VramHistory;
  /** Keep sampling until the returned function is called (the tray tooltip, a CLI follower). */
  watch(): () => void;
  /** The reading in the ComfyUI view's older shape (`[]` without NVIDIA/AMD telemetry). */
  localGpus(): Promise<LocalGpu[]>;
  /** The last reading in that shape, read only if there was none yet (for pollers nobody watches). */
  peekLocalGpus(): Promise<LocalGpu[]>;
  /** Listen to every new reading (only fires while watched). */
  onSample(listener: (report: GpuReport) => void): () => void;
  dispose(): void;
}

export interface GpuTelemetryOptions {
  nvidiaSmi?: string;
  /** Root of the filesystem for the AMD sysfs files (tests pass a fake tree). */
  sysfsRoot?: string;
  intervalMs?: number;
  /** How much history the ring keeps (default 30 minutes). */
  historyMs?: number;
  /** How long one `sample()`/`history()` call keeps the sampler running. */
  leaseMs?: number;
  /** Who holds each PID (daemon, ComfyUI, other); everything is "other" without it. */
  resolveHolders?: (pids: number[]) => Promise<Map<number, Holder>>;
  now?: () => number;
}

/** One reading of every GPU, keyed by uuid or PCI bus id. Never throws. */
export async function readGpuReport(opts: GpuTelemetryOptions = {}): Promise<GpuReport> {
  const now = opts.now ?? Date.now;
  const nv = await readNvidia(opts.nvidiaSmi ?? 'nvidia-smi');
  if (nv.ok) {
    const holders = opts.resolveHolders
      ? await opts.resolveHolders(nv.processes.map((p) => p.pid)).catch(() => new Map<number, Holder>())
      : new Map<number, Holder>();
    const gpus: Gpu[] = nv.gpus.map((g) => {
      const processes = nv.processes
        .filter((p) => p.gpuUuid === g.uuid)
        .map((p) => ({
          pid: p.pid,
          name: p.name,
          usedMiB: p.usedMiB,
          ...(holders.get(p.pid) ?? { role: 'other' as const }),
        }));
      return {
        key: g.uuid ?? g.busId ?? `nvidia-index-${g.index}`,
        vendor: 'nvidia',
        ...g,
        processes,
        split: splitVram(g.memoryUsedMiB, processes),
      };
    });
    return { source: 'nvidia', message: null, sampledAt: now(), gpus };
  }
  const amd = await readAmd(opts.sysfsRoot ?? '/');
  if (amd.length > 0) {
    const gpus: Gpu[] = amd.map((g) => ({
      key: g.busId ?? `amd-card-${g.index}`,
      vendor: 'amd',
      uuid: null,
      memoryFreeMiB: Math.max(0, g.memoryTotalMiB - g.memoryUsedMiB),
      ...g,
      processes: [],
      split: splitVram(g.memoryUsedMiB, []),
    }));
    return { source: 'amd', message: 'AMD sysfs gives no per-process figures.', sampledAt: now(), gpus };
  }
  const why = nv.missing ? 'nvidia-smi was not found' : nv.message;
  return {
    source: 'none',
    message: `No GPU telemetry: ${why}, and no AMD GPU with VRAM figures in sysfs.`,
    sampledAt: now(),
    gpus: [],
  };
}

/** A reading in the ComfyUI view's shape (GPUs without memory figures are left out). */
export function toLocalGpus(r: GpuReport): LocalGpu[] {
  const out: LocalGpu[] = [];
  for (const g of r.gpus) {
    if (g.memoryUsedMiB === null || g.memoryTotalMiB === null) continue;
    out.push({
      index: g.index,
      name: g.name,
      utilizationPercent: g.utilizationPercent,
      temperatureC: g.temperatureC,
      memoryUsedMb: g.memoryUsedMiB,
      memoryTotalMb: g.memoryTotalMiB,
    });
  }
  return out;
}

export function createGpuTelemetry(opts: GpuTelemetryOptions = {}): GpuTelemetry {
  const now = opts.now ?? Date.now;
  const intervalMs = opts.intervalMs ?? 2_000;
  const capacity = Math.max(1, Math.ceil((opts.historyMs ?? 30 * 60_000) / intervalMs));
  const leaseMs = opts.leaseMs ?? 15_000;
  const ring = new Map<string, { name: string; points: VramPoint[] }>();
  const listeners = new Set<(r: GpuReport) => void>();
  let last: GpuReport | null = null;
  let inflight: Promise<GpuReport> | null = null;
  let leaseUntil = 0;
  let watchers = 0;
  let timer: NodeJS.Timeout | null = null;
  let disposed = false;

  const watched = () => !disposed && (watchers > 0 || now() < leaseUntil);

  function record(r: GpuReport): void {
    for (const g of r.gpus) {
      if (g.memoryUsedMiB === null || g.memoryTotalMiB === null) continue;
      let entry = ring.get(g.key);
      if (!entry) ring.set(g.key, (entry = { name: g.name, points: [] }));
      entry.points.push({
        at: r.sampledAt,
        usedMiB: g.memoryUsedMiB,
        totalMiB: g.memoryTotalMiB,
        ...g.split,
      });
      if (entry.points.length > capacity) entry.points.splice(0, entry.points.length - capacity);
    }
  }

  /** The shared reading: the last one while fresh, the one in flight, or a new one. */
  function read(): Promise<GpuReport> {
    if (last && now() - last.sampledAt < intervalMs) return Promise.resolve(last);
    inflight ??= readGpuReport(opts).then((r) => {
      inflight = null;
      last = r;
      record(r);
      for (const l of listeners) l(r);
      return r;
    });
    return inflight;
  }

  function schedule(): void {
    if (timer || !watched()) return;
    timer = setTimeout(() => {
      timer = null;
      if (!watched()) return;
      void read().finally(schedule);
    }, intervalMs);
    timer.unref?.();
  }

  const lease = () => {
    leaseUntil = Math.max(leaseUntil, now() + leaseMs);
    schedule();
  };

  return {
    sample() {
      lease();
      return read();
    },
    history() {
      lease();
      return {
        intervalMs,
        gpus: [...ring].map(([key, e]) => ({ key, name: e.name, points: [...e.points] })),
      };
    },
    watch() {
      watchers++;
      void read().finally(schedule);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        watchers--;
      };
    },
    localGpus: async () => toLocalGpus(await read()),
    peekLocalGpus: async () => toLocalGpus(last ?? (await read())),
    onSample(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    dispose() {
      disposed = true;
      if (timer) clearTimeout(timer);
      timer = null;
      listeners.clear();
    },
  };
}
