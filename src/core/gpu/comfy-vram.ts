import type { ComfyInstance } from '../../shared/comfy-instance.js';

const GB = 1024 ** 3;
const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;

/** One instance's first GPU in the original `comfyui_vram` field names (docs/devices.md). */
function vramOf(i: ComfyInstance): Record<string, unknown> | null {
  const d = i.devices.find((x) => x.type !== 'cpu' && x.vramTotal > 0);
  if (!d) return null;
  const used = d.vramTotal - d.vramFree;
  return {
    url: i.url,
    device: d.name,
    total_gb: round(d.vramTotal / GB, 2),
    used_gb: round(used / GB, 2),
    free_gb: round(d.vramFree / GB, 2),
    percent: round((used / d.vramTotal) * 100, 1),
    // ComfyUI's HTTP API does not say how many models it holds (the original read it in-process).
    loaded_models_count: null,
  };
}

/**
 * `comfyui_vram` of `GET /luna/daemon/status`: the original's fields for the first reachable watched
 * instance with a GPU, plus `instances` with every one of them; `{}` when there is none, as before.
 * Figures come from each instance's `/system_stats` (device-wide, as the original's were).
 */
export function comfyuiVram(instances: readonly ComfyInstance[]): Record<string, unknown> {
  const all = instances.filter((i) => i.reachable).flatMap((i) => vramOf(i) ?? []);
  if (all.length === 0) return {};
  return { ...all[0]!, instances: all };
}
