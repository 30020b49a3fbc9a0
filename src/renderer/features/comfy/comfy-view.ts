import type { ComfyInstance, LocalGpu } from '../../../shared/comfy-instance.js';
import type { RendererApi } from '../../../shared/contract/renderer-api.js';
import { usageBar } from '../../lib/bar.js';
import { button, h, replaceChildren, setHidden, setText } from '../../lib/dom.js';
import { formatBytes } from '../../lib/format.js';
import { lastErrorText, progressText } from './progress-text.js';

/** The ComfyUI tab: watched instances with VRAM, queue, progress and last error; local GPUs. */
export interface ComfyView {
  element: HTMLElement;
  update(data: { instances: readonly ComfyInstance[]; gpus: readonly LocalGpu[] }): void;
}

/** Build the ComfyUI tab. */
export function createComfyView(api: RendererApi): ComfyView {
  const message = h('div', { class: 'notice', attrs: { role: 'status', 'data-testid': 'comfy-message' } });
  setHidden(message, true);
  const freeBtn = button(
    'Free VRAM',
    'free VRAM in the daemon and every ComfyUI instance',
    () => void freeVram(),
  );
  const list = h('div', { class: 'instances', attrs: { 'data-testid': 'instances' } });
  const gpuSection = h('section', { class: 'gpus', attrs: { 'aria-label': 'local GPUs' } });
  setHidden(gpuSection, true);

  const element = h(
    'section',
    { class: 'view view-comfy', attrs: { 'aria-label': 'ComfyUI' } },
    h('div', { class: 'comfy-actions', attrs: { role: 'group', 'aria-label': 'ComfyUI actions' } }, freeBtn),
    message,
    h('h2', { text: 'Instances' }),
    list,
    gpuSection,
  );

  function say(text: string): void {
    setText(message, text);
    setHidden(message, false);
  }

  async function freeVram(): Promise<void> {
    freeBtn.disabled = true;
    const res = await api.invoke('comfy:free-vram', {});
    freeBtn.disabled = false;
    if (!res.ok) return say(`Free VRAM failed: ${res.error.message}`);
    const parts = [
      `daemon: ${res.value.daemon.message}`,
      ...res.value.instances.map((i) => `${i.url}: ${i.message}`),
    ];
    say(parts.join(' · '));
  }

  async function instanceAction(
    kind: 'interrupt' | 'clear-queue' | 'dismiss-error',
    url: string,
    btn: HTMLButtonElement,
    promptId?: string,
  ): Promise<void> {
    btn.disabled = true;
    const res =
      kind === 'interrupt'
        ? // The prompt on screen, not whatever runs by the time the click arrives.
          await api.invoke('comfy:interrupt', promptId ? { url, promptId } : { url })
        : await api.invoke(kind === 'clear-queue' ? 'comfy:clear-queue' : 'comfy:dismiss-error', { url });
    btn.disabled = false;
    say(res.ok ? `${url}: ${res.value.message}` : `${url}: ${res.error.message}`);
  }

  function card(i: ComfyInstance): HTMLElement {
    const state = i.reachable ? 'reachable' : 'unreachable';
    const runningId = i.progress?.promptId;
    const interrupt = button(
      'Interrupt',
      `interrupt the running prompt on ${i.url}`,
      () => void instanceAction('interrupt', i.url, interrupt, runningId),
    );
    const clearQ = button(
      'Clear queue',
      `clear queue on ${i.url}`,
      () => void instanceAction('clear-queue', i.url, clearQ),
    );
    interrupt.disabled = !i.reachable || i.queue.running === 0;
    clearQ.disabled = !i.reachable || i.queue.pending === 0;
    const p = i.progress;
    return h(
      'article',
      { class: `instance ${state}`, attrs: { 'aria-label': `ComfyUI ${i.url}`, 'data-url': i.url } },
      h(
        'header',
        {},
        h('span', { class: `badge ${state}`, text: i.reachable ? 'reachable' : 'unreachable' }),
        h('span', { class: 'instance-url', text: i.url }),
        i.discovered ? h('span', { class: 'muted', text: ' (discovered)' }) : null,
      ),
      i.problem ? h('p', { class: 'inline-error', text: i.problem }) : null,
      h('p', {
        class: 'muted',
        text: [i.version ? `ComfyUI ${i.version}` : null, i.os].filter(Boolean).join(' · ') || '—',
      }),
      ...i.devices.map((d) =>
        usageBar(
          d.name,
          d.vramTotal - d.vramFree,
          d.vramTotal,
          `${formatBytes(d.vramTotal - d.vramFree)} / ${formatBytes(d.vramTotal)}`,
        ),
      ),
      h('p', { text: `Queue: ${i.queue.running} running, ${i.queue.pending} pending` }),
      p ? progressBlock(p) : null,
      i.lastError ? lastErrorBlock(i.url, i.lastError) : null,
      h(
        'div',
        { class: 'instance-actions', attrs: { role: 'group', 'aria-label': `actions for ${i.url}` } },
        interrupt,
        clearQ,
      ),
    );
  }

  function lastErrorBlock(url: string, e: NonNullable<ComfyInstance['lastError']>): HTMLElement {
    const dismiss = button(
      'Dismiss',
      `dismiss the last error of ${url}`,
      () => void instanceAction('dismiss-error', url, dismiss),
    );
    return h(
      'div',
      { class: 'last-error', attrs: { 'data-testid': 'comfy-last-error' } },
      h('p', { class: 'inline-error', text: lastErrorText(e) }),
      dismiss,
    );
  }

  function progressBlock(p: NonNullable<ComfyInstance['progress']>): HTMLElement {
    const t = progressText(p, Date.now());
    return h(
      'div',
      { class: 'progress', attrs: { 'data-testid': 'comfy-progress' } },
      t.bar
        ? usageBar(t.label, t.bar.value, t.bar.max, t.caption)
        : h('p', { text: `${t.label} · ${t.caption}` }),
      t.note ? h('p', { class: 'muted', text: t.note }) : null,
    );
  }

  function update(data: { instances: readonly ComfyInstance[]; gpus: readonly LocalGpu[] }): void {
    replaceChildren(
      list,
      ...(data.instances.length === 0
        ? [h('p', { class: 'muted', text: 'No ComfyUI instances configured.' })]
        : data.instances.map(card)),
    );
    setHidden(gpuSection, data.gpus.length === 0);
    if (data.gpus.length > 0) {
      replaceChildren(
        gpuSection,
        h('h2', { text: 'Local GPUs' }),
        ...data.gpus.map((g) =>
          h(
            'div',
            { class: 'gpu' },
            usageBar(
              `GPU ${g.index}: ${g.name}`,
              g.memoryUsedMb,
              g.memoryTotalMb,
              `${(g.memoryUsedMb / 1024).toFixed(1)} / ${(g.memoryTotalMb / 1024).toFixed(1)} GiB`,
            ),
            h('p', {
              class: 'muted',
              text: [
                g.utilizationPercent !== null ? `${g.utilizationPercent}% busy` : null,
                g.temperatureC !== null ? `${g.temperatureC} °C` : null,
              ]
                .filter(Boolean)
                .join(' · '),
            }),
          ),
        ),
      );
    }
  }

  return { element, update };
}
