// The Prometheus text exposition format, version 0.0.4 (docs/metrics.md). Written here rather than
// taken from prom-client: every value is read from a snapshot at scrape time (no long-lived
// registry whose label sets would have to be reset), the format is small and frozen, and the CLI
// bundle stays free of a dependency only `serve` would use.

/** The content type Prometheus expects for this format. */
export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type MetricType = 'counter' | 'gauge' | 'untyped';

export interface Sample {
  labels?: Readonly<Record<string, string>>;
  value: number;
}

/** One metric family: a name, its help text, its type and its samples (maybe none). */
export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: readonly Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** HELP text: backslash and line feed escaped. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A label value: backslash, double quote and line feed escaped (any other UTF-8 is allowed as is). */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** A sample value as Go's ParseFloat reads it: `NaN`, `+Inf`, `-Inf`, or the shortest decimal. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function formatLabels(labels: Readonly<Record<string, string>> | undefined): string {
  if (!labels) return '';
  const parts = Object.entries(labels).map(([k, v]) => {
    // `__`-prefixed names are reserved for Prometheus itself.
    if (!LABEL_NAME.test(k) || k.startsWith('__')) throw new Error(`invalid label name: ${k}`);
    return `${k}="${escapeLabelValue(v)}"`;
  });
  return parts.length > 0 ? `{${parts.join(',')}}` : '';
}

/**
 * Render families in the text format: `# HELP` and `# TYPE` once per family, then its samples. A
 * family may appear only once; a counter's name must end in `_total` (the convention promtool checks).
 */
export function renderExposition(families: readonly MetricFamily[]): string {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const f of families) {
    if (!METRIC_NAME.test(f.name)) throw new Error(`invalid metric name: ${f.name}`);
    if (seen.has(f.name)) throw new Error(`metric family ${f.name} appears twice`);
    if (f.type === 'counter' && !f.name.endsWith('_total'))
      throw new Error(`counter ${f.name} must end in _total`);
    seen.add(f.name);
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) out.push(`${f.name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
  }
  return out.length > 0 ? `${out.join('\n')}\n` : '';
}
