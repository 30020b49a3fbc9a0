/** Local GPU figures for the ComfyUI view, from the GPU telemetry of `src/core/gpu`. */
import type { LocalGpu } from '../../shared/comfy-instance.js';
import { readGpuReport, toLocalGpus } from '../gpu/telemetry.js';

/** One reading (NVIDIA, else AMD sysfs). No telemetry → `[]`. Never throws. */
export async function readLocalGpus(command = 'nvidia-smi'): Promise<LocalGpu[]> {
  return toLocalGpus(await readGpuReport({ nvidiaSmi: command }));
}
