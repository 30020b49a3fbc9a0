import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import type { ObjectInfoMap } from '../../src/core/comfyui/client.js';
import { convertWorkflow, pickBypassInput, readWorkflowFile } from '../../src/core/comfyui/convert.js';
import { ComfyWorkflowError } from '../../src/core/comfyui/errors.js';
import { jsonText, parseJsonLossless, stringifyJson, type JsonObject } from '../../src/core/comfyui/json.js';
import { widgetLayout } from '../../src/core/comfyui/object-info.js';

const dir = fileURLToPath(new URL('../fixtures/comfyui/convert/', import.meta.url));
const info = parseJsonLossless(
  readFileSync(fileURLToPath(new URL('../fixtures/comfyui/object_info.json', import.meta.url)), 'utf8'),
) as ObjectInfoMap;
const load = (f: string) => parseJsonLossless(readFileSync(dir + f, 'utf8'));
const cases = readdirSync(dir)
  .filter((f) => f.endsWith('.workflow.json'))
  .map((f) => f.replace('.workflow.json', ''))
  .sort();

/** `{"<id>": [input names in key order]}`: the frontend's key order is part of what it sends. */
const keyOrder = (prompt: JsonObject) =>
  Object.fromEntries(
    Object.entries(prompt).map(([id, n]) => [id, Object.keys((n as JsonObject)['inputs'] as JsonObject)]),
  );

