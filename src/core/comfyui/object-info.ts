/**
 * object_info access for the converter (docs/comfyui.md, "HTTP routes", "Workflow conversion"): loading
 * (live, cached per instance URL + version, or from a saved file) and the widget layout a node type has in
 * `widgets_values`.
 */
import { readFile } from 'node:fs/promises';

import type { ComfyClient, ObjectInfoMap } from './client.js';
import { ComfyWorkflowError } from './errors.js';
import { isJsonObject, parseJsonLossless, type JsonObject, type JsonValue } from './json.js';

/** One parsed input spec. */
export interface InputSpec {
  name: string;
  /** `INT`, `FLOAT`, `STRING`, `BOOLEAN`, `COMBO`, or a socket type such as `MODEL`. Legacy list combos become `COMBO`. */
  type: string;
  options: JsonObject;
  /** Combo options (V1 list or V3 `options`). */
  comboOptions: JsonValue[] | null;
  required: boolean;
}

/** One entry of a node's `widgets_values` layout. */
export type WidgetSlot =
  | { kind: 'input'; spec: InputSpec }
  /** A value the frontend saves but never sends: control_after_generate, filter list, upload button, audio UI. */
  | { kind: 'skip'; why: string };

const WIDGET_TYPES = new Set(['INT', 'FLOAT', 'STRING', 'BOOLEAN', 'COMBO']);

/**
 * Parse `input.required/optional` of a definition, ordered by `input_order` then insertion order
 * (docs/comfyui.md, "Workflow conversion").
 */
export function orderedInputs(def: JsonObject): InputSpec[] {
  const input = isJsonObject(def['input']) ? def['input'] : {};
  const order = isJsonObject(def['input_order']) ? def['input_order'] : {};
  const out: InputSpec[] = [];
  const seen = new Set<string>();
  const add = (group: 'required' | 'optional', name: string): void => {
    const table = isJsonObject(input[group]) ? input[group] : {};
    const raw = table[name];
    if (raw === undefined || seen.has(name)) return;
    seen.add(name);
    out.push(parseSpec(name, raw, group === 'required'));
  };
  for (const group of ['required', 'optional'] as const) {
    const names = order[group];
    if (Array.isArray(names)) for (const n of names) if (typeof n === 'string') add(group, n);
  }
  for (const group of ['required', 'optional'] as const) {
    const table = isJsonObject(input[group]) ? input[group] : {};
    for (const n of Object.keys(table)) add(group, n);
  }
  return out;
}

function parseSpec(name: string, raw: JsonValue, required: boolean): InputSpec {
  const arr = Array.isArray(raw) ? raw : [raw];
  const t = arr[0];
  const options = isJsonObject(arr[1]) ? arr[1] : {};
  if (Array.isArray(t)) return { name, type: 'COMBO', options, comboOptions: t, required };
  const type = typeof t === 'string' ? t : 'UNKNOWN';
  const v3 = options['options'];
  return { name, type, options, comboOptions: type === 'COMBO' && Array.isArray(v3) ? v3 : null, required };
}

/** True when the input creates a widget (a widget type without `forceInput`). */
export function isWidgetInput(spec: InputSpec): boolean {
  return WIDGET_TYPES.has(spec.type) && spec.options['forceInput'] !== true;
}

/**
 * Dynamic V3 input types whose prompt keys are nested/dotted names (docs/comfyui.md, "HTTP routes", P21); not
 * convertible from object_info alone.
 */
export const DYNAMIC_INPUT_TYPES: ReadonlySet<string> = new Set([
  'COMFY_AUTOGROW_V3',
  'COMFY_DYNAMICCOMBO_V3',
]);

/**
 * The frontend-only pseudo-inputs an upload combo makes its extension add to `input.required`
 * (docs/comfyui.md, "Workflow conversion", P2).
 */
function uploadPseudoInputs(spec: InputSpec): Array<{ name: string; why: string }> {
  if (spec.type !== 'COMBO' || !spec.required) return [];
  const o = spec.options;
  if (o['image_upload'] === true || o['video_upload'] === true || o['animated_image_upload'] === true)
    return [{ name: 'upload', why: 'upload button' }];
  if (o['audio_upload'] === true)
    return [
      { name: 'audioUI', why: 'audio UI' },
      { name: 'upload', why: 'upload button' },
    ];
  if (Object.keys(o).some((k) => /_upload$/.test(k) && o[k] === true))
    return [{ name: 'upload', why: 'upload button' }];
  return [];
}

