import path from 'node:path';

import type { DaemonPreset } from '../../shared/contract/invoke.js';
import type { DaemonPresetId } from '../../shared/daemon-summary.js';
import type { LocalGpu } from '../../shared/comfy-instance.js';
import type { DaemonEntry, Settings } from '../../shared/settings-schema.js';

/**
 * The presets of `settings.daemons` (docs/settings.md, "Several daemons"). Each is built from the
 * current first daemon (its profile, command, environment and policies carry over) and, for "One
 * per GPU", from the GPUs this machine reports. Pure: the caller saves the result.
 */
export function daemonPresets(
  settings: Pick<Settings, 'comfyui'> & { daemons: readonly DaemonEntry[] },
  gpus: readonly Pick<LocalGpu, 'index' | 'name'>[],
): DaemonPreset[] {
  const base = settings.daemons[0];
  if (!base) return [];
  return [
    {
      id: 'single',
      name: 'One daemon',
      description: 'The first daemon only, as before several daemons existed.',
      daemons: [{ ...base, id: 'default', enabled: true }],
    },
    {
      id: 'split-clip-vae',
      name: 'Split CLIP + VAE (legacy generation)',
      description:
        'Two legacy daemons: CLIP on 19283 and VAE on 19284 (--service-type clip|vae). The legacy ' +
        'server binds its monitor on 19285 whatever it is told, so only the CLIP daemon uses that feed ' +
        '(docs/daemon-protocol.md).',
      daemons: [splitEntry(base, settings, 'clip'), splitEntry(base, settings, 'vae')],
    },
    {
      id: 'one-per-gpu',
      name: 'One per GPU',
      description:
        gpus.length > 0
          ? `One daemon per detected GPU (${gpus.length}), each with its CLIP, VAE and LLM pinned to it.`
          : 'No GPU was detected (nvidia-smi or AMD sysfs): this preset would keep one daemon on the CPU.',
      daemons:
        gpus.length > 0
          ? gpus.map((g, i) => gpuEntry(base, g, i))
          : [{ ...base, id: 'default', enabled: true }],
    },
  ];
}

/** The preset with this id, or null. */
export function findPreset(presets: readonly DaemonPreset[], id: DaemonPresetId): DaemonPreset | null {
  return presets.find((p) => p.id === id) ?? null;
}

/** Legacy `server.py` takes `--service-type` and `--port` (docs/daemon-protocol.md); 19284 is its VAE port. */
function splitEntry(
  base: DaemonEntry,
  settings: Pick<Settings, 'comfyui'>,
  type: 'clip' | 'vae',
): DaemonEntry {
  const port = type === 'clip' ? 19283 : 19284;
  const serviceArgs = ['--service-type', type];
  let args: string[];
  if (base.profile === 'simulator') {
    // The simulator is given --port/--ws-port by the launch profile; it needs to be told it is legacy.
    args = [
      ...withoutFlag(base.args, '--service-type'),
      ...(base.args.includes('--legacy') ? [] : ['--legacy']),
      ...serviceArgs,
    ];
  } else if (base.profile === 'comfyui' && base.args.length === 0 && settings.comfyui.path) {
    const script = path.join(
      settings.comfyui.path,
      'custom_nodes',
      'ComfyUI-Luna-Collection',
      'luna_daemon',
      'server.py',
    );
    args = [script, ...serviceArgs, '--port', String(port)];
  } else {
    args = [
      ...withoutFlag(withoutFlag(base.args, '--service-type'), '--port'),
      ...serviceArgs,
      '--port',
      String(port),
    ];
  }
  return {
    ...base,
    id: type,
    name: type === 'clip' ? 'CLIP (legacy)' : 'VAE (legacy)',
    enabled: true,
    generation: 'legacy',
    port,
    wsPort: type === 'clip' ? 19285 : 0,
    args,
  };
}

/** Ports 19283 + 10·i (monitor +2): clear of the legacy VAE port 19284 and the control port 19299. */
function gpuEntry(base: DaemonEntry, gpu: Pick<LocalGpu, 'index' | 'name'>, i: number): DaemonEntry {
  const device = `cuda:${gpu.index}`;
  return {
    ...base,
    id: `gpu${gpu.index}`,
    name: `GPU ${gpu.index} (${gpu.name})`,
    enabled: true,
    port: i === 0 ? base.port : 19283 + 10 * i,
    wsPort: i === 0 ? base.wsPort : 19285 + 10 * i,
    devices: { clip: device, vae: device, llm: device },
  };
}

/** `args` without `flag` and the value after it. */
function withoutFlag(args: readonly string[], flag: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === flag) i++;
    else out.push(args[i]!);
  }
  return out;
}