describe('convertWorkflow: one fixture per conversion pitfall (docs/comfyui.md)', () => {
  it('has a fixture for every pitfall P1–P21', () => {
    const covered = new Set(cases.map((c) => /^p(\d\d)-/.exec(c)?.[1]).filter(Boolean));
    // P3, P12, P19, P20 are also exercised by p01-control-after-generate; each has its own fixture too.
    for (let p = 1; p <= 21; p++) expect(covered, `P${p}`).toContain(String(p).padStart(2, '0'));
  });
  for (const name of cases) {
    // Fixture fields: description, then `prompt` (+ optional exact `warnings`) or `error` (exact problems).
    const expected = load(`${name}.api.json`) as JsonObject;
    it(`${name}: ${jsonText(expected['description'])}`, () => {
      const workflow = load(`${name}.workflow.json`);
      if (expected['error'] !== undefined) {
        let err: unknown;
        try {
          convertWorkflow(workflow, info);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(ComfyWorkflowError);
        expect((err as ComfyWorkflowError).problems).toEqual(expected['error']);
        expect((err as Error).message).toBe((expected['error'] as string[]).join('\n'));
        return;
      }
      const res = convertWorkflow(workflow, info);
      expect(res.prompt).toEqual(expected['prompt']);
      expect(keyOrder(res.prompt)).toEqual(keyOrder(expected['prompt'] as JsonObject));
      if (expected['warnings'] !== undefined) expect(res.warnings).toEqual(expected['warnings']);
    });
  }
});

describe('convertWorkflow details', () => {
  it('P15: a 2^64-1 seed is written back exactly', () => {
    const res = convertWorkflow(load('p15-seed-above-2p53.workflow.json'), info);
    const text = stringifyJson(res.prompt);
    expect(text).toContain('"seed":18446744073709551615');
    expect((res.prompt['3'] as JsonObject)['inputs']).toMatchObject({ seed: 18446744073709551615n });
  });

  it('the naive zip of the worked example is NOT what we produce (steps is a number, not "randomize")', () => {
    const res = convertWorkflow(load('p01-control-after-generate.workflow.json'), info);
    const ks = (res.prompt['3'] as JsonObject)['inputs'] as JsonObject;
    expect(ks['steps']).toBe(20);
    expect(ks['sampler_name']).toBe('euler');
    expect(Object.keys(ks)).not.toContain('control_after_generate');
  });

  it('API-format input is detected and passed through', () => {
    const res = convertWorkflow(load('api-passthrough.workflow.json'), {});
    expect(res.format).toBe('api');
  });

  it('a saved POST body {prompt: ...} is accepted as API format', () => {
    const api = load('api-passthrough.workflow.json');
    expect(convertWorkflow({ prompt: api, client_id: 'x' }, {}).prompt).toEqual(api);
  });

  it('unknown node types give one clear error naming node, type and the fix', () => {
    const wf = load('p01-control-after-generate.workflow.json') as JsonObject;
    (wf['nodes'] as JsonObject[]).push({
      id: 12,
      type: 'FooNode',
      mode: 0,
      inputs: [],
      outputs: [],
      properties: {},
      widgets_values: [1],
    });
    try {
      convertWorkflow(wf, info);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ComfyWorkflowError);
      expect((e as Error).message).toBe(
        'node 12 has type FooNode, which this ComfyUI does not know — install the custom node or pass --object-info from an instance that has it',
      );
    }
  });

  it('neither format → a clear error', () => {
    expect(() => convertWorkflow({ hello: 1 }, info)).toThrow(/neither a ComfyUI workflow/);
  });

  it('dynamic prompt syntax is sent verbatim with a warning (P13)', () => {
    const wf = load('p01-control-after-generate.workflow.json') as JsonObject;
    const n6 = (wf['nodes'] as JsonObject[]).find((n) => n['id'] === 6)!;
    n6['widgets_values'] = ['a {red|blue} castle // comment'];
    const res = convertWorkflow(wf, info);
    expect(((res.prompt['6'] as JsonObject)['inputs'] as JsonObject)['text']).toBe(
      'a {red|blue} castle // comment',
    );
    expect(res.warnings.join('\n')).toMatch(/node 6 \(CLIPTextEncode, "Positive"\): input "text"/);
  });

  it('P13: a text without dynamic-prompt syntax gives no warning', () => {
    expect(convertWorkflow(load('p01-control-after-generate.workflow.json'), info).warnings).toEqual([]);
  });

  it('P14: newSeeds replaces only seeds whose control is "randomize" (or legacy true)', () => {
    let n = 0n;
    const res = convertWorkflow(load('p14-seed-sent-as-saved.workflow.json'), info, {
      newSeeds: () => 1000n + ++n,
    });
    const input = (id: string, k: string) => ((res.prompt[id] as JsonObject)['inputs'] as JsonObject)[k];
    expect(input('3', 'seed')).toBe(1001n); // randomize
    expect(input('10', 'noise_seed')).toBe(42); // increment: the saved value is already the next one
    expect(input('11', 'value')).toBe(5); // fixed
    expect(input('14', 'noise_seed')).toBe(1002n); // legacy true
    expect(n).toBe(2n);
    expect(stringifyJson(res.prompt)).toContain('"seed":1001');
  });

  it('P12: every link is a [string, number] pair, never numbers or bigints for the id', () => {
    const res = convertWorkflow(load('p12-link-encoding.workflow.json'), info);
    const links = Object.values(res.prompt).flatMap((n) =>
      Object.values((n as JsonObject)['inputs'] as JsonObject).filter(Array.isArray),
    );
    expect(links).toHaveLength(4);
    for (const l of links) {
      expect(typeof l[0]).toBe('string');
      expect(typeof l[1]).toBe('number');
    }
  });

  it('P21: a V3 COMBO spec gives the same layout as the legacy list form', () => {
    const v3 = {
      input: { required: { s: ['COMBO', { options: ['a', 'b'], control_after_generate: true }] } },
    };
    const v1 = { input: { required: { s: [['a', 'b'], { control_after_generate: true }] } } };
    const names = (d: JsonObject) =>
      widgetLayout(d).map((s) => (s.kind === 'input' ? `${s.spec.name}:${s.spec.type}` : `(${s.why})`));
    expect(names(v3)).toEqual(['s:COMBO', '(control_after_generate)', '(control_filter_list)']);
    expect(names(v1)).toEqual(names(v3));
  });

  it('P21: the dynamic-input error names every offending node at once and is a workflow error', () => {
    try {
      convertWorkflow(load('p21-dynamic-inputs-refused.workflow.json'), info);
      expect.unreachable();
    } catch (e) {
      expect(e).toMatchObject({ name: 'ComfyWorkflowError', code: 'COMFY_WORKFLOW', kind: 'workflow' });
      expect((e as ComfyWorkflowError).problems).toHaveLength(2);
    }
  });

  it('surplus widget values are reported (P18)', () => {
    const wf = load('p01-control-after-generate.workflow.json') as JsonObject;
    const n5 = (wf['nodes'] as JsonObject[]).find((n) => n['id'] === 5)!;
    n5['widgets_values'] = [512, 768, 1, 'extra'];
    expect(convertWorkflow(wf, info).warnings.join('\n')).toMatch(
      /node 5 \(EmptyLatentImage\): 4 widget values but 3 expected/,
    );
  });

  it('widget layout of LoadImageMask and KSampler (P1, P2, P3)', () => {
    const names = (cls: string) =>
      widgetLayout(info[cls]!).map((s) => (s.kind === 'input' ? s.spec.name : `(${s.why})`));
    expect(names('LoadImageMask')).toEqual(['image', 'channel', '(upload button)']);
    expect(names('KSampler')).toEqual([
      'seed',
      '(control_after_generate)',
      'steps',
      'cfg',
      'sampler_name',
      'scheduler',
      'denoise',
    ]);
    expect(names('LoadAudio')).toEqual(['audio', '(audio UI)', '(upload button)']);
    // P5: no input_order (older server): the pseudo-inputs sit between required and optional widgets.
    expect(names('LoadAudioSegment')).toEqual([
      'audio',
      '(audio UI)',
      '(upload button)',
      'start_time',
      'duration',
    ]);
    // P3: input_order wins over object key order (optional listed first, required keys shuffled).
    expect(names('OrderProbe')).toEqual(['alpha', 'mode', 'zeta', 'opt_flag', 'opt_text']);
  });

  it('bypass input choice: same slot if compatible, then exact consumer type, then compatible, * → same slot', () => {
    const node = { inputs: [{ type: 'LATENT' }, { type: 'IMAGE' }, { type: 'MASK' }] };
    expect(pickBypassInput(node, 1, 'IMAGE', 'IMAGE')).toBe(1);
    expect(pickBypassInput(node, 0, 'IMAGE', 'IMAGE')).toBe(1);
    expect(pickBypassInput(node, 0, 'MASK', 'MASK')).toBe(2);
    expect(pickBypassInput(node, 2, '*', 'IMAGE')).toBe(2);
    expect(pickBypassInput({ inputs: [{ type: 'MODEL' }] }, 0, 'IMAGE', 'IMAGE')).toBeNull();
  });

  it('readWorkflowFile: missing file and invalid JSON with position are usage errors', async () => {
    await expect(readWorkflowFile('/nonexistent/wf.json')).rejects.toMatchObject({
      kind: 'usage',
      message: expect.stringContaining('no such file'),
    });
    const { writeFile, mkdtemp } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const d = await mkdtemp(`${tmpdir()}/wf-`);
    await writeFile(`${d}/bad.json`, '{\n  "nodes": [1, 2,,]\n}');
    await expect(readWorkflowFile(`${d}/bad.json`)).rejects.toMatchObject({
      kind: 'usage',
      message: expect.stringMatching(/line 2, column 18/),
    });
  });
});
