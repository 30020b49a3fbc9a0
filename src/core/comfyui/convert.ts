/**
 * UI workflow ("Save", schema 0.4 or 1) → API prompt, following what the frontend's `graphToPrompt`
 * really does (docs/comfyui.md, "Workflow conversion": its steps) and avoiding every pitfall listed there
 * (P1–P21). API-format input is detected and passed through. Values stay lossless (`bigint` seeds, P15).
 */
import type { ObjectInfoMap } from './client.js';
import { ComfyWorkflowError } from './errors.js';
import { isJsonObject, jsonText, parseJsonLossless, type JsonObject, type JsonValue } from './json.js';
import {
  DYNAMIC_INPUT_TYPES,
  defaultValue,
  orderedInputs,
  widgetLayout,
  type WidgetSlot,
} from './object-info.js';

/** Result of {@link convertWorkflow}. */
export interface ConvertResult {
  /** The API prompt: `{ "<id>": {inputs, class_type, _meta: {title}} }`. */
  prompt: JsonObject;
  /** Which shape the input had. */
  format: 'api' | 'ui';
  /** Non-fatal findings (dropped links, surplus widget values, dynamic prompts sent verbatim, …). */
  warnings: string[];
  /** `{nodeId: title}` of the emitted nodes. */
  titles: Record<string, string>;
}

/** Options of {@link convertWorkflow}. */
export interface ConvertOptions {
  /**
   * P14: draw a fresh seed for every INT widget whose saved control value is `"randomize"` (or the legacy
   * `true`), imitating the next run of the frontend. `"fixed"`, `"increment"` and `"decrement"` keep the
   * saved value (the frontend already applied the step before saving). Without it the saved seed is sent
   * as is. The frontend draws from `[min, min(max, 2^50))`; the caller decides the range.
   */
  newSeeds?: () => bigint | number;
}

/** Frontend-only node types that never reach the server (P8). */
export const VIRTUAL_NODE_TYPES: ReadonlySet<string> = new Set([
  'Note',
  'MarkdownNote',
  'Reroute',
  'PrimitiveNode',
  'SetNode',
  'GetNode',
  'Label (rgthree)',
  'Fast Groups Muter (rgthree)',
  'Fast Groups Bypasser (rgthree)',
  'Fast Bypasser (rgthree)',
  'Fast Muter (rgthree)',
  'Bookmark (rgthree)',
  'Note Plus (mtb)',
]);

const MODE_MUTED = 2;
const MODE_BYPASS = 4;
// Subgraph IO pseudo-node ids on links inside a definition (docs/comfyui.md, "Workflow conversion").
const SUBGRAPH_INPUT_ID = -10;
const SUBGRAPH_OUTPUT_ID = -20;

/** True when `v` looks like an API prompt (every value has `class_type` and `inputs`). */
export function isApiPrompt(v: JsonValue): v is JsonObject {
  if (!isJsonObject(v) || Array.isArray(v['nodes'])) return false;
  const vals = Object.values(v);
  return (
    vals.length > 0 &&
    vals.every((n) => isJsonObject(n) && typeof n['class_type'] === 'string' && isJsonObject(n['inputs']))
  );
}

/** True when `v` looks like a UI workflow (a `nodes` array). */
export function isUiWorkflow(v: JsonValue): v is JsonObject {
  return isJsonObject(v) && Array.isArray(v['nodes']);
}

// ---------------------------------------------------------------------------------------------------

interface UiInput {
  name: string;
  type: string;
  link: number | null;
  widget?: { name: string };
}

interface UiNode {
  id: string;
  type: string;
  mode: number;
  title?: string;
  inputs: UiInput[];
  outputs: Array<{ name: string; type: string }>;
  widgetsValues: JsonValue[] | JsonObject | undefined;
  properties: JsonObject;
}

interface UiLink {
  id: string;
  originId: string;
  originSlot: number;
  targetId: string;
  targetSlot: number;
  type: string;
}

