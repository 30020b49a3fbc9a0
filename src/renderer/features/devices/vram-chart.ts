import type { VramPoint } from '../../../shared/gpu.js';

const SVG = 'http://www.w3.org/2000/svg';

/** The three layers of the chart, bottom to top. */
export const LAYERS = ['daemonMiB', 'comfyuiMiB', 'otherMiB'] as const;
export type Layer = (typeof LAYERS)[number];

/**
 * SVG path data of the stacked areas (daemon at the bottom, then ComfyUI, then other), x by time
 * across `width`, y scaled so the GPU's total memory is the full `height`. Pure, for the tests.
 */
export function stackedAreas(
  points: readonly VramPoint[],
  width: number,
  height: number,
): Record<Layer, string> {
  const empty = { daemonMiB: '', comfyuiMiB: '', otherMiB: '' };
  if (points.length === 0) return empty;
  const t0 = points[0]!.at;
  const span = Math.max(1, points.at(-1)!.at - t0);
  const total = Math.max(1, ...points.map((p) => p.totalMiB));
  const x = (p: VramPoint) => (points.length === 1 ? width : ((p.at - t0) / span) * width);
  const y = (mib: number) => height - (Math.min(mib, total) / total) * height;
  const f = (v: number) => (Math.round(v * 10) / 10).toString();
  const out = { ...empty };
  const below = points.map(() => 0);
  for (const layer of LAYERS) {
    const top = points.map((p, i) => below[i]! + p[layer]);
    const upper = points.map((p, i) => `${f(x(p))},${f(y(top[i]!))}`);
    const lower = points.map((p, i) => `${f(x(p))},${f(y(below[i]!))}`).reverse();
    // A single point is drawn as a thin bar at the right edge.
    if (points.length === 1) {
      upper.unshift(`${f(width - 2)},${f(y(top[0]!))}`);
      lower.push(`${f(width - 2)},${f(y(below[0]!))}`);
    }
    out[layer] = `M${[...upper, ...lower].join(' L')} Z`;
    top.forEach((v, i) => (below[i] = v));
  }
  return out;
}

/** A small stacked-area chart of one GPU's VRAM history, with an accessible summary. */
export function vramChart(
  name: string,
  points: readonly VramPoint[],
  width = 320,
  height = 64,
): SVGSVGElement {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('class', 'vram-chart');
  svg.setAttribute('role', 'img');
  const last = points.at(-1);
  const minutes = points.length > 1 ? Math.round((points.at(-1)!.at - points[0]!.at) / 60_000) : 0;
  svg.setAttribute(
    'aria-label',
    last
      ? `VRAM of ${name} over the last ${minutes} min: now daemon ${Math.round(last.daemonMiB)} MiB, ComfyUI ${Math.round(last.comfyuiMiB)} MiB, other ${Math.round(last.otherMiB)} MiB of ${Math.round(last.totalMiB)} MiB`
      : `VRAM of ${name}: no samples yet`,
  );
  const areas = stackedAreas(points, width, height);
  for (const layer of LAYERS) {
    const path = document.createElementNS(SVG, 'path');
    path.setAttribute('d', areas[layer]);
    path.setAttribute('class', `area area-${layer.replace('MiB', '')}`);
    path.setAttribute('data-layer', layer.replace('MiB', ''));
    svg.append(path);
  }
  return svg;
}
