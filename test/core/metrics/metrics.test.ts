import { spawnSync } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import type { ComfyInstance } from '../../../src/shared/comfy-instance.js';
import type { GpuReport } from '../../../src/shared/gpu.js';
import type { DaemonSnapshot } from '../../../src/shared/snapshot.js';
import {
  escapeHelp,
  escapeLabelValue,
  formatValue,
  renderExposition,
} from '../../../src/core/metrics/exposition.js';
import { DAEMON_STATES, lunaMetrics, type MetricsInputs } from '../../../src/core/metrics/luna-metrics.js';
import { processMetrics } from '../../../src/core/metrics/process-metrics.js';

const NOW = 1_760_000_000_000;
/** Label values a peer controls: a model name and an instance URL with every character that needs escaping. */
const HOSTILE = 'evil"model\\name\nline2 ✓';
const HOSTILE_URL = 'http://127.0.0.1:8188/"\\\n';

function runningSnapshot(over: Partial<DaemonSnapshot> = {}): DaemonSnapshot {
  return {
    status: {
      state: 'running',
      at: NOW - 5_000,
      pid: 4242,
      since: NOW - 60_000,
      adopted: false,
      generation: 'current',
    },
    info: {
      generation: 'current',
      status: 'ok',
      uptimeSec: 58,
      requestCount: 17,
      clipRequestCount: 10,
      vaeRequestCount: 7,
      serviceType: 'full',
      attentionMode: null,
      devices: { clip: 'cuda:0', vae: 'cuda:0' },
      vram: [{ device: 'cuda:0', usedGb: 2.5, totalGb: 24 }],
      models: [
        { name: 'clip_l.safetensors', source: 'clip_pool', device: 'cuda:0', memoryGb: 0.25 },
        { name: HOSTILE, source: 'weight_registry', memoryGb: 1 },
        { name: 'no-size', source: 'legacy' },
      ],
      clipPool: null,
      raw: {},
    },
    infoAt: NOW - 2_000,
    restarts: 3,
    lastExit: null,
    process: { cpuPercent: 1.5, rssBytes: 123_456_789 },
    warnings: [],
    logSeq: 0,
    ...over,
  };
}

const gpuReport: GpuReport = {
  source: 'nvidia',
  message: null,
  sampledAt: NOW,
  gpus: [
    {
      key: 'GPU-0000',
      vendor: 'nvidia',
      index: 0,
      uuid: 'GPU-0000',
      busId: '00000000:01:00.0',
      name: 'NVIDIA GeForce RTX 4090',
      memoryTotalMiB: 24_564,
      memoryUsedMiB: 10_240,
      memoryFreeMiB: 14_324,
      utilizationPercent: 3,
      temperatureC: 40,
      powerW: 30,
      processes: [
        { pid: 4242, name: 'python3', usedMiB: 6_144, role: 'daemon' },
        { pid: 5000, name: 'python', usedMiB: 2_048, role: 'comfyui', instance: 'http://127.0.0.1:8188' },
        { pid: 1, name: HOSTILE, usedMiB: null, role: 'other' },
      ],
      split: { daemonMiB: 6_144, comfyuiMiB: 2_048, otherMiB: 2_048 },
    },
  ],
};

function instance(url: string, over: Partial<ComfyInstance> = {}): ComfyInstance {
  return {
    url,
    reachable: true,
    problem: null,
    version: '0.3.0',
    os: 'posix',
    devices: [],
    queue: { running: 1, pending: 4 },
    progress: null,
    lastError: null,
    checkedAt: NOW,
    discovered: false,
    ...over,
  };
}

function inputs(over: Partial<MetricsInputs> = {}): MetricsInputs {
  return {
    version: '1.2.3',
    daemons: [{ id: 'default', snapshot: runningSnapshot() }],
    instances: [
      instance('http://127.0.0.1:8188'),
      instance(HOSTILE_URL, { reachable: false, queue: { running: 0, pending: 0 } }),
    ],
    jobsFailed: new Map([['http://127.0.0.1:8188', 2]]),
    gpus: gpuReport,
    now: NOW,
    ...over,
  };
}