interface Scope {
  /** '' at the root, 'A:' or 'A:B:' inside subgraph / group instances. */
  prefix: string;
  nodes: Map<string, UiNode>;
  links: Map<string, UiLink>;
  parent: Scope | null;
  /** The subgraph/group instance node (in `parent`) this scope expands. */
  instance: UiNode | null;
  /** Subgraph input names by slot (for promoted values). */
  inputNames: string[];
  /** Inner widget overrides: innerNodeId → widget name → value. */
  overrides: Map<string, Map<string, JsonValue>>;
  /** Group nodes: outer input slot k → [innerId, inputName]; outer output slot → [innerId, slot]. */
  groupInputs?: Array<{ innerId: string; name: string }>;
  groupOutputs?: Array<{ innerId: string; slot: number }>;
}

type Resolved = { kind: 'link'; value: [string, number] } | { kind: 'value'; value: JsonValue } | null;

interface SubgraphDef {
  id: string;
  name: string;
  nodes: JsonValue[];
  links: JsonValue[];
  inputs: JsonObject[];
  outputs: JsonObject[];
}

interface Ctx {
  info: ObjectInfoMap;
  subgraphs: Map<string, SubgraphDef>;
  groupNodes: JsonObject;
  warnings: string[];
  /** Fatal problems (unknown types, P21 dynamic inputs), thrown together at the end. */
  problems: string[];
  out: JsonObject;
  titles: Record<string, string>;
  depth: number;
  options: ConvertOptions;
}

/**
 * Convert a workflow (UI or API JSON, already parsed with {@link parseJsonLossless}) to an API prompt.
 * Throws {@link ComfyWorkflowError} for unknown node types, for V3 dynamic inputs (P21), or a shape that is
 * neither format; every such problem of the workflow is listed at once.
 *
 * Product decisions on the frontend's queue-time behaviour (docs/comfyui.md, "Workflow conversion"):
 * - P13 dynamic prompts: text of `dynamicPrompts` STRING widgets is sent **verbatim** (no `{a|b}` choice,
 *   comments kept) so a conversion is deterministic; a warning names each node and input concerned.
 * - P14 seeds: the **saved** seed is sent as is, which is what the frontend sends on the next queue
 *   ("after" control mode). Re-running an unchanged workflow therefore hits ComfyUI's cache
 *   (`execution_cached`) and returns the same image; pass {@link ConvertOptions.newSeeds} to imitate
 *   "randomize".
 * - P21 `COMFY_AUTOGROW_V3` / `COMFY_DYNAMICCOMBO_V3` inputs are refused: their nested/dotted prompt keys
 *   cannot be derived from object_info alone; use "Export (API)" for such workflows.
 */
export function convertWorkflow(
  workflow: JsonValue,
  objectInfo: ObjectInfoMap,
  options: ConvertOptions = {},
): ConvertResult {
  if (
    isJsonObject(workflow) &&
    isApiPrompt(workflow['prompt'] ?? null) &&
    !Array.isArray(workflow['nodes'])
  ) {
    // A saved POST body {prompt, client_id, ...}.
    return passThrough(workflow['prompt'] as JsonObject);
  }
  if (isApiPrompt(workflow)) return passThrough(workflow);
  if (!isUiWorkflow(workflow)) {
    throw new ComfyWorkflowError(
      'This JSON is neither a ComfyUI workflow (no "nodes" array) nor an API prompt (no {"id": {"class_type", "inputs"}} entries). Save it from ComfyUI with "Save" or "Export (API)".',
    );
  }
  const subgraphs = new Map<string, SubgraphDef>();
  collectSubgraphs(workflow, subgraphs);
  const extra = isJsonObject(workflow['extra']) ? workflow['extra'] : {};
  const ctx: Ctx = {
    info: objectInfo,
    subgraphs,
    groupNodes: isJsonObject(extra['groupNodes']) ? extra['groupNodes'] : {},
    warnings: [],
    problems: [],
    out: {},
    titles: {},
    depth: 0,
    options,
  };
  const root: Scope = {
    prefix: '',
    nodes: mapNodes(workflow['nodes'] as JsonValue[]),
    links: mapLinks(Array.isArray(workflow['links']) ? workflow['links'] : []),
    parent: null,
    instance: null,
    inputNames: [],
    overrides: new Map(),
  };
  emitScope(ctx, root);
  if (ctx.problems.length > 0) {
    throw new ComfyWorkflowError(ctx.problems.join('\n'), ctx.problems);
  }
  // docs/comfyui.md, "Workflow conversion" step 9: drop link-valued inputs whose source was not emitted.
  for (const [id, n] of Object.entries(ctx.out)) {
    const inputs = (n as JsonObject)['inputs'] as JsonObject;
    for (const [k, v] of Object.entries(inputs)) {
      if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && !(v[0] in ctx.out)) {
        delete inputs[k];
        ctx.warnings.push(`node ${id}: input "${k}" dropped (its source ${v[0]} is not part of the prompt)`);
      }
    }
  }
  return { prompt: ctx.out, format: 'ui', warnings: ctx.warnings, titles: ctx.titles };
}

