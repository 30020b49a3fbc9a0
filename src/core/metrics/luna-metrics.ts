// What `GET /metrics` exposes (docs/metrics.md): only what Luna Tray alone knows — each daemon's
// supervision state and its own figures, the GPU memory split by holder, the watched ComfyUI
// instances — plus `serve`'s process metrics. Every value comes from a snapshot taken at scrape time.
import type { ComfyInstance } from '../../shared/comfy-instance.js';
import type { DaemonState } from '../../shared/daemon-status.js';
import type { GpuReport } from '../../shared/gpu.js';
import type { DaemonSnapshot } from '../../shared/snapshot.js';
import type { MetricFamily, Sample } from './exposition.js';

/** Every supervision state, for the state set (one sample per state, exactly one of them 1). */
export const DAEMON_STATES: readonly DaemonState[] = [
  'stopped',
  'starting',
  'running',
  'unresponsive',
  'stopping',
  'backoff',
  'failed',
];

export interface MetricsInputs {
  version: string;
  /** Each supervised daemon with its id (the `daemon` label). */
  daemons: readonly { id: string; snapshot: DaemonSnapshot }[];
  instances: readonly ComfyInstance[];
  /** Failed prompts seen per instance URL since Luna Tray started. */
  jobsFailed: ReadonlyMap<string, number>;
  /** The GPU telemetry reading; null when it could not be taken. */
  gpus: GpuReport | null;
  now: number;
}

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

function family(name: string, type: MetricFamily['type'], help: string, samples: Sample[]): MetricFamily {
  return { name, type, help, samples };
}

function daemonFamilies(daemons: MetricsInputs['daemons'], now: number): MetricFamily[] {
  const up: Sample[] = [];
  const state: Sample[] = [];
  const restarts: Sample[] = [];
  const uptime: Sample[] = [];
  const requests: Sample[] = [];
  const serviceRequests: Sample[] = [];
  const models: Sample[] = [];
  const modelMemory: Sample[] = [];
  const vramUsed: Sample[] = [];
  const vramTotal: Sample[] = [];
  const rss: Sample[] = [];
  for (const { id, snapshot: s } of daemons) {
    const daemon = { daemon: id };
    up.push({ labels: daemon, value: s.status.state === 'running' ? 1 : 0 });
    for (const st of DAEMON_STATES)
      state.push({ labels: { daemon: id, state: st }, value: s.status.state === st ? 1 : 0 });
    restarts.push({ labels: daemon, value: s.restarts });
    if (s.process) rss.push({ labels: daemon, value: s.process.rssBytes });
    // The daemon's own figures, only while it answers (a stale reading of a dead daemon would lie).
    const info = s.status.state === 'running' || s.status.state === 'unresponsive' ? s.info : null;
    if (!info) continue;
    const age = s.infoAt === null ? 0 : Math.max(0, (now - s.infoAt) / 1000);
    uptime.push({ labels: daemon, value: info.uptimeSec + age });
    requests.push({ labels: daemon, value: info.requestCount });
    serviceRequests.push({ labels: { daemon: id, service: 'clip' }, value: info.clipRequestCount });
    serviceRequests.push({ labels: { daemon: id, service: 'vae' }, value: info.vaeRequestCount });
    models.push({ labels: daemon, value: info.models.length });
    for (const m of info.models) {
      if (m.memoryGb === undefined) continue;
      modelMemory.push({
        labels: { daemon: id, model: m.name, source: m.source, device: m.device ?? '' },
        value: m.memoryGb * GIB,
      });
    }
    for (const v of info.vram) {
      vramUsed.push({ labels: { daemon: id, device: v.device }, value: v.usedGb * GIB });
      vramTotal.push({ labels: { daemon: id, device: v.device }, value: v.totalGb * GIB });
    }
  }
  return [
    family(
      'luna_daemon_up',
      'gauge',
      'Whether the Luna daemon is running and answering pings (1) or not (0).',
      up,
    ),
    family(
      'luna_daemon_state',
      'gauge',
      'Supervision state of the Luna daemon: 1 for the current state, 0 for the others.',
      state,
    ),
    family(
      'luna_daemon_restarts_total',
      'counter',
      'Automatic restarts of the Luna daemon since Luna Tray started.',
      restarts,
    ),
    family('luna_daemon_uptime_seconds', 'gauge', 'Seconds since the Luna daemon process started.', uptime),
    family(
      'luna_daemon_requests_total',
      'counter',
      'Requests the Luna daemon has served since it started (its request_count).',
      requests,
    ),
    family(
      'luna_daemon_service_requests_total',
      'counter',
      'Requests the Luna daemon has served since it started, per service (clip, vae).',
      serviceRequests,
    ),
    family('luna_daemon_models_loaded', 'gauge', 'Models the Luna daemon holds.', models),
    family(
      'luna_daemon_model_memory_bytes',
      'gauge',
      'Memory the Luna daemon reports for one loaded model, in bytes.',
      modelMemory,
    ),
    family(
      'luna_daemon_vram_used_bytes',
      'gauge',
      'VRAM in use on one device as the Luna daemon reports it, in bytes.',
      vramUsed,
    ),
    family(
      'luna_daemon_vram_total_bytes',
      'gauge',
      'Total VRAM of one device as the Luna daemon reports it, in bytes.',
      vramTotal,
    ),
    family(
      'luna_daemon_process_resident_memory_bytes',
      'gauge',
      'Resident memory of the Luna daemon process, in bytes.',
      rss,
    ),
  ];
}

