import type { RendererApi } from '../../../shared/contract/renderer-api.js';
import type { DaemonSnapshot } from '../../../shared/snapshot.js';
import type { DaemonDevicesView, Gpu, GpuReport, VramHistory } from '../../../shared/gpu.js';
import { usageBar } from '../../lib/bar.js';
import { h, replaceChildren, setHidden, setText } from '../../lib/dom.js';
import { vramChart } from './vram-chart.js';

/** How often the GPUs are read while the Devices tab is visible (the core samples on demand). */
const POLL_MS = 2_000;

const COMPONENTS = [
  ['clip', 'CLIP'],
  ['vae', 'VAE'],
  ['llm', 'LLM'],
] as const;
const MODES = ['auto', 'flash', 'split', 'pytorch'] as const;

export interface DevicesView {
  element: HTMLElement;
  /** The tab became visible / hidden: GPU polling runs only while it is shown. */
  shown(): void;
  hidden(): void;
  /** A new daemon snapshot (the pickers follow the daemon's running state). */
  status(s: DaemonSnapshot): void;
  dispose(): void;
}

const mib = (v: number | null) => (v === null ? '?' : `${Math.round(v)} MiB`);
const gib = (v: number | null) => (v === null ? '?' : `${(v / 1024).toFixed(1)} GiB`);

/**
 * The Devices tab (docs/devices.md): the daemon's per-component device pickers and attention mode
 * (applied live and saved; a refusal is shown next to its control in the daemon's words), and the
 * GPUs with who holds their memory and a VRAM chart.
 */