function passThrough(prompt: JsonObject): ConvertResult {
  const titles: Record<string, string> = {};
  for (const [id, n] of Object.entries(prompt)) {
    const node = n as JsonObject;
    const meta = isJsonObject(node['_meta']) ? node['_meta'] : {};
    titles[id] = typeof meta['title'] === 'string' ? meta['title'] : jsonText(node['class_type']);
  }
  return { prompt, format: 'api', warnings: [], titles };
}

function collectSubgraphs(container: JsonObject, into: Map<string, SubgraphDef>): void {
  const defs = isJsonObject(container['definitions']) ? container['definitions'] : {};
  const list = Array.isArray(defs['subgraphs']) ? defs['subgraphs'] : [];
  for (const d of list) {
    if (!isJsonObject(d) || typeof d['id'] !== 'string') continue;
    into.set(d['id'], {
      id: d['id'],
      name: typeof d['name'] === 'string' ? d['name'] : d['id'],
      nodes: Array.isArray(d['nodes']) ? d['nodes'] : [],
      links: Array.isArray(d['links']) ? d['links'] : [],
      inputs: (Array.isArray(d['inputs']) ? d['inputs'] : []).filter(isJsonObject),
      outputs: (Array.isArray(d['outputs']) ? d['outputs'] : []).filter(isJsonObject),
    });
    collectSubgraphs(d, into);
  }
}

function mapNodes(list: JsonValue[]): Map<string, UiNode> {
  const m = new Map<string, UiNode>();
  for (const raw of list) {
    if (!isJsonObject(raw)) continue;
    const n = toNode(raw, jsonText(raw['id']));
    m.set(n.id, n);
  }
  return m;
}

function toNode(raw: JsonObject, id: string): UiNode {
  const inputs: UiInput[] = (Array.isArray(raw['inputs']) ? raw['inputs'] : [])
    .filter(isJsonObject)
    .map((i) => {
      const w = i['widget'];
      const link = i['link'];
      return {
        name: jsonText(i['name'] ?? ''),
        type: jsonText(i['type'] ?? ''),
        link: typeof link === 'number' ? link : typeof link === 'string' && link !== '' ? Number(link) : null,
        ...(isJsonObject(w) && typeof w['name'] === 'string' ? { widget: { name: w['name'] } } : {}),
      };
    });
  const outputs = (Array.isArray(raw['outputs']) ? raw['outputs'] : [])
    .filter(isJsonObject)
    .map((o) => ({ name: jsonText(o['name'] ?? ''), type: jsonText(o['type'] ?? '') }));
  const wv = raw['widgets_values'];
  return {
    id,
    type: jsonText(raw['type'] ?? ''),
    mode: typeof raw['mode'] === 'number' ? raw['mode'] : 0,
    ...(typeof raw['title'] === 'string' ? { title: raw['title'] } : {}),
    inputs,
    outputs,
    widgetsValues: Array.isArray(wv) || isJsonObject(wv) ? wv : undefined,
    properties: isJsonObject(raw['properties']) ? raw['properties'] : {},
  };
}

/**
 * Links: 0.4 arrays `[id, origin, oslot, target, tslot, type]` or schema-1 objects (docs/comfyui.md,
 * "Workflow conversion").
 */
