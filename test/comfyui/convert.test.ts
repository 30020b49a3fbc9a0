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

describe('convertWorkflow: one fixture per pitfall of spec §3.5', () => {
  it('has the fixtures', () => {
    expect(cases.length).toBeGreaterThanOrEqual(18);
  });
  for (const name of cases) {
    const expected = load(`${name}.api.json`) as JsonObject;
    it(`${name}: ${jsonText(expected['description'])}`, () => {
      const res = convertWorkflow(load(`${name}.workflow.json`), info);
      expect(res.prompt).toEqual(expected['prompt']);
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
    expect(res.warnings.join('\n')).toMatch(/node 6: input "text"/);
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
