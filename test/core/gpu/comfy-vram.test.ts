import { describe, expect, it } from 'vitest';

import { comfyuiVram } from '../../../src/core/gpu/comfy-vram.js';
import { lunaStatusJson } from '../../../src/core/control/luna-status.js';
import type { ComfyInstance } from '../../../src/shared/comfy-instance.js';
import type { DaemonSnapshot } from '../../../src/shared/snapshot.js';

const GiB = 1024 ** 3;

function instance(url: string, reachable: boolean, devices: ComfyInstance['devices']): ComfyInstance {
  return {
    url,
    reachable,
    devices,
    queue: { running: 0, pending: 0 },
    progress: null,
    lastError: null,
    checkedAt: 1,
    discovered: false,
  } as unknown as ComfyInstance;
}

describe('comfyui_vram from the watched instances', () => {
  const a = instance('http://127.0.0.1:8188', true, [
    {
      name: 'cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync',
      type: 'cuda',
      index: 0,
      vramTotal: 24 * GiB,
      vramFree: 18 * GiB,
    },
  ]);
  const cpuOnly = instance('http://127.0.0.1:8189', true, [
    { name: 'cpu', type: 'cpu', index: null, vramTotal: 0, vramFree: 0 },
  ]);
  const down = instance('http://127.0.0.1:8190', false, [
    { name: 'cuda:1', type: 'cuda', index: 1, vramTotal: 12 * GiB, vramFree: 1 * GiB },
  ]);

  it('the original fields for the first reachable instance with a GPU, and every instance', () => {
    const v = comfyuiVram([cpuOnly, down, a]);
    const first = {
      url: a.url,
      device: 'cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync',
      total_gb: 24,
      used_gb: 6,
      free_gb: 18,
      percent: 25,
      loaded_models_count: null,
    };
    expect(v).toEqual({ ...first, instances: [first] });
  });

  it('is {} with no reachable GPU instance, and GET /luna/daemon/status carries it', () => {
    expect(comfyuiVram([cpuOnly, down])).toEqual({});
    const snap = {
      status: { state: 'running', at: 1, pid: 1, since: 1, adopted: false, generation: 'current' },
      info: {
        generation: 'current',
        status: 'running',
        uptimeSec: 1,
        requestCount: 0,
        clipRequestCount: 0,
        vaeRequestCount: 0,
        serviceType: 'FULL',
        attentionMode: 'auto',
        devices: {},
        vram: [],
        models: [],
        clipPool: null,
        raw: {},
      },
      infoAt: 1,
      restarts: 0,
      lastExit: null,
      process: null,
      warnings: [],
      logSeq: 0,
    } as unknown as DaemonSnapshot;
    expect(lunaStatusJson(snap, [a]).comfyui_vram).toMatchObject({ used_gb: 6, total_gb: 24 });
    expect(lunaStatusJson(snap).comfyui_vram).toEqual({});
  });
});
