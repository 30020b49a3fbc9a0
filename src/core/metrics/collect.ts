import type { LunaCore } from '../app/luna-core.types.js';
import { renderExposition } from './exposition.js';
import { lunaMetrics, type MetricsInputs } from './luna-metrics.js';
import { processMetrics } from './process-metrics.js';

/**
 * The daemons the core supervises (`daemons:list`), each with its id. Disabled ones are left out:
 * they are not supervised, and a `luna_daemon_up 0` for them would only raise false alerts.
 */
async function daemonsOf(core: LunaCore): Promise<MetricsInputs['daemons']> {
  const r = await core.handlers['daemons:list']({}).catch(() => null);
  if (!r?.ok) return [{ id: 'default', snapshot: core.snapshot() }];
  return r.value.daemons.filter((d) => d.enabled).map((d) => ({ id: d.id, snapshot: d.snapshot }));
}

/**
 * The body of `GET /metrics`: the core's readings at this moment, in the Prometheus text format.
 * A reading that fails (GPU telemetry, ComfyUI) leaves its families empty rather than failing the
 * scrape: `luna_daemon_up` must get through whatever else is broken.
 */
export async function collectMetrics(core: LunaCore, version: string): Promise<string> {
  const [daemons, comfy, gpus] = await Promise.all([
    daemonsOf(core),
    core.handlers['comfy:list-instances']({}).catch(() => null),
    core.handlers['gpus:get']({}).catch(() => null),
  ]);
  return renderExposition([
    ...lunaMetrics({
      version,
      daemons,
      instances: comfy?.ok ? comfy.value.instances : [],
      jobsFailed: core.comfyJobsFailed?.() ?? new Map(),
      gpus: gpus?.ok ? gpus.value : null,
      now: Date.now(),
    }),
    ...processMetrics(),
  ]);
}
