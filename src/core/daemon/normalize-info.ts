/**
 * Normalise `get_info` (current, docs/daemon-protocol.md §8.2) and `info` (legacy, §8.4) replies into
 * one `DaemonInfo`, so the rest of the app never sees which generation answered. Every field is
 * optional on input: older daemon versions lack some (e.g. @43405cf4 has no `attention_mode`).
 */
import type { DaemonInfo, LoadedModel, VramDevice } from '../../shared/daemon-info.js';
import type { Generation } from '../../shared/daemon-status.js';

type Rec = Record<string, unknown>;

function isRec(v: unknown): v is Rec {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function num(v: unknown, fallback = 0): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'bigint') return Number(v);
  return fallback;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function strList(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** `"cuda:10"` after `"cuda:2"`: sort device names by their numeric suffix. */
function byDevice(a: VramDevice, b: VramDevice): number {
  const na = Number(/(\d+)$/.exec(a.device)?.[1] ?? NaN);
  const nb = Number(/(\d+)$/.exec(b.device)?.[1] ?? NaN);
  if (Number.isFinite(na) && Number.isFinite(nb) && na !== nb) return na - nb;
  return a.device < b.device ? -1 : a.device > b.device ? 1 : 0;
}

/**
 * Deep copy of a decoded reply that is safe for JSON and structured clone: bigints become decimal
 * strings, byte arrays become number arrays, and `__proto__` keys stay own properties.
 */
export function toJsonSafe(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return Array.from(v);
  if (Array.isArray(v)) return v.map(toJsonSafe);
  if (isRec(v)) {
    const out: Rec = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === '__proto__')
        Object.defineProperty(out, k, {
          value: toJsonSafe(x),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      else out[k] = toJsonSafe(x);
    }
    return out;
  }
  return v;
}

function clipPoolOf(p: unknown): DaemonInfo['clipPool'] {
  if (!isRec(p)) return null;
  const workerIds = Array.isArray(p.worker_ids) ? p.worker_ids.length : 0;
  return {
    activeWorkers: num(p.active_workers),
    queueDepth: num(p.queue_depth),
    totalRequests: num(p.total_requests),
    // `workers_count` exists only in the current pool stats (workers.py @253ab933).
    workersCount: num(p.workers_count, workerIds),
  };
}

function currentVram(v: unknown): VramDevice[] {
  if (!isRec(v)) return [];
  const out: VramDevice[] = [];
  for (const [device, d] of Object.entries(v)) {
    if (!isRec(d)) continue;
    out.push({ device, usedGb: num(d.used_gb), totalGb: num(d.total_gb) });
  }
  return out.sort(byDevice);
}

function legacyVram(raw: Rec): VramDevice[] {
  if (Array.isArray(raw.gpus)) {
    const out: VramDevice[] = [];
    for (const g of raw.gpus) {
      if (!isRec(g)) continue;
      // Legacy numbers are the daemon's own torch usage; `reserved_gb` is what it holds (§8.4).
      out.push({
        device: `cuda:${num(g.id)}`,
        usedGb: num(g.reserved_gb, num(g.allocated_gb)),
        totalGb: num(g.total_gb),
      });
    }
    return out.sort(byDevice);
  }
  if (raw.vram_total_gb !== undefined) {
    return [
      { device: str(raw.device) ?? 'cuda', usedGb: num(raw.vram_used_gb), totalGb: num(raw.vram_total_gb) },
    ];
  }
  return [];
}

function currentModels(raw: Rec): LoadedModel[] {
  const models: LoadedModel[] = [];
  if (isRec(raw.clip_pool)) {
    for (const name of strList(raw.clip_pool.loaded_models))
      models.push({ name, source: 'clip_pool', type: 'clip' });
  }
  if (Array.isArray(raw.weight_registry_models)) {
    for (const m of raw.weight_registry_models) {
      if (!isRec(m)) continue;
      const name = str(m.key) ?? str(m.path) ?? 'unknown';
      const model: LoadedModel = { name, source: 'weight_registry' };
      const type = str(m.type);
      if (type !== undefined) model.type = type;
      const device = str(m.device);
      if (device !== undefined) model.device = device;
      if (m.memory_gb !== undefined) model.memoryGb = num(m.memory_gb);
      else if (m.memory_mb !== undefined) model.memoryGb = num(m.memory_mb) / 1024;
      models.push(model);
    }
  }
  return models;
}

function legacyModels(raw: Rec): LoadedModel[] {
  const models: LoadedModel[] = [];
  const device = str(raw.device);
  const add = (name: string, type: string): void => {
    const m: LoadedModel = { name, source: 'legacy', type };
    if (device !== undefined) m.device = device;
    models.push(m);
  };
  for (const name of strList(raw.loaded_clip)) add(name, 'clip');
  for (const name of strList(raw.loaded_vae)) add(name, 'vae');
  return models;
}

/** Options of {@link normalizeInfo}. */
export interface NormalizeInfoOptions {
  /**
   * `raw` is already JSON-safe because it came out of `JSON.parse` (the WebSocket feed): it is kept
   * as `raw` instead of being deep-copied by {@link toJsonSafe}. JSON has no bigints and no byte
   * arrays, and `JSON.parse` already makes `__proto__` an own property, so the copy would be equal.
   * The caller must not mutate it afterwards.
   */
  jsonSafe?: boolean;
}

/** Normalise a decoded `get_info` (current) or `info` (legacy) reply. Missing fields get neutral defaults. */
export function normalizeInfo(
  raw: unknown,
  generation: Generation,
  options: NormalizeInfoOptions = {},
): DaemonInfo {
  const r: Rec = isRec(raw) ? raw : {};
  const safeRaw = options.jsonSafe ? r : (toJsonSafe(r) as Rec);
  if (generation === 'current') {
    const devices = isRec(r.devices) ? r.devices : {};
    const dev: DaemonInfo['devices'] = {};
    if (str(devices.clip) !== undefined) dev.clip = str(devices.clip);
    if (str(devices.vae) !== undefined) dev.vae = str(devices.vae);
    if (str(devices.llm) !== undefined) dev.llm = str(devices.llm);
    return {
      generation,
      status: str(r.status) ?? 'unknown',
      uptimeSec: num(r.uptime_sec),
      requestCount: num(r.request_count),
      clipRequestCount: num(r.clip_request_count),
      vaeRequestCount: num(r.vae_request_count),
      serviceType: str(r.service_type) ?? 'unknown',
      attentionMode: str(r.attention_mode) ?? null,
      devices: dev,
      vram: currentVram(r.vram),
      models: currentModels(r),
      clipPool: clipPoolOf(r.clip_pool),
      raw: safeRaw,
    };
  }
  const device = str(r.device);
  const vaePool = isRec(r.vae_pool) ? r.vae_pool : undefined;
  const clipPool = clipPoolOf(r.clip_pool);
  return {
    generation,
    status: str(r.status) ?? 'unknown',
    uptimeSec: num(r.uptime_seconds),
    // Legacy `request_count` counts work requests only; `total_requests` counts everything (§8.4).
    requestCount: num(r.total_requests, num(r.request_count)),
    clipRequestCount: clipPool?.totalRequests ?? 0,
    vaeRequestCount: vaePool ? num(vaePool.total_requests) : 0,
    serviceType: str(r.service_type) ?? 'unknown',
    attentionMode: null,
    // The legacy server has one device for everything it runs.
    devices: device === undefined ? {} : { clip: device, vae: device },
    vram: legacyVram(r),
    models: legacyModels(r),
    clipPool,
    raw: safeRaw,
  };
}