export function createDevicesView(api: RendererApi): DevicesView {
  const notice = h('p', { class: 'notice', attrs: { role: 'status', 'data-testid': 'devices-notice' } });
  setHidden(notice, true);
  const pickers = h('div', { class: 'device-pickers', attrs: { 'data-testid': 'device-pickers' } });
  const gpuList = h('div', { class: 'gpu-list', attrs: { 'data-testid': 'gpu-list' } });
  const element = h(
    'section',
    { class: 'view view-devices', attrs: { 'aria-label': 'Devices' } },
    h('h2', { text: 'Luna daemon devices' }),
    notice,
    pickers,
    h('h2', { text: 'GPUs' }),
    gpuList,
  );

  const selects = new Map<string, { select: HTMLSelectElement; error: HTMLElement; result: HTMLElement }>();
  function row(key: string, label: string, onChange: (value: string) => Promise<void>) {
    const select = h('select', {
      attrs: { 'aria-label': `${label} device`, 'data-testid': `picker-${key}`, disabled: true },
    });
    const error = h('span', {
      class: 'inline-error',
      attrs: { role: 'alert', 'data-testid': `error-${key}` },
    });
    const result = h('span', { class: 'muted', attrs: { 'data-testid': `result-${key}` } });
    setHidden(error, true);
    select.addEventListener('change', () => void onChange(select.value));
    selects.set(key, { select, error, result });
    pickers.append(h('div', { class: 'picker-row' }, h('label', { text: label }), select, error, result));
  }
  for (const [key, label] of COMPONENTS) {
    row(key, label, (device) =>
      apply(key, () => api.invoke('devices:set-device', { component: key, device })),
    );
  }
  row('attention', 'Attention mode', (mode) =>
    apply('attention', () => api.invoke('devices:set-attention-mode', { mode })),
  );
  selects.get('attention')!.select.setAttribute('aria-label', 'attention mode');

  function options(select: HTMLSelectElement, values: readonly string[], current: string | null): void {
    const all = [...new Set([...(current ? [current] : []), ...values])];
    replaceChildren(select, ...all.map((v) => h('option', { text: v, attrs: { value: v } })));
    if (current) select.value = current;
  }

  let devices: DaemonDevicesView | null = null;
  async function loadDevices(): Promise<void> {
    const r = await api.invoke('devices:get', {});
    for (const { select } of selects.values()) select.disabled = !r.ok;
    if (!r.ok) {
      devices = null;
      setText(
        notice,
        r.error.code === 'not-running' ? 'Start the Luna daemon to change its devices.' : r.error.message,
      );
      setHidden(notice, false);
      return;
    }
    setHidden(notice, true);
    devices = r.value;
    const choices = ['cpu', ...r.value.availableGpus];
    for (const [key] of COMPONENTS) options(selects.get(key)!.select, choices, r.value.devices[key]);
    options(selects.get('attention')!.select, MODES, r.value.attentionMode);
  }

  async function apply(
    key: string,
    call: () => Promise<{ ok: true; value: { message: string } } | { ok: false; error: { message: string } }>,
  ): Promise<void> {
    const s = selects.get(key)!;
    s.select.disabled = true;
    const r = await call();
    s.select.disabled = false;
    setText(s.error, r.ok ? '' : r.error.message);
    setHidden(s.error, r.ok);
    setText(s.result, r.ok ? `${r.value.message} (saved)` : '');
    if (!r.ok && devices) {
      // Show what the daemon really uses again, not the refused choice.
      const back =
        key === 'attention' ? devices.attentionMode : devices.devices[key as 'clip' | 'vae' | 'llm'];
      if (back) s.select.value = back;
    }
    if (r.ok) await loadDevices();
  }

  function gpuCard(g: Gpu, history: VramHistory | null): HTMLElement {
    const facts = [
      g.utilizationPercent === null ? null : `${g.utilizationPercent}% busy`,
      g.temperatureC === null ? null : `${g.temperatureC} °C`,
      g.powerW === null ? null : `${g.powerW} W`,
    ].filter((x): x is string => x !== null);
    const points = history?.gpus.find((x) => x.key === g.key)?.points ?? [];
    return h(
      'article',
      { class: 'gpu', attrs: { 'aria-label': `GPU ${g.name}`, 'data-key': g.key } },
      h(
        'header',
        {},
        h('strong', { text: `GPU ${g.index} · ${g.name}` }),
        h('span', { class: 'muted', text: ` ${g.key}` }),
      ),
      g.memoryUsedMiB !== null && g.memoryTotalMiB !== null
        ? usageBar(
            'VRAM',
            g.memoryUsedMiB,
            g.memoryTotalMiB,
            `${gib(g.memoryUsedMiB)} / ${gib(g.memoryTotalMiB)}`,
          )
        : h('p', { class: 'muted', text: 'VRAM: not reported' }),
      h('p', { class: 'muted', text: facts.join(' · ') || '—' }),
      h('p', {
        class: 'vram-split',
        attrs: { 'data-testid': 'vram-split' },
        text: `Luna daemon ${mib(g.split.daemonMiB)} · ComfyUI ${mib(g.split.comfyuiMiB)} · other ${mib(g.split.otherMiB)}`,
      }),
      vramChart(g.name, points),
      g.processes.length === 0
        ? null
        : h(
            'table',
            { class: 'models-table gpu-processes' },
            h(
              'thead',
              {},
              h('tr', {}, ...['PID', 'Holder', 'Memory', 'Process'].map((t) => h('th', { text: t }))),
            ),
            h(
              'tbody',
              {},
              ...g.processes.map((p) =>
                h(
                  'tr',
                  { attrs: { 'data-role': p.role } },
                  h('td', { text: String(p.pid) }),
                  h('td', {
                    text:
                      p.role === 'comfyui'
                        ? `ComfyUI ${p.instance ?? ''}`
                        : p.role === 'daemon'
                          ? 'Luna daemon'
                          : 'other',
                  }),
                  h('td', { text: p.usedMiB === null ? 'n/a' : mib(p.usedMiB) }),
                  h('td', { text: p.name }),
                ),
              ),
            ),
          ),
    );
  }

  function renderGpus(report: GpuReport, history: VramHistory | null): void {
    if (report.gpus.length === 0) {
      replaceChildren(
        gpuList,
        h('p', {
          class: 'muted',
          attrs: { 'data-testid': 'no-telemetry' },
          text: report.message ?? 'No GPU telemetry.',
        }),
      );
      return;
    }
    replaceChildren(
      gpuList,
      ...report.gpus.map((g) => gpuCard(g, history)),
      report.message ? h('p', { class: 'muted', text: report.message }) : null,
    );
  }

  let timer: ReturnType<typeof setTimeout> | null = null;
  let visible = false;
  async function poll(): Promise<void> {
    timer = null;
    const [report, history] = await Promise.all([
      api.invoke('gpus:get', {}),
      api.invoke('gpus:get-history', {}),
    ]);
    if (report.ok) renderGpus(report.value, history.ok ? history.value : null);
    else replaceChildren(gpuList, h('p', { class: 'inline-error', text: report.error.message }));
    if (visible) timer = setTimeout(() => void poll(), POLL_MS);
  }

  let running: boolean | null = null;
  return {
    element,
    shown() {
      if (visible) return;
      visible = true;
      void loadDevices();
      void poll();
    },
    hidden() {
      visible = false;
      if (timer) clearTimeout(timer);
      timer = null;
    },
    status(s) {
      const now = s.status.state === 'running';
      if (now !== running) {
        running = now;
        if (visible) void loadDevices();
      }
    },
    dispose() {
      visible = false;
      if (timer) clearTimeout(timer);
    },
  };
}
