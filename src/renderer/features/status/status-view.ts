import type { LoadedModel } from '../../../shared/daemon-info.js';
import type { DaemonSnapshot } from '../../../shared/snapshot.js';
import { usageBar } from '../../lib/bar.js';
import { h, replaceChildren } from '../../lib/dom.js';
import { formatBytes, formatDuration, formatGb } from '../../lib/format.js';

/** Where a model lives, in words (docs/daemon-protocol.md §8.2). */
export const MODEL_SOURCE_LABEL: Record<LoadedModel['source'], string> = {
  clip_pool: 'CLIP pool',
  weight_registry: 'weight registry',
  legacy: 'legacy daemon',
};

/** The Status tab: loaded models, VRAM per GPU, request counters, process figures, warnings. */
export interface StatusView {
  element: HTMLElement;
  update(snapshot: DaemonSnapshot): void;
}

/** Build the Status tab. */
export function createStatusView(): StatusView {
  const warnings = h('ul', {
    class: 'warnings',
    attrs: { 'aria-label': 'warnings', 'data-testid': 'warnings' },
  });
  const models = h('div', { class: 'models', attrs: { 'data-testid': 'models' } });
  const vram = h('div', { class: 'vram', attrs: { 'data-testid': 'vram' } });
  const counters = h('dl', { class: 'facts counters', attrs: { 'aria-label': 'daemon counters' } });
  const infoAge = h('p', { class: 'muted' });

  const element = h(
    'section',
    { class: 'view view-status', attrs: { 'aria-label': 'Status' } },
    warnings,
    h('h2', { text: 'Loaded models' }),
    models,
    h('h2', { text: 'VRAM' }),
    vram,
    h('h2', { text: 'Daemon' }),
    counters,
    infoAge,
  );

  function update(s: DaemonSnapshot): void {
    replaceChildren(warnings, ...s.warnings.map((w) => h('li', { class: 'warning', text: w.message })));
    warnings.hidden = s.warnings.length === 0;

    const info = s.info;
    if (!info) {
      const why =
        s.status.state === 'running' ? 'No information from the daemon yet.' : 'The daemon is not running.';
      replaceChildren(models, h('p', { class: 'muted', text: why }));
      replaceChildren(vram, h('p', { class: 'muted', text: '—' }));
      replaceChildren(counters, ...processFacts(s));
      infoAge.textContent = '';
      return;
    }
    if (info.models.length === 0) {
      replaceChildren(
        models,
        h('p', { class: 'muted', attrs: { 'data-testid': 'no-models' }, text: 'No models loaded.' }),
      );
    } else {
      replaceChildren(
        models,
        h(
          'table',
          { class: 'models-table', attrs: { 'aria-label': 'loaded models' } },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...['Model', 'Source', 'Type', 'Device', 'Memory'].map((t) =>
                h('th', { text: t, attrs: { scope: 'col' } }),
              ),
            ),
          ),
          h(
            'tbody',
            {},
            ...info.models.map((m) =>
              h(
                'tr',
                { attrs: { 'data-testid': 'model-row' } },
                h('td', { class: 'model-name', text: m.name }),
                h('td', { text: MODEL_SOURCE_LABEL[m.source] }),
                h('td', { text: m.type ?? '—' }),
                h('td', { text: m.device ?? '—' }),
                h('td', { text: m.memoryGb !== undefined ? formatGb(m.memoryGb) : '—' }),
              ),
            ),
          ),
        ),
      );
    }
    replaceChildren(
      vram,
      ...(info.vram.length === 0
        ? [h('p', { class: 'muted', text: 'The daemon reports no GPU.' })]
        : info.vram.map((d) =>
            usageBar(d.device, d.usedGb, d.totalGb, `${formatGb(d.usedGb)} / ${formatGb(d.totalGb)}`),
          )),
    );
    const pool = info.clipPool;
    replaceChildren(
      counters,
      ...pair('Requests', String(info.requestCount)),
      ...pair('CLIP requests', String(info.clipRequestCount)),
      ...pair('VAE requests', String(info.vaeRequestCount)),
      ...pair('Service', info.serviceType),
      ...pair('Attention', info.attentionMode ?? '—'),
      ...pair(
        'Devices',
        Object.entries(info.devices)
          .map(([k, v]) => `${k}: ${v}`)
          .join(', ') || '—',
      ),
      ...(pool
        ? pair('CLIP pool', `${pool.activeWorkers}/${pool.workersCount} busy, queue ${pool.queueDepth}`)
        : []),
      ...pair('Daemon uptime', formatDuration(info.uptimeSec * 1000)),
      ...processFacts(s),
    );
    infoAge.textContent = s.infoAt ? `Updated ${new Date(s.infoAt).toLocaleTimeString()}` : '';
  }

  return { element, update };
}

function processFacts(s: DaemonSnapshot): HTMLElement[] {
  if (!s.process) return [];
  return [
    ...pair('CPU', `${s.process.cpuPercent.toFixed(0)} %`),
    ...pair('Memory (RSS)', formatBytes(s.process.rssBytes)),
  ];
}

function pair(label: string, value: string): HTMLElement[] {
  return [h('dt', { text: label }), h('dd', { text: value })];
}
