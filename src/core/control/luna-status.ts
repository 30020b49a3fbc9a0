import { colorOf, describeState } from '../../shared/daemon-state.js';
import type { ComfyInstance } from '../../shared/comfy-instance.js';
import type { DaemonSnapshot } from '../../shared/snapshot.js';
import { comfyuiVram } from '../gpu/comfy-vram.js';

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;
const basename = (p: string) => p.split(/[\\/]/).pop() ?? p;

/** Our own status fields, typed: the CLI's `status` prints them, and `lunaStatusJson` includes them. */
export function statusFacts(snap: DaemonSnapshot) {
  const s = snap.status;
  const info = snap.info;
  const adopted = s.state === 'running' || s.state === 'unresponsive' ? s.adopted : false;
  const generation =
    s.state === 'running' || s.state === 'unresponsive' ? s.generation : (info?.generation ?? null);
  const lastError = s.state === 'failed' || s.state === 'backoff' ? s.message : null;
  return {
    state: s.state,
    /** The state in words, as the panel shows it (e.g. `stopped (shut down from outside)`). */
    stateText: describeState(s),
    /** Why it is stopped: `initial`, `user` or `external-shutdown` (a `shutdown` from outside); null otherwise. */
    stoppedReason: s.state === 'stopped' ? s.reason : null,
    color: colorOf(s),
    pid: 'pid' in s ? s.pid : null,
    adopted,
    restarts: snap.restarts,
    generation,
    lastError,
    lastExitCode: snap.lastExit?.code ?? null,
    lastExitSignal: snap.lastExit?.signal ?? null,
    /** When the last exit happened (epoch ms): history, not the current run. */
    lastExitAt: snap.lastExit?.at ?? null,
    // Never negative: `since` is wall-clock time, and the clock may have been set back since (a
    // daemon's own uptime is clamped too).
    uptimeSec: Math.max(
      0,
      info
        ? Math.floor(info.uptimeSec)
        : s.state === 'running'
          ? Math.floor((Date.now() - s.since) / 1000)
          : 0,
    ),
    models: info ? info.models.map((m) => m.name) : [],
    vram: info ? info.vram.map((v) => ({ device: v.device, usedGb: v.usedGb, totalGb: v.totalGb })) : [],
    process: snap.process,
    warnings: snap.warnings.map((w) => w.message),
    at: s.at,
  };
}
export type StatusFacts = ReturnType<typeof statusFacts>;

/**
 * `GET /luna/daemon/status`: the field names of the original ComfyUI-side route (docs/daemon-protocol.md §13)
 * built from our snapshot, plus ours (`statusFacts`). The CLI's `status --json` prints it.
 */
export function lunaStatusJson(
  snap: DaemonSnapshot,
  comfyInstances: readonly ComfyInstance[] = [],
): Record<string, unknown> {
  const info = snap.info;
  const running = snap.status.state === 'running';
  const ours = statusFacts(snap);
  if (!running) return { running: false, ...ours };
  // Running, but the first get_info has not arrived yet: say so without inventing figures.
  if (!info) return { running: true, ...ours };
  const used = info.vram.reduce((a, v) => a + v.usedGb, 0);
  const total = info.vram.reduce((a, v) => a + v.totalGb, 0);
  const clipModels = info.models.filter((m) => m.source === 'clip_pool');
  return {
    running: true,
    device: info.devices.clip ?? null,
    vram_used_gb: round(used, 2),
    vram_allocated_gb: round(used, 2),
    vram_total_gb: round(total, 1),
    vram_percent: total > 0 ? round((used / total) * 100, 1) : 0,
    request_count: info.requestCount,
    clip_request_count: info.clipRequestCount,
    vae_request_count: info.vaeRequestCount,
    uptime_seconds: Math.max(0, Math.floor(info.uptimeSec)),
    models_loaded: clipModels.map((m) => `CLIP: ${basename(m.name)}`),
    checkpoints: [],
    gpus: info.vram.map((v) => {
      const id = v.device.replace(/^cuda:/, '');
      return {
        id,
        name: `GPU ${id}`,
        used_gb: v.usedGb,
        reserved_gb: v.usedGb,
        total_gb: v.totalGb,
        percent: v.totalGb > 0 ? round((v.usedGb / v.totalGb) * 100, 1) : 0,
        is_daemon_device: v.device === info.devices.clip,
      };
    }),
    vae_loaded: false,
    clip_loaded: (info.clipPool?.workersCount ?? 0) > 0,
    weight_registry_models: Array.isArray(info.raw.weight_registry_models)
      ? info.raw.weight_registry_models
      : [],
    comfyui_vram: comfyuiVram(comfyInstances),
    ...ours,
  };
}