function mapLinks(list: JsonValue[]): Map<string, UiLink> {
  const m = new Map<string, UiLink>();
  for (const l of list) {
    let link: UiLink | null = null;
    if (Array.isArray(l) && l.length >= 5) {
      link = {
        id: jsonText(l[0]),
        originId: jsonText(l[1]),
        originSlot: Number(l[2]),
        targetId: jsonText(l[3]),
        targetSlot: Number(l[4]),
        type: jsonText(l[5] ?? ''),
      };
    } else if (isJsonObject(l) && l['id'] !== undefined) {
      link = {
        id: jsonText(l['id']),
        originId: jsonText(l['origin_id']),
        originSlot: Number(l['origin_slot']),
        targetId: jsonText(l['target_id']),
        targetSlot: Number(l['target_slot']),
        type: jsonText(l['type'] ?? ''),
      };
    }
    if (link) m.set(link.id, link);
  }
  return m;
}

function isGroupNodeType(ctx: Ctx, type: string): string | null {
  for (const sep of ['>', '/']) {
    if (type.startsWith(`workflow${sep}`)) {
      const name = type.slice(9);
      if (isJsonObject(ctx.groupNodes[name])) return name;
    }
  }
  return null;
}

function emitScope(ctx: Ctx, scope: Scope): void {
  if (++ctx.depth > 32) throw new ComfyWorkflowError('Subgraphs nest deeper than 32 levels (a cycle?)');
  for (const node of scope.nodes.values()) {
    // docs/comfyui.md, "Workflow conversion" step 3–4: muted or bypassed nodes (including subgraph/group
    // containers) are not emitted nor expanded.
    if (node.mode === MODE_MUTED || node.mode === MODE_BYPASS) continue;
    const child = childScope(ctx, scope, node);
    if (child) {
      emitScope(ctx, child);
      continue;
    }
    if (VIRTUAL_NODE_TYPES.has(node.type) && !ctx.info[node.type]) continue;
    const def = ctx.info[node.type];
    if (!def) {
      const where = scope.prefix ? ` (inside ${scope.prefix.slice(0, -1)})` : '';
      ctx.problems.push(
        `node ${scope.prefix}${node.id}${where} has type ${node.type}, which this ComfyUI does not know — install the custom node or pass --object-info from an instance that has it`,
      );
      continue;
    }
    emitNode(ctx, scope, node, def);
  }
  ctx.depth--;
}

function emitNode(ctx: Ctx, scope: Scope, node: UiNode, def: JsonObject): void {
  const id = scope.prefix + node.id;
  // P19: node.title, then object_info display_name, then the type.
  const dn = def['display_name'];
  const title = node.title ?? (typeof dn === 'string' && dn ? dn : node.type);
  const label = `node ${id} (${node.type}${title !== node.type ? `, "${title}"` : ''})`;
  const specs = orderedInputs(def);
  // P21: dynamic inputs need nested/dotted prompt keys that object_info does not describe; refuse rather than
  // send a silently wrong prompt (a DynamicCombo is also a widget, so every later widget value would shift).
  const dynamic = specs.filter((s) => DYNAMIC_INPUT_TYPES.has(s.type));
  if (dynamic.length > 0) {
    for (const s of dynamic)
      ctx.problems.push(
        `${label}: input "${s.name}" is a V3 dynamic input (${s.type}) whose prompt keys are nested/dotted names; converting it is not supported — use "Export (API)" in ComfyUI for this workflow`,
      );
    return;
  }
  const inputs: JsonObject = {};
  const values = widgetValues(ctx, id, node, def);
  const overrides = scope.overrides.get(node.id);
  if (overrides) for (const [k, v] of overrides) values.set(k, v);
  for (const [name, v] of values) inputs[name] = wrapValue(v);
  // docs/comfyui.md, "Workflow conversion" step 6 / P7: links override widget values; inputs identified by
  // NAME, never by target_slot.
  for (const input of node.inputs) {
    if (input.link === null) continue;
    const r = resolveLink(ctx, scope, String(input.link), input.type);
    if (r?.kind === 'link') inputs[input.name] = r.value;
    else if (r?.kind === 'value') inputs[input.name] = wrapValue(r.value);
    // null: a widget input keeps its widget value; a socket input stays absent (docs/comfyui.md, "Workflow
    // conversion" step 6, P9).
  }
  ctx.out[id] = { inputs, class_type: node.type, _meta: { title } };
  ctx.titles[id] = title;
  for (const s of specs) {
    const v = inputs[s.name];
    if (s.type !== 'STRING' || s.options['dynamicPrompts'] !== true || typeof v !== 'string') continue;
    if (/\{[^{}]*\|[^{}]*\}|\/\/|\/\*/.test(v)) {
      // P13: the frontend's serializeValue would strip comments and pick {a|b} choices at random; we send
      // the text verbatim so a conversion is deterministic (product decision), and say so.
      ctx.warnings.push(
        `${label}: input "${s.name}" contains {a|b} choices or comments; sent verbatim (the ComfyUI frontend would strip the comments and pick the choices at random)`,
      );
    }
  }
}