/**
 * The `widgets_values` layout of a node type as the frontend creates it (docs/comfyui.md, "Workflow
 * conversion"): ordered widget inputs, each followed by its control values (P1), and the upload button /
 * audio UI pseudo-inputs (P2, P5). `legacy` includes `forceInput` inputs, as files saved before frontend 1.16
 * do (P4).
 *
 * Why the pseudo-inputs are placed the way they are: the upload extensions append them to
 * `input.required`, and `getOrderedInputSpecs` walks `input_order.required`, `input_order.optional`, then
 * the remaining inputs in insertion order (required keys, the appended pseudo-inputs, optional keys). With a
 * complete `input_order` they therefore come after every ordered input; without one (older servers) they
 * sit between the required and the optional widgets, leaving `null` holes in the middle (P3, P5).
 */
export function widgetLayout(def: JsonObject, legacy = false): WidgetSlot[] {
  const specs = orderedInputs(def);
  const order = isJsonObject(def['input_order']) ? def['input_order'] : {};
  const ordered = new Set<string>();
  for (const group of ['required', 'optional'] as const) {
    const names = order[group];
    if (Array.isArray(names)) for (const n of names) if (typeof n === 'string') ordered.add(n);
  }
  // Insertion order of the "remaining" walk: unordered required inputs, then pseudo-inputs, then optional.
  const pseudo = new Map<string, string>();
  for (const spec of specs)
    for (const p of uploadPseudoInputs(spec)) if (!pseudo.has(p.name)) pseudo.set(p.name, p.why);
  const inOrder = specs.filter((s) => ordered.has(s.name));
  const rest = specs.filter((s) => !ordered.has(s.name));
  type Entry = { spec: InputSpec } | { why: string };
  const entries: Entry[] = [
    ...inOrder.map((spec) => ({ spec })),
    ...rest.filter((s) => s.required).map((spec) => ({ spec })),
    ...[...pseudo.values()].map((why) => ({ why })),
    ...rest.filter((s) => !s.required).map((spec) => ({ spec })),
  ];
  const slots: WidgetSlot[] = [];
  for (const e of entries) {
    if ('why' in e) {
      slots.push({ kind: 'skip', why: e.why });
      continue;
    }
    const spec = e.spec;
    const widget = WIDGET_TYPES.has(spec.type) && (legacy || spec.options['forceInput'] !== true);
    if (!widget) continue;
    slots.push({ kind: 'input', spec });
    const cag = spec.options['control_after_generate'];
    if (spec.type === 'INT') {
      // P1: seed/noise_seed get a control combo unless the spec says false explicitly.
      const has = cag === undefined ? spec.name === 'seed' || spec.name === 'noise_seed' : cag !== false;
      if (has) slots.push({ kind: 'skip', why: 'control_after_generate' });
    } else if (spec.type === 'COMBO' && cag !== undefined && cag !== false) {
      slots.push(
        { kind: 'skip', why: 'control_after_generate' },
        { kind: 'skip', why: 'control_filter_list' },
      );
    }
  }
  return slots;
}

/** Default value of a widget input for missing trailing values (P17). */
export function defaultValue(spec: InputSpec): JsonValue {
  if (spec.options['default'] !== undefined) return spec.options['default'];
  if (spec.comboOptions && spec.comboOptions.length > 0) return spec.comboOptions[0] ?? null;
  switch (spec.type) {
    case 'INT':
    case 'FLOAT':
      return typeof spec.options['min'] === 'number' ? spec.options['min'] : 0;
    case 'BOOLEAN':
      return false;
    case 'STRING':
      return '';
    default:
      return null;
  }
}

/** Read a saved `object_info.json` (lossless). */
export async function loadObjectInfoFile(path: string): Promise<ObjectInfoMap> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ComfyWorkflowError(`Cannot read the object_info file ${path}: ${(e as Error).message}`);
  }
  let v: JsonValue;
  try {
    v = parseJsonLossless(text);
  } catch (e) {
    throw new ComfyWorkflowError(`${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (!isJsonObject(v))
    throw new ComfyWorkflowError(`${path} is not an object_info map (expected {"NodeClass": {...}})`);
  return v as ObjectInfoMap;
}

const cache = new Map<string, ObjectInfoMap>();

/** Live object_info of an instance, cached per instance URL + ComfyUI version (custom nodes need a restart to change it). */
export async function getObjectInfo(client: ComfyClient, signal?: AbortSignal): Promise<ObjectInfoMap> {
  const stats = await client.systemStats(signal);
  const key = `${client.url}|${stats.system.comfyui_version ?? 'unknown'}|${(stats.system.argv ?? []).join(' ')}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const info = await client.objectInfo(signal);
  cache.set(key, info);
  return info;
}

/** Forget cached object_info (all instances, or one URL). */
export function clearObjectInfoCache(url?: string): void {
  if (!url) return cache.clear();
  for (const k of [...cache.keys()]) if (k.startsWith(`${url}|`)) cache.delete(k);
}