function gpuFamilies(report: GpuReport | null): MetricFamily[] {
  const info: Sample[] = [];
  const used: Sample[] = [];
  const total: Sample[] = [];
  const byRole: Sample[] = [];
  const perProcess: Sample[] = [];
  for (const g of report?.gpus ?? []) {
    const gpu = { gpu: g.key };
    info.push({ labels: { gpu: g.key, index: String(g.index), name: g.name, vendor: g.vendor }, value: 1 });
    if (g.memoryUsedMiB !== null) used.push({ labels: gpu, value: g.memoryUsedMiB * MIB });
    if (g.memoryTotalMiB !== null) total.push({ labels: gpu, value: g.memoryTotalMiB * MIB });
    byRole.push({ labels: { gpu: g.key, role: 'daemon' }, value: g.split.daemonMiB * MIB });
    byRole.push({ labels: { gpu: g.key, role: 'comfyui' }, value: g.split.comfyuiMiB * MIB });
    byRole.push({ labels: { gpu: g.key, role: 'other' }, value: g.split.otherMiB * MIB });
    for (const p of g.processes) {
      if (p.usedMiB === null) continue;
      perProcess.push({
        labels: { gpu: g.key, pid: String(p.pid), process: p.name, role: p.role, url: p.instance ?? '' },
        value: p.usedMiB * MIB,
      });
    }
  }
  return [
    family(
      'luna_gpu_telemetry_up',
      'gauge',
      'Whether GPU telemetry (nvidia-smi or AMD sysfs) could be read (1) or not (0).',
      [{ value: report && report.source !== 'none' && !report.message ? 1 : 0 }],
    ),
    family('luna_gpu_info', 'gauge', 'One GPU: its index, name and vendor as labels; always 1.', info),
    family('luna_gpu_memory_used_bytes', 'gauge', 'Memory in use on one GPU, in bytes.', used),
    family('luna_gpu_memory_total_bytes', 'gauge', 'Total memory of one GPU, in bytes.', total),
    family(
      'luna_gpu_memory_by_role_bytes',
      'gauge',
      'Memory in use on one GPU per holder role (daemon, comfyui, other), in bytes.',
      byRole,
    ),
    family(
      'luna_gpu_process_memory_bytes',
      'gauge',
      'Memory one process holds on one GPU, with its role (daemon, comfyui, other), in bytes.',
      perProcess,
    ),
  ];
}

function comfyFamilies(instances: MetricsInputs['instances'], failed: ReadonlyMap<string, number>) {
  // The instance is labelled `url`: `instance` is the label Prometheus gives the scrape target.
  const by = (f: (i: ComfyInstance) => number): Sample[] =>
    instances.map((i) => ({ labels: { url: i.url }, value: f(i) }));
  return [
    family(
      'luna_comfyui_up',
      'gauge',
      'Whether the watched ComfyUI instance answers (1) or not (0).',
      by((i) => (i.reachable ? 1 : 0)),
    ),
    family(
      'luna_comfyui_queue_running',
      'gauge',
      'Prompts the ComfyUI instance is executing.',
      by((i) => i.queue.running),
    ),
    family(
      'luna_comfyui_queue_pending',
      'gauge',
      'Prompts waiting in the ComfyUI instance queue.',
      by((i) => i.queue.pending),
    ),
    family(
      'luna_comfyui_jobs_failed_total',
      'counter',
      'Prompts seen failing on the ComfyUI instance since Luna Tray started.',
      by((i) => failed.get(i.url) ?? 0),
    ),
  ];
}

/** Luna Tray's own families, from one set of readings. */
export function lunaMetrics(inputs: MetricsInputs): MetricFamily[] {
  return [
    family('luna_tray_info', 'gauge', 'Luna Tray build information; always 1.', [
      { labels: { version: inputs.version }, value: 1 },
    ]),
    ...daemonFamilies(inputs.daemons, inputs.now),
    ...gpuFamilies(inputs.gpus),
    ...comfyFamilies(inputs.instances, inputs.jobsFailed),
  ];
}
