import type { InvokeHandlers } from '../../shared/contract/renderer-api.js';
import { err, ok } from '../../shared/contract/result.js';
import type { DaemonSnapshot } from '../../shared/snapshot.js';
import type { DaemonDevices, DeviceCallResult } from './daemon-devices.js';
import type { GpuTelemetry } from './telemetry.js';

type GpuChannels =
  'devices:get' | 'devices:set-device' | 'devices:set-attention-mode' | 'gpus:get' | 'gpus:get-history';

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** Map a failed device call to the contract's error envelope (the daemon's words kept). */
const failed = (r: Extract<DeviceCallResult, { ok: false }>) => err(r.code, r.error);

/** The contract handlers of the Devices view: daemon devices, attention mode, GPU telemetry. */
export function createGpuHandlers(opts: {
  devices: DaemonDevices;
  telemetry: GpuTelemetry;
  snapshot: () => DaemonSnapshot;
}): Pick<InvokeHandlers, GpuChannels> {
  const { devices, telemetry } = opts;
  return {
    'devices:get': async () => {
      const r = await devices.get();
      if (!r.ok) return failed(r);
      const d = (r.reply.devices ?? {}) as Record<string, unknown>;
      const gpus = Array.isArray(r.reply.available_gpus) ? r.reply.available_gpus : [];
      return ok({
        devices: { clip: str(d.clip), vae: str(d.vae), llm: str(d.llm) },
        availableGpus: gpus.filter((g): g is string => typeof g === 'string'),
        hasCuda: r.reply.has_cuda === true,
        attentionMode: opts.snapshot().info?.attentionMode ?? null,
      });
    },
    'devices:set-device': async ({ component, device }) => {
      const r = await devices.setDevice(component, device);
      if (!r.ok) return failed(r);
      return ok({
        oldDevice: str(r.reply.old_device) ?? '',
        newDevice: str(r.reply.new_device) ?? device,
        message: str(r.reply.message) ?? '',
      });
    },
    'devices:set-attention-mode': async ({ mode }) => {
      const r = await devices.setAttentionMode(mode);
      if (!r.ok) return failed(r);
      return ok({ mode: str(r.reply.mode) ?? mode, message: str(r.reply.message) ?? '' });
    },
    'gpus:get': async () => ok(await telemetry.sample()),
    'gpus:get-history': async () => ok(telemetry.history()),
  };
}
