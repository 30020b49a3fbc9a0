import { describe, expect, it } from 'vitest';

import { daemonInfoSchema } from '../../../src/shared/daemon-info.js';
import { normalizeInfo, toJsonSafe } from '../../../src/core/daemon/normalize-info.js';
import { decodePickle } from '../../../src/core/daemon/pickle-decode.js';

import { runPickleHelper } from './helpers.js';

describe('normalizeInfo', () => {
  it('normalises a realistic current get_info reply (Python-pickled)', () => {
    const raw = decodePickle(Buffer.from(runPickleHelper(['info']), 'hex'));
    const info = normalizeInfo(raw, 'current');
    expect(daemonInfoSchema.parse(info)).toEqual(info);
    expect(info).toMatchObject({
      generation: 'current',
      status: 'running',
      uptimeSec: 1234.5678,
      requestCount: 42,
      clipRequestCount: 17,
      vaeRequestCount: 0,
      serviceType: 'FULL',
      attentionMode: 'auto',
      devices: { clip: 'cuda:0', vae: 'cuda:1', llm: 'cuda:0' },
      vram: [
        { device: 'cuda:0', usedGb: 7.31, totalGb: 24 },
        { device: 'cuda:1', usedGb: 1.02, totalGb: 12 },
      ],
      clipPool: { activeWorkers: 1, queueDepth: 0, totalRequests: 17, workersCount: 1 },
    });
    expect(info.models).toEqual([
      { name: 'clip_l.safetensors', source: 'clip_pool', type: 'clip' },
      { name: 'clip_g.safetensors', source: 'clip_pool', type: 'clip' },
      {
        name: 'vae:sdxl_vae.safetensors',
        source: 'weight_registry',
        type: 'vae',
        device: 'cuda:1',
        memoryGb: 0.16,
      },
      {
        name: 'clip:clip_l+clip_g',
        source: 'weight_registry',
        type: 'clip',
        device: 'cuda:0',
        memoryGb: 1.58,
      },
    ]);
  });

  it('tolerates an old/minimal current reply (no pool, no vram, no attention_mode, no registry)', () => {
    const info = normalizeInfo({ status: 'running', uptime_sec: 3, request_count: 1 }, 'current');
    expect(daemonInfoSchema.parse(info)).toEqual(info);
    expect(info).toMatchObject({
      attentionMode: null,
      vram: [],
      models: [],
      clipPool: null,
      devices: {},
      serviceType: 'unknown',
    });
    expect(normalizeInfo(null, 'current').status).toBe('unknown');
  });

  it('sorts devices numerically and converts bigints in raw to strings', () => {
    const info = normalizeInfo(
      {
        vram: { 'cuda:10': { used_gb: 1, total_gb: 2 }, 'cuda:2': { used_gb: 1, total_gb: 2 } },
        big: 2n ** 64n,
        nested: [{ b: -(2n ** 60n) }],
      },
      'current',
    );
    expect(info.vram.map((v) => v.device)).toEqual(['cuda:2', 'cuda:10']);
    expect(info.raw.big).toBe('18446744073709551616');
    expect(info.raw.nested).toEqual([{ b: '-1152921504606846976' }]);
    expect(() => JSON.stringify(info)).not.toThrow();
    expect(toJsonSafe(new Uint8Array([1, 2]))).toEqual([1, 2]);
  });

  it('normalises a legacy info reply (gpus array, loaded_clip/loaded_vae)', () => {
    const info = normalizeInfo(
      {
        status: 'ok',
        version: '2.1-split',
        service_type: 'full',
        device: 'cuda:0',
        uptime_seconds: 99.5,
        request_count: 3,
        total_requests: 10,
        clip_pool: { type: 'clip', active_workers: 2, queue_depth: 1, total_requests: 5, worker_ids: [0, 1] },
        vae_pool: { type: 'vae', active_workers: 1, queue_depth: 0, total_requests: 4, worker_ids: [0] },
        loaded_clip: 'clip_l.safetensors',
        loaded_vae: 'ae.safetensors',
        gpus: [
          {
            id: 1,
            name: 'B',
            allocated_gb: 0.5,
            reserved_gb: 1.5,
            total_gb: 12,
            percent: 12.5,
            is_daemon_device: false,
          },
          {
            id: 0,
            name: 'A',
            allocated_gb: 1,
            reserved_gb: 2,
            total_gb: 24,
            percent: 8.3,
            is_daemon_device: true,
          },
        ],
      },
      'legacy',
    );
    expect(daemonInfoSchema.parse(info)).toEqual(info);
    expect(info).toMatchObject({
      generation: 'legacy',
      status: 'ok',
      uptimeSec: 99.5,
      requestCount: 10,
      clipRequestCount: 5,
      vaeRequestCount: 4,
      serviceType: 'full',
      attentionMode: null,
      devices: { clip: 'cuda:0', vae: 'cuda:0' },
      vram: [
        { device: 'cuda:0', usedGb: 2, totalGb: 24 },
        { device: 'cuda:1', usedGb: 1.5, totalGb: 12 },
      ],
      clipPool: { activeWorkers: 2, queueDepth: 1, totalRequests: 5, workersCount: 2 },
    });
    expect(info.models).toEqual([
      { name: 'clip_l.safetensors', source: 'legacy', type: 'clip', device: 'cuda:0' },
      { name: 'ae.safetensors', source: 'legacy', type: 'vae', device: 'cuda:0' },
    ]);
  });

  it('tolerates a minimal legacy reply', () => {
    const info = normalizeInfo({ status: 'ok' }, 'legacy');
    expect(daemonInfoSchema.parse(info)).toEqual(info);
    expect(info).toMatchObject({ vram: [], models: [], clipPool: null, devices: {} });
  });
});

describe('decoder throughput', () => {
  it('decodes a get_info reply well above the 50k/s target (loose bound here to stay robust on a busy CI)', () => {
    const bytes = Buffer.from(runPickleHelper(['info']), 'hex');
    for (let i = 0; i < 2000; i++) decodePickle(bytes);
    const n = 20_000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) decodePickle(bytes);
    const perSec = n / ((performance.now() - t0) / 1000);
    expect(perSec).toBeGreaterThan(20_000);
  });
});

describe('normalizeInfo on JSON input (the WebSocket feed)', () => {
  it('jsonSafe keeps the parsed object as raw, equal to the deep copy it replaces', () => {
    const raw = JSON.parse(
      '{"status": "running", "uptime_sec": 3.5, "__proto__": {"x": 1}, "vram": {"cuda:0": {"used_gb": 1, "total_gb": 8}}, "weight_registry_models": [{"key": "k", "memory_mb": 10}]}',
    ) as Record<string, unknown>;
    const copied = normalizeInfo(raw, 'current');
    const kept = normalizeInfo(raw, 'current', { jsonSafe: true });
    expect(kept.raw).toBe(raw);
    expect(copied.raw).not.toBe(raw);
    expect(kept).toEqual(copied);
    expect(JSON.stringify(kept)).toBe(JSON.stringify(copied));
    expect(Object.hasOwn(kept.raw, '__proto__')).toBe(true);
  });
});