/** P11: arrays must be wrapped, or the server reads them as links. */
function wrapValue(v: JsonValue): JsonValue {
  return Array.isArray(v) ? { __value__: v } : v;
}

function widgetValues(ctx: Ctx, id: string, node: UiNode, def: JsonObject): Map<string, JsonValue> {
  const out = new Map<string, JsonValue>();
  const wv = node.widgetsValues;
  const modern = widgetLayout(def);
  if (isJsonObject(wv)) {
    // P6: dict-valued widgets_values (e.g. VideoHelperSuite) are keyed by widget name.
    for (const s of modern)
      if (s.kind === 'input') out.set(s.spec.name, wv[s.spec.name] ?? defaultValue(s.spec));
    return out;
  }
  const values = wv ?? [];
  let layout: WidgetSlot[] = modern;
  const legacy = widgetLayout(def, true);
  // P4: files saved before frontend 1.16 carry dummy values for forceInput inputs; the frontend strips
  // them only when the array length matches the legacy layout exactly.
  let legacyMode = false;
  if (legacy.length !== modern.length && values.length === legacy.length) {
    layout = legacy;
    legacyMode = true;
  }
  layout.forEach((slot, i) => {
    if (slot.kind === 'skip') return; // P1, P2, P5 (holes sit on skipped slots)
    if (legacyMode && slot.spec.options['forceInput'] === true) return;
    let v: JsonValue | undefined = values[i];
    // P17: missing trailing values keep the default. A null on a real widget also falls back to the default.
    if (v === undefined || v === null) v = defaultValue(slot.spec);
    if (slot.spec.type === 'BOOLEAN' && (v === 'true' || v === 'false')) v = v === 'true'; // P16
    const next = layout[i + 1];
    if (
      ctx.options.newSeeds &&
      slot.spec.type === 'INT' &&
      next?.kind === 'skip' &&
      next.why === 'control_after_generate' &&
      (values[i + 1] === 'randomize' || values[i + 1] === true)
    ) {
      v = ctx.options.newSeeds(); // P14: imitate "randomize" (legacy `true` meant the same).
    }
    out.set(slot.spec.name, v);
  });
  if (values.length > layout.length) {
    ctx.warnings.push(
      `node ${id} (${node.type}): ${values.length} widget values but ${layout.length} expected; the extra values were ignored (a custom frontend widget? spec P18)`,
    );
  }
  return out;
}

// ---- resolution (docs/comfyui.md, "Workflow conversion" step 7) ----

function resolveLink(ctx: Ctx, scope: Scope, linkId: string, consumerType: string, guard = 0): Resolved {
  if (guard > 256) throw new ComfyWorkflowError('Link resolution loops (a reroute or bypass cycle?)');
  const link = scope.links.get(linkId);
  if (!link) return null;
  if (Number(link.originId) === SUBGRAPH_INPUT_ID)
    return resolveScopeInput(ctx, scope, link.originSlot, consumerType, guard + 1);
  const origin = scope.nodes.get(link.originId);
  if (!origin) return null;
  return resolveOutput(ctx, scope, origin, link.originSlot, consumerType, guard + 1);
}

