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

/** One daemon's device calls and snapshot, as the `devices:*` handlers need them. */
export interface DaemonDeviceTarget {
  devices: DaemonDevices;
  snapshot: () => DaemonSnapshot;
}

/**
 * The contract handlers of the Devices view: daemon devices, attention mode, GPU telemetry. `target`
 * resolves a request's `daemon` id (absent = the first daemon); null answers `not-found`.
 */
export function createGpuHandlers(opts: {
  target: (id: string | undefined) => DaemonDeviceTarget | null;
  telemetry: GpuTelemetry;
}): Pick<InvokeHandlers, GpuChannels> {
  const { telemetry } = opts;
  const unknown = (id: string | undefined) =>
    err('not-found', `No daemon "${id ?? ''}" (\`luna-tray status\` lists the daemons).`);
  return {
    'devices:get': async ({ daemon }) => {
      const t = opts.target(daemon);
      if (!t) return unknown(daemon);
      const r = await t.devices.get();
      if (!r.ok) return failed(r);
      const d = (r.reply.devices ?? {}) as Record<string, unknown>;
      const gpus = Array.isArray(r.reply.available_gpus) ? r.reply.available_gpus : [];
      return ok({
        devices: { clip: str(d.clip), vae: str(d.vae), llm: str(d.llm) },
        availableGpus: gpus.filter((g): g is string => typeof g === 'string'),
        hasCuda: r.reply.has_cuda === true,
        attentionMode: t.snapshot().info?.attentionMode ?? null,
      });
    },
    'devices:set-device': async ({ daemon, component, device }) => {
      const t = opts.target(daemon);
      if (!t) return unknown(daemon);
      const r = await t.devices.setDevice(component, device);
      if (!r.ok) return failed(r);
      return ok({
        oldDevice: str(r.reply.old_device) ?? '',
        newDevice: str(r.reply.new_device) ?? device,
        message: str(r.reply.message) ?? '',
      });
    },
    'devices:set-attention-mode': async ({ daemon, mode }) => {
      const t = opts.target(daemon);
      if (!t) return unknown(daemon);
      const r = await t.devices.setAttentionMode(mode);
      if (!r.ok) return failed(r);
      return ok({ mode: str(r.reply.mode) ?? mode, message: str(r.reply.message) ?? '' });
    },
    'gpus:get': async () => ok(await telemetry.sample()),
    'gpus:get-history': async () => ok(telemetry.history()),
  };
}
