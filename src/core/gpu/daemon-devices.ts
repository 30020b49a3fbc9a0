import type { ApiErrorCode } from '../../shared/contract/result.js';
import type { DaemonSnapshot } from '../../shared/snapshot.js';
import type { DaemonConfig } from '../../shared/settings-schema.js';
import { toJsonSafe } from '../daemon/normalize-info.js';
import { LunaClient } from '../daemon/luna-client.js';
import type { SettingsStore } from '../settings/settings-store.js';

/** The daemon components whose device can be moved (spec: `set_clip_device` and friends). */
export const DEVICE_COMPONENTS = ['clip', 'vae', 'llm'] as const;
export type DeviceComponent = (typeof DEVICE_COMPONENTS)[number];

/** Attention modes the current daemon accepts (`sage` and `xformers` are refused by it). */
export const ATTENTION_MODES = ['auto', 'flash', 'split', 'pytorch'] as const;

/**
 * One device call as the original ComfyUI-side routes report it: `reply` is the daemon's own reply
 * dict (JSON-safe), or `{success: false, error}` built the way those routes build it; `code` says
 * why a call failed, for the HTTP status and the typed contract.
 */
export type DeviceCallResult =
  | { ok: true; reply: Record<string, unknown> }
  | { ok: false; code: ApiErrorCode; error: string; reply: Record<string, unknown> };

export interface DaemonDevices {
  /** `get_devices`, passed through. */
  get(): Promise<DeviceCallResult>;
  /** `set_<component>_device`, passed through; a success is saved in `daemon.devices`. */
  setDevice(component: DeviceComponent, device: unknown): Promise<DeviceCallResult>;
  /** `set_attention_mode`, passed through; a success is saved in `daemon.attentionMode`. */
  setAttentionMode(mode: unknown): Promise<DeviceCallResult>;
}

export interface DaemonDevicesOptions {
  settingsStore: SettingsStore;
  /** Which entry of `settings.daemons` (default: the first); its devices are read and saved there. */
  daemonId?: string;
  snapshot: () => DaemonSnapshot;
  /** Reports a problem the caller should see in the log (a save that failed after a live change). */
  warn?: (message: string) => void;
  timeoutMs?: number;
}

const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));

const failure = (code: ApiErrorCode, error: string): DeviceCallResult => ({
  ok: false,
  code,
  error,
  reply: { success: false, error },
});

/**
 * The configuration calls of the daemon (device per component, attention mode): live on the
 * running daemon first, then saved so the supervisor re-applies them after every (re)start
 * (docs/devices.md). Refusals keep the daemon's own words.
 */
export function createDaemonDevices(opts: DaemonDevicesOptions): DaemonDevices {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const index = (): number => {
    const i = opts.settingsStore.get().daemons.findIndex((d) => d.id === opts.daemonId);
    return opts.daemonId === undefined || i < 0 ? 0 : i;
  };
  const config = (): DaemonConfig => opts.settingsStore.get().daemons[index()]!;

  /** The client of the running daemon, or the reason there is none. */
  function client(): LunaClient | DeviceCallResult {
    const s = opts.snapshot().status;
    if (s.state !== 'running' && s.state !== 'unresponsive') {
      return failure('not-running', 'The Luna daemon is not running.');
    }
    if (s.generation === 'legacy') {
      return failure('unavailable', 'The legacy Luna daemon has no device commands.');
    }
    const d = config();
    return new LunaClient({ host: d.host, port: d.port, generation: 'current', timeoutMs });
  }

  async function call(cmd: string, params: Record<string, string>): Promise<DeviceCallResult> {
    const c = client();
    if (!(c instanceof LunaClient)) return c;
    let value: unknown;
    try {
      value = toJsonSafe((await c.requestRaw(cmd, params)).value);
    } catch (e) {
      return failure('operation-failed', `No answer from the Luna daemon to "${cmd}": ${errorMessage(e)}`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return failure('operation-failed', `The Luna daemon's reply to "${cmd}" is not a dict.`);
    }
    const reply = value as Record<string, unknown>;
    if ('error' in reply || reply.success === false) {
      const text =
        typeof reply.error === 'string' && reply.error !== '' ? reply.error : JSON.stringify(reply);
      // The daemon judged the value itself (an unknown GPU, a mode it refuses): the caller's input.
      return { ok: false, code: 'invalid-input', error: text, reply };
    }
    return { ok: true, reply };
  }

  function save(patch: Partial<DaemonConfig>, what: string): void {
    const r = opts.settingsStore.update({ daemons: { [index()]: patch } });
    if (!r.ok) {
      opts.warn?.(
        `${what} was applied but not saved: ${r.issues.map((i) => `${i.key}: ${i.message}`).join('; ')}`,
      );
    }
  }

  return {
    get: () => call('get_devices', {}),
    async setDevice(component, device) {
      // The original route's own check, worded as it words it (docs/daemon-protocol.md §13).
      if (typeof device !== 'string' || device === '')
        return failure('invalid-input', 'device parameter required');
      const r = await call(`set_${component}_device`, { device });
      if (r.ok) {
        const applied = typeof r.reply.new_device === 'string' ? r.reply.new_device : device;
        const devices = { ...config().devices, [component]: applied };
        save({ devices }, `The ${component.toUpperCase()} device ${applied}`);
      }
      return r;
    },
    async setAttentionMode(mode) {
      if (typeof mode !== 'string' || mode === '') return failure('invalid-input', 'mode parameter required');
      const r = await call('set_attention_mode', { mode });
      if (r.ok) {
        const applied = typeof r.reply.mode === 'string' ? r.reply.mode : mode;
        if ((ATTENTION_MODES as readonly string[]).includes(applied)) {
          save({ attentionMode: applied as DaemonConfig['attentionMode'] }, `Attention mode ${applied}`);
        }
      }
      return r;
    },
  };
}