function resolveOutput(
  ctx: Ctx,
  scope: Scope,
  node: UiNode,
  slot: number,
  consumerType: string,
  guard: number,
): Resolved {
  if (node.mode === MODE_MUTED) return null;
  if (node.mode === MODE_BYPASS) {
    const outType = node.outputs[slot]?.type ?? '';
    const pick = pickBypassInput(node, slot, outType, consumerType);
    if (pick === null) {
      ctx.warnings.push(
        `node ${scope.prefix}${node.id} (${node.type}) is bypassed and has no input matching type ${consumerType}; the link was dropped`,
      );
      return null;
    }
    const input = node.inputs[pick];
    if (!input || input.link === null) return null;
    return resolveLink(ctx, scope, String(input.link), consumerType, guard + 1);
  }
  const child = childScope(ctx, scope, node);
  if (child) {
    if (child.groupOutputs) {
      const o = child.groupOutputs[slot];
      const inner = o && child.nodes.get(o.innerId);
      return inner && o ? resolveOutput(ctx, child, inner, o.slot, consumerType, guard + 1) : null;
    }
    // A subgraph output resolves to the inner node feeding the output pseudo-node (-20).
    for (const l of child.links.values()) {
      if (Number(l.targetId) === SUBGRAPH_OUTPUT_ID && l.targetSlot === slot)
        return resolveLink(ctx, child, l.id, consumerType, guard + 1);
    }
    return null;
  }
  if (node.type === 'Reroute' && !ctx.info['Reroute']) {
    const inp = node.inputs[0];
    return inp && inp.link !== null
      ? resolveLink(ctx, scope, String(inp.link), consumerType, guard + 1)
      : null;
  }
  if (node.type === 'PrimitiveNode' && !ctx.info['PrimitiveNode']) {
    // P8: a legacy PrimitiveNode's widgets_values[0] is the value of every widget it feeds (applyToGraph).
    const wv = node.widgetsValues;
    return Array.isArray(wv) && wv.length > 0 ? { kind: 'value', value: wv[0] ?? null } : null;
  }
  if (node.type === 'GetNode' && !ctx.info['GetNode']) {
    // KJNodes Set/Get: resolveVirtualOutput finds the SetNode with the same name in this graph.
    const name = Array.isArray(node.widgetsValues) ? node.widgetsValues[0] : undefined;
    for (const n of scope.nodes.values()) {
      if (n.type === 'SetNode' && Array.isArray(n.widgetsValues) && n.widgetsValues[0] === name) {
        const inp = n.inputs[0];
        return inp && inp.link !== null
          ? resolveLink(ctx, scope, String(inp.link), consumerType, guard + 1)
          : null;
      }
    }
    return null;
  }
  if (VIRTUAL_NODE_TYPES.has(node.type) && !ctx.info[node.type]) return null;
  return { kind: 'link', value: [scope.prefix + node.id, slot] }; // P12
}

/** An inner input fed by the subgraph's input slot → the outer link, else the promoted widget value. */
function resolveScopeInput(
  ctx: Ctx,
  scope: Scope,
  slot: number,
  consumerType: string,
  guard: number,
): Resolved {
  const inst = scope.instance;
  const parent = scope.parent;
  if (!inst || !parent) return null;
  const name = scope.inputNames[slot];
  const outer = inst.inputs.find((i) => name !== undefined && i.name === name) ?? inst.inputs[slot];
  if (outer && outer.link !== null)
    return resolveLink(ctx, parent, String(outer.link), consumerType, guard + 1);
  const promoted = promotedValue(inst, outer?.name ?? name);
  return promoted === undefined ? null : { kind: 'value', value: promoted };
}

function promotedValue(inst: UiNode, name: string | undefined): JsonValue | undefined {
  if (name === undefined || !Array.isArray(inst.widgetsValues)) return undefined;
  const proxy = inst.properties['proxyWidgets'];
  if (Array.isArray(proxy)) {
    const idx = proxy.findIndex((p) => Array.isArray(p) && jsonText(p[0]) === '-1' && p[1] === name);
    if (idx >= 0) return inst.widgetsValues[idx];
  }
  const widgetInputs = inst.inputs.filter((i) => i.widget);
  const idx = widgetInputs.findIndex((i) => i.name === name || i.widget?.name === name);
  return idx >= 0 ? inst.widgetsValues[idx] : undefined;
}

