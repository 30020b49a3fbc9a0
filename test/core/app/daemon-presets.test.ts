import { describe, expect, it } from 'vitest';

import { daemonPresets, findPreset } from '../../../src/core/app/daemon-presets.js';
import { daemonEntrySchema, defaultSettings } from '../../../src/shared/settings-schema.js';

const entry = (over: Record<string, unknown> = {}) =>
  daemonEntrySchema.parse({ id: 'default', name: 'Luna daemon', ...over });
const comfyui = defaultSettings().comfyui;

describe('daemon presets', () => {
  it('split CLIP + VAE: two legacy daemons on 19283/19284 with --service-type clip|vae', () => {
    const presets = daemonPresets(
      { comfyui, daemons: [entry({ profile: 'simulator', args: ['--startup-delay', '0'] })] },
      [],
    );
    const split = findPreset(presets, 'split-clip-vae')!;
    expect(split.name).toBe('Split CLIP + VAE (legacy generation)');
    expect(split.daemons.map((d) => [d.id, d.port, d.generation])).toEqual([
      ['clip', 19283, 'legacy'],
      ['vae', 19284, 'legacy'],
    ]);
    expect(split.daemons[0]!.args).toEqual(['--startup-delay', '0', '--legacy', '--service-type', 'clip']);
    expect(split.daemons[1]!.args).toEqual(['--startup-delay', '0', '--legacy', '--service-type', 'vae']);
    // The legacy server binds its monitor on 19285 whatever it is told: only one may use it.
    expect(split.daemons.map((d) => d.wsPort)).toEqual([19285, 0]);
  });

  it('split on the comfyui profile runs the legacy server.py with its own --port', () => {
    const presets = daemonPresets({ comfyui: { ...comfyui, path: '/opt/ComfyUI' }, daemons: [entry()] }, []);
    const vae = findPreset(presets, 'split-clip-vae')!.daemons[1]!;
    expect(vae.args[0]).toMatch(/ComfyUI-Luna-Collection[/\\]luna_daemon[/\\]server\.py$/);
    expect(vae.args.slice(1)).toEqual(['--service-type', 'vae', '--port', '19284']);
  });

  it('one per GPU: a daemon per detected GPU, pinned to it, on ports clear of 19284 and 19299', () => {
    const presets = daemonPresets({ comfyui, daemons: [entry()] }, [
      { index: 0, name: 'RTX 4090' },
      { index: 1, name: 'RTX 3090' },
      { index: 2, name: 'A4000' },
    ]);
    const perGpu = findPreset(presets, 'one-per-gpu')!;
    expect(perGpu.daemons.map((d) => [d.id, d.port, d.wsPort, d.devices.clip, d.devices.vae])).toEqual([
      ['gpu0', 19283, 19285, 'cuda:0', 'cuda:0'],
      ['gpu1', 19293, 19295, 'cuda:1', 'cuda:1'],
      ['gpu2', 19303, 19305, 'cuda:2', 'cuda:2'],
    ]);
    expect(perGpu.daemons[1]!.name).toBe('GPU 1 (RTX 3090)');
    for (const d of perGpu.daemons) expect(daemonEntrySchema.safeParse(d).success).toBe(true);
  });

  it('one per GPU without a GPU keeps one daemon and says why', () => {
    const perGpu = findPreset(daemonPresets({ comfyui, daemons: [entry()] }, []), 'one-per-gpu')!;
    expect(perGpu.daemons.map((d) => d.id)).toEqual(['default']);
    expect(perGpu.description).toMatch(/No GPU was detected/);
  });
});
