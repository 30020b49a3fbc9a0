import { h } from './dom.js';
import { percentOf } from './format.js';

/**
 * A usage bar (VRAM, progress) with an accessible name and values. The fill width is set through
 * CSSOM (`el.style.width`), which the panel's CSP allows (style attributes it forbids).
 */
export function usageBar(label: string, used: number, total: number, caption: string): HTMLElement {
  const pct = percentOf(used, total);
  const fill = h('div', { class: 'bar-fill' });
  fill.style.width = `${pct.toFixed(1)}%`;
  if (pct >= 90) fill.classList.add('bar-high');
  return h(
    'div',
    { class: 'bar-row' },
    h('span', { class: 'bar-label', text: label }),
    h(
      'div',
      {
        class: 'bar',
        attrs: {
          role: 'progressbar',
          'aria-label': `${label}: ${caption}`,
          'aria-valuemin': 0,
          'aria-valuemax': 100,
          'aria-valuenow': Math.round(pct),
        },
      },
      fill,
    ),
    h('span', { class: 'bar-caption', text: caption }),
  );
}