const splitTypes = (t: string): string[] =>
  t
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
function compatible(a: string, b: string): boolean {
  if (!a || !b || a === '*' || b === '*') return true;
  const bs = splitTypes(b.toUpperCase());
  return splitTypes(a.toUpperCase()).some((x) => bs.includes(x));
}

/**
 * Which input a bypassed node passes through (docs/comfyui.md, "Workflow conversion" step 7): the same slot
 * if its type fits both the bypassed output and the consumer; else the first input of exactly the consumer's
 * type; else the first compatible one. `*`/empty output type: the same slot, else 0.
 */
export function pickBypassInput(
  node: { inputs: Array<{ type: string }> },
  slot: number,
  outType: string,
  consumerType: string,
): number | null {
  if (!outType || outType === '*') {
    if (node.inputs[slot]) return slot;
    return node.inputs.length > 0 ? 0 : null;
  }
  const same = node.inputs[slot];
  if (same && compatible(same.type, outType) && compatible(same.type, consumerType)) return slot;
  const exact = node.inputs.findIndex((i) => i.type === consumerType);
  if (exact >= 0) return exact;
  const comp = node.inputs.findIndex((i) => compatible(i.type, consumerType) && compatible(i.type, outType));
  return comp >= 0 ? comp : null;
}

// ---- subgraphs and legacy group nodes (P10) ----

const scopeCache = new WeakMap<Scope, Map<string, Scope | null>>();

function childScope(ctx: Ctx, scope: Scope, node: UiNode): Scope | null {
  let byNode = scopeCache.get(scope);
  if (!byNode) scopeCache.set(scope, (byNode = new Map<string, Scope | null>()));
  if (byNode.has(node.id)) return byNode.get(node.id) ?? null;
  let child: Scope | null = null;
  const def = ctx.subgraphs.get(node.type);
  if (def && !ctx.info[node.type]) child = subgraphScope(scope, node, def);
  else {
    const g = isGroupNodeType(ctx, node.type);
    if (g) child = groupScope(ctx, scope, node, ctx.groupNodes[g] as JsonObject);
  }
  byNode.set(node.id, child);
  return child;
}

function subgraphScope(parent: Scope, inst: UiNode, def: SubgraphDef): Scope {
  const overrides = new Map<string, Map<string, JsonValue>>();
  const proxy = inst.properties['proxyWidgets'];
  if (Array.isArray(proxy) && Array.isArray(inst.widgetsValues)) {
    // Newer frontends: per-instance promoted values of inner widgets, aligned with widgets_values.
    proxy.forEach((p, i) => {
      if (!Array.isArray(p) || jsonText(p[0]) === '-1' || typeof p[1] !== 'string') return;
      const v = (inst.widgetsValues as JsonValue[])[i];
      if (v === undefined) return;
      const inner = jsonText(p[0]);
      if (!overrides.has(inner)) overrides.set(inner, new Map());
      overrides.get(inner)!.set(p[1], v);
    });
  }
  return {
    prefix: `${parent.prefix}${inst.id}:`,
    nodes: mapNodes(def.nodes),
    links: mapLinks(def.links),
    parent,
    instance: inst,
    inputNames: def.inputs.map((i) => jsonText(i['name'] ?? '')),
    overrides,
  };
}

/**
 * Legacy group node (`workflow>Name`, definition in `extra.groupNodes`): inner nodes become
 * `"<gid>:<index>"`. Internal links are `[originIndex, originSlot, targetIndex, targetSlot, …]`; every inner
 * input not fed internally is an outer input (sockets as slots, widgets as the instance's widgets_values,
 * concatenated in inner-node order); outer outputs are the inner outputs in node order.
 */
