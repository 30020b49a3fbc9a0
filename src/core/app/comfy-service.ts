import type { ComfyInstance, LocalGpu } from '../../shared/comfy-instance.js';
import { err, ok } from '../../shared/contract/result.js';
import type { Settings } from '../../shared/settings-schema.js';
import {
  clearQueue,
  createComfyMonitor,
  freeVram,
  interrupt,
  type ComfyInstanceError,
  type ComfyJobFinished,
  type ComfyMonitor,
} from '../comfyui/monitor.js';
import { readLocalGpus } from '../comfyui/nvidia-smi.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import type { ComfyService } from './luna-core.js';

/** One line for a finished job (webhook message, desktop notification). */
export function describeFinishedJob(job: { promptId: string; durationMs: number | null }): string {
  return `Prompt ${job.promptId} finished${job.durationMs !== null ? ` in ${(job.durationMs / 1000).toFixed(1)} s` : ''}.`;
}

/** How often local GPU figures are read from `nvidia-smi` (when it exists). */
const GPU_POLL_MS = 5_000;

interface ServiceEvents {
  change: { instances: ComfyInstance[]; gpus: LocalGpu[] };
  jobFailed: { url: string; error: ComfyInstanceError };
  jobFinished: { url: string; job: ComfyJobFinished };
}

/**
 * The ComfyUI side of the core: the instance monitor (rebuilt when `comfyui.*` settings change),
 * local GPU figures from `nvidia-smi` (absent → an empty list, and the panel hides the section),
 * and the Free VRAM / Interrupt / Clear queue actions.
 */
export function createComfyService(opts: { readGpus?: () => Promise<LocalGpu[]> } = {}): ComfyService & {
  onJobFailed(listener: (url: string, error: ComfyInstanceError) => void): () => void;
  onJobFinished(listener: (url: string, job: ComfyJobFinished) => void): () => void;
} {
  const emitter = new (class extends TypedEmitter<ServiceEvents> {
    fire<K extends keyof ServiceEvents>(k: K, v: ServiceEvents[K]) {
      this.emit(k, v);
    }
  })();
  let readGpus = opts.readGpus ?? (() => readLocalGpus());
  let monitor: ComfyMonitor | null = null;
  let current: Settings['comfyui'] | null = null;
  let gpus: LocalGpu[] = [];
  let gpuTimer: NodeJS.Timeout | null = null;
  let gpuCheckedOnce = false;

  const fireChange = () => emitter.fire('change', { instances: monitor?.snapshot() ?? [], gpus });

  const pollGpus = async () => {
    const next = await readGpus().catch(() => [] as LocalGpu[]);
    const changed = JSON.stringify(next) !== JSON.stringify(gpus);
    gpus = next;
    if (changed) fireChange();
    // No nvidia-smi on this machine: stop asking (the first empty answer settles it).
    if (!gpuCheckedOnce && next.length === 0) return;
    gpuCheckedOnce = true;
    gpuTimer = setTimeout(() => void pollGpus(), GPU_POLL_MS);
    gpuTimer.unref?.();
  };

  return {
    instances: () => monitor?.snapshot() ?? [],
    gpus: () => gpus,
    onChange: (listener) => emitter.on('change', ({ instances, gpus: g }) => listener(instances, g)),
    setGpuReader(read) {
      readGpus = read;
    },
    onJobFailed: (listener) => emitter.on('jobFailed', ({ url, error }) => listener(url, error)),
    onJobFinished: (listener) => emitter.on('jobFinished', ({ url, job }) => listener(url, job)),
    configure(settings) {
      const rebuild =
        !current ||
        current.discover !== settings.discover ||
        current.pollIntervalSec !== settings.pollIntervalSec;
      if (rebuild) {
        void monitor?.dispose();
        monitor = createComfyMonitor({
          instances: settings.instances,
          discover: settings.discover,
          pollIntervalMs: settings.pollIntervalSec * 1000,
          onChange: () => fireChange(),
          onJobFailed: (url, error) => emitter.fire('jobFailed', { url, error }),
          onJobFinished: (url, job) => emitter.fire('jobFinished', { url, job }),
        });
        void monitor.refresh().catch(() => undefined);
      } else if (JSON.stringify(current?.instances) !== JSON.stringify(settings.instances)) {
        monitor?.setInstances(settings.instances);
      }
      current = settings;
      if (!gpuTimer && !gpuCheckedOnce) void pollGpus();
    },
    async freeVram() {
      const all = monitor?.snapshot() ?? [];
      const reachable = all.filter((i) => i.reachable).map((i) => i.url);
      const results = await freeVram(reachable);
      const skipped = all
        .filter((i) => !i.reachable)
        .map((i) => ({ url: i.url, ok: true, message: `not reachable (${i.problem ?? 'down'}): skipped` }));
      void monitor?.refresh().catch(() => undefined);
      return [...results, ...skipped];
    },
    async interrupt(url, promptId) {
      const r = await interrupt(url, promptId);
      return r.ok ? ok({ message: r.message }) : err('operation-failed', r.message);
    },
    reportProgress(p) {
      return monitor?.reportProgress(p)
        ? ok({ message: 'progress noted' })
        : err('not-found', `${p.url} is not a watched ComfyUI instance`);
    },
    dismissError(url) {
      return monitor?.dismissError(url)
        ? ok({ message: 'last error dismissed' })
        : err('not-found', `${url} is not a watched ComfyUI instance`);
    },
    async clearQueue(url) {
      const r = await clearQueue(url);
      return r.ok ? ok({ message: r.message }) : err('operation-failed', r.message);
    },
    dispose() {
      if (gpuTimer) clearTimeout(gpuTimer);
      void monitor?.dispose();
      monitor = null;
    },
  };
}