/** `name{labels} value` lines of one family in a rendered exposition. */
function samplesOf(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

describe('the text exposition format', () => {
  it('escapes label values (backslash, double quote, line feed) and help text (backslash, line feed)', () => {
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    expect(escapeHelp('a\\b\nc "quoted"')).toBe('a\\\\b\\nc "quoted"');
    const text = renderExposition([
      {
        name: 'x_total',
        help: 'multi\nline \\ help',
        type: 'counter',
        samples: [{ labels: { v: HOSTILE }, value: 1 }],
      },
    ]);
    expect(text).toBe(
      '# HELP x_total multi\\nline \\\\ help\n# TYPE x_total counter\nx_total{v="evil\\"model\\\\name\\nline2 ✓"} 1\n',
    );
    // One line per sample whatever the value held: no raw line feed escapes into the output.
    expect(text.trimEnd().split('\n')).toHaveLength(3);
  });

  it('writes NaN and ±Inf as Prometheus reads them, and refuses invalid names, reserved labels, duplicate families and counters without _total', () => {
    expect([NaN, Infinity, -Infinity, 0.5, 1e21, -3].map(formatValue)).toEqual([
      'NaN',
      '+Inf',
      '-Inf',
      '0.5',
      '1e+21',
      '-3',
    ]);
    const g = { help: 'h', type: 'gauge' as const, samples: [{ value: 1 }] };
    expect(() => renderExposition([{ ...g, name: 'bad-name' }])).toThrow(/invalid metric name/);
    expect(() =>
      renderExposition([{ ...g, name: 'ok', samples: [{ labels: { 'a-b': 'x' }, value: 1 }] }]),
    ).toThrow(/invalid label name/);
    expect(() =>
      renderExposition([{ ...g, name: 'ok', samples: [{ labels: { __name__: 'x' }, value: 1 }] }]),
    ).toThrow(/invalid label name/);
    expect(() =>
      renderExposition([
        { ...g, name: 'ok' },
        { ...g, name: 'ok' },
      ]),
    ).toThrow(/twice/);
    expect(() => renderExposition([{ ...g, name: 'hits', type: 'counter' }])).toThrow(/_total/);
  });
});

describe("Luna Tray's metrics", () => {
  it('per daemon: up, a state set with exactly one state at 1, restarts, uptime, requests, models, VRAM — labelled with the daemon id', () => {
    const text = renderExposition(lunaMetrics(inputs()));
    expect(samplesOf(text, 'luna_daemon_up')).toEqual(['luna_daemon_up{daemon="default"} 1']);
    const states = samplesOf(text, 'luna_daemon_state');
    expect(states).toHaveLength(DAEMON_STATES.length);
    expect(states.filter((l) => l.endsWith(' 1'))).toEqual([
      'luna_daemon_state{daemon="default",state="running"} 1',
    ]);
    expect(text).toContain('# TYPE luna_daemon_state gauge');
    expect(text).toContain('# TYPE luna_daemon_restarts_total counter');
    expect(samplesOf(text, 'luna_daemon_restarts_total')).toEqual([
      'luna_daemon_restarts_total{daemon="default"} 3',
    ]);
    // The daemon's uptime at its last reading, plus the reading's age (2 s).
    expect(samplesOf(text, 'luna_daemon_uptime_seconds')).toEqual([
      'luna_daemon_uptime_seconds{daemon="default"} 60',
    ]);
    expect(samplesOf(text, 'luna_daemon_requests_total')).toEqual([
      'luna_daemon_requests_total{daemon="default"} 17',
    ]);
    expect(samplesOf(text, 'luna_daemon_service_requests_total')).toEqual([
      'luna_daemon_service_requests_total{daemon="default",service="clip"} 10',
      'luna_daemon_service_requests_total{daemon="default",service="vae"} 7',
    ]);
    expect(samplesOf(text, 'luna_daemon_models_loaded')).toEqual([
      'luna_daemon_models_loaded{daemon="default"} 3',
    ]);
    expect(samplesOf(text, 'luna_daemon_model_memory_bytes')).toEqual([
      `luna_daemon_model_memory_bytes{daemon="default",model="clip_l.safetensors",source="clip_pool",device="cuda:0"} ${0.25 * 1024 ** 3}`,
      `luna_daemon_model_memory_bytes{daemon="default",model="${escapeLabelValue(HOSTILE)}",source="weight_registry",device=""} ${1024 ** 3}`,
    ]);
    expect(samplesOf(text, 'luna_daemon_vram_used_bytes')).toEqual([
      `luna_daemon_vram_used_bytes{daemon="default",device="cuda:0"} ${2.5 * 1024 ** 3}`,
    ]);
  });

  it('a daemon that is not running is down, in its state, with no stale figures of its own', () => {
    const stopped = runningSnapshot({
      status: { state: 'backoff', at: NOW, attempt: 2, retryAt: NOW + 1_000, message: 'crashed' },
    });
    const text = renderExposition(
      lunaMetrics(
        inputs({
          daemons: [
            { id: 'default', snapshot: stopped },
            { id: 'vae "2"', snapshot: runningSnapshot() },
          ],
        }),
      ),
    );
    expect(samplesOf(text, 'luna_daemon_up')).toEqual([
      'luna_daemon_up{daemon="default"} 0',
      'luna_daemon_up{daemon="vae \\"2\\""} 1',
    ]);
    expect(samplesOf(text, 'luna_daemon_state').filter((l) => l.endsWith(' 1'))).toEqual([
      'luna_daemon_state{daemon="default",state="backoff"} 1',
      'luna_daemon_state{daemon="vae \\"2\\"",state="running"} 1',
    ]);
    expect(samplesOf(text, 'luna_daemon_requests_total')).toEqual([
      'luna_daemon_requests_total{daemon="vae \\"2\\""} 17',
    ]);
    expect(samplesOf(text, 'luna_daemon_restarts_total')).toHaveLength(2);
  });

  it('GPU memory per role and per process, and per watched ComfyUI instance: up, queue, failed jobs (label url, not instance)', () => {
    const text = renderExposition(lunaMetrics(inputs()));
    const MiB = 1024 ** 2;
    expect(samplesOf(text, 'luna_gpu_memory_by_role_bytes')).toEqual([
      `luna_gpu_memory_by_role_bytes{gpu="GPU-0000",role="daemon"} ${6144 * MiB}`,
      `luna_gpu_memory_by_role_bytes{gpu="GPU-0000",role="comfyui"} ${2048 * MiB}`,
      `luna_gpu_memory_by_role_bytes{gpu="GPU-0000",role="other"} ${2048 * MiB}`,
    ]);
    // A process the driver gives no figure for (N/A) has no sample, rather than a made-up 0.
    expect(samplesOf(text, 'luna_gpu_process_memory_bytes')).toHaveLength(2);
    expect(samplesOf(text, 'luna_gpu_telemetry_up')).toEqual(['luna_gpu_telemetry_up 1']);
    expect(samplesOf(text, 'luna_comfyui_up')).toEqual([
      'luna_comfyui_up{url="http://127.0.0.1:8188"} 1',
      `luna_comfyui_up{url="${escapeLabelValue(HOSTILE_URL)}"} 0`,
    ]);
    expect(samplesOf(text, 'luna_comfyui_queue_pending')[0]).toBe(
      'luna_comfyui_queue_pending{url="http://127.0.0.1:8188"} 4',
    );
    expect(samplesOf(text, 'luna_comfyui_jobs_failed_total')).toEqual([
      'luna_comfyui_jobs_failed_total{url="http://127.0.0.1:8188"} 2',
      `luna_comfyui_jobs_failed_total{url="${escapeLabelValue(HOSTILE_URL)}"} 0`,
    ]);
    expect(text).not.toMatch(/\binstance=/);
    // No telemetry: the families stay, empty, and telemetry_up says so.
    const none = renderExposition(lunaMetrics(inputs({ gpus: null })));
    expect(samplesOf(none, 'luna_gpu_telemetry_up')).toEqual(['luna_gpu_telemetry_up 0']);
    expect(samplesOf(none, 'luna_gpu_memory_by_role_bytes')).toEqual([]);
  });

  it("serve's process metrics use the standard names", () => {
    const text = renderExposition(processMetrics());
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'process_start_time_seconds',
    ]) {
      expect(samplesOf(text, name), name).toHaveLength(1);
    }
    expect(text).toContain('# TYPE process_cpu_seconds_total counter');
    const rss = Number(samplesOf(text, 'process_resident_memory_bytes')[0]!.split(' ')[1]);
    expect(rss).toBeGreaterThan(10 * 1024 * 1024);
    if (process.platform === 'linux') expect(samplesOf(text, 'process_open_fds')).toHaveLength(1);
  });
});

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
const havePromtool = promtool.status === 0;

function checkMetrics(text: string): { status: number | null; output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('promtool check metrics', () => {
  it('passes the whole exposition, hostile label values included', (ctx) => {
    ctx.skip(
      !havePromtool,
      'promtool not installed (Debian: apt-get install -y prometheus) — promtool check NOT RUN',
    );
    const text = renderExposition([...lunaMetrics(inputs()), ...processMetrics()]);
    const r = checkMetrics(text);
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  });

  it('fails an exposition that breaks the conventions (so the check above can fail)', (ctx) => {
    ctx.skip(
      !havePromtool,
      'promtool not installed (Debian: apt-get install -y prometheus) — promtool check NOT RUN',
    );
    const r = checkMetrics('# HELP luna_hits Hits.\n# TYPE luna_hits counter\nluna_hits 1\n');
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/_total/);
  });
});