function groupScope(ctx: Ctx, parent: Scope, inst: UiNode, def: JsonObject): Scope {
  const rawNodes = (Array.isArray(def['nodes']) ? def['nodes'] : []).filter(isJsonObject);
  const nodes = new Map<string, UiNode>();
  rawNodes.forEach((raw, i) => {
    const n = toNode(raw, String(typeof raw['index'] === 'number' ? raw['index'] : i));
    n.inputs = n.inputs.map((x) => ({ ...x, link: null }));
    nodes.set(n.id, n);
  });
  const links = new Map<string, UiLink>();
  const internal = new Set<string>();
  let nextLink = 0;
  for (const l of Array.isArray(def['links']) ? def['links'] : []) {
    if (!Array.isArray(l) || l[0] === null || l[2] === null || l[0] === undefined) continue;
    const link: UiLink = {
      id: String(nextLink++),
      originId: jsonText(l[0]),
      originSlot: Number(l[1]),
      targetId: jsonText(l[2]),
      targetSlot: Number(l[3]),
      type: jsonText(l[5] ?? ''),
    };
    links.set(link.id, link);
    const target = nodes.get(link.targetId);
    const input = target?.inputs[link.targetSlot];
    if (target && input) {
      input.link = Number(link.id);
      internal.add(`${target.id}|${input.name}`);
    }
  }
  const groupInputs: Array<{ innerId: string; name: string }> = [];
  const groupOutputs: Array<{ innerId: string; slot: number }> = [];
  const overrides = new Map<string, Map<string, JsonValue>>();
  const instValues = Array.isArray(inst.widgetsValues) ? inst.widgetsValues : [];
  let w = 0;
  for (const n of nodes.values()) {
    const idef = ctx.info[n.type];
    for (const inp of n.inputs) {
      if (!inp.widget && !internal.has(`${n.id}|${inp.name}`))
        groupInputs.push({ innerId: n.id, name: inp.name });
    }
    if (idef) {
      for (const slot of widgetLayout(idef)) {
        if (slot.kind === 'input' && internal.has(`${n.id}|${slot.spec.name}`)) continue;
        const v = instValues[w++];
        if (slot.kind === 'skip' || v === undefined) continue;
        if (!overrides.has(n.id)) overrides.set(n.id, new Map());
        overrides.get(n.id)!.set(slot.spec.name, v);
      }
    }
    n.outputs.forEach((_o, slot) => groupOutputs.push({ innerId: n.id, slot }));
  }
  // Outer sockets: rewire each outer input link to the inner input it stands for (by name first, then order).
  const scope: Scope = {
    prefix: `${parent.prefix}${inst.id}:`,
    nodes,
    links,
    parent,
    instance: inst,
    inputNames: [],
    overrides,
    groupInputs,
    groupOutputs,
  };
  const socketInputs = inst.inputs.filter((i) => !i.widget);
  socketInputs.forEach((outer, k) => {
    const gi = groupInputs.find((g) => g.name === outer.name) ?? groupInputs[k];
    if (!gi) return;
    const inner = nodes.get(gi.innerId);
    const input = inner?.inputs.find((i) => i.name === gi.name);
    if (!inner || !input) return;
    const linkId = String(nextLink++);
    scope.inputNames[Number(linkId)] = outer.name;
    links.set(linkId, {
      id: linkId,
      originId: String(SUBGRAPH_INPUT_ID),
      originSlot: Number(linkId),
      targetId: inner.id,
      targetSlot: 0,
      type: input.type,
    });
    input.link = Number(linkId);
  });
  return scope;
}

/**
 * Read and losslessly parse a workflow file. Throws {@link ComfyWorkflowError} (kind `usage`) for a missing
 * file or invalid JSON, naming the line and column.
 */
export async function readWorkflowFile(path: string): Promise<JsonValue> {
  const { readFile } = await import('node:fs/promises');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (e as Error).message;
    throw new ComfyWorkflowError(`Cannot read workflow ${path}: ${why}`, undefined, 'usage');
  }
  try {
    return parseJsonLossless(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    throw new ComfyWorkflowError(`${path} is not valid JSON: ${(e as Error).message}`, undefined, 'usage');
  }
}
