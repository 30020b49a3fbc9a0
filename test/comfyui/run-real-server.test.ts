// `luna-tray run` against the quirks of a real ComfyUI 0.8.0 server that the fake reproduces:
// the execution cache, /free, SaveImage batches and subfolders, text outputs, the validation error
// kinds, hostile output names and sizes, and control sequences in what the server says.
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { runCommand } from '../../src/cli/commands/run.js';
import { parseJsonLossless, stringifyJson, type JsonObject } from '../../src/core/comfyui/json.js';
import { freeVram } from '../../src/core/comfyui/monitor.js';
import { startFakeComfy, type FakeComfy } from '../fakes/fake-comfyui.js';
import { txt2imgPrompt } from '../fakes/sample-prompt.js';

function makeIo(opts: { tty?: boolean; signal?: AbortSignal } = {}) {
  const out = new PassThrough();
  const err = new PassThrough();
  const t = { stdout: '', stderr: '' };
  out.on('data', (c: Buffer) => (t.stdout += c.toString()));
  err.on('data', (c: Buffer) => (t.stderr += c.toString()));
  const io = {
    stdout: Object.assign(out, { isTTY: false }),
    stderr: Object.assign(err, { isTTY: opts.tty ?? false }),
    signal: opts.signal ?? new AbortController().signal,
    env: {},
  };
  return Object.assign(t, { io });
}

let fake: FakeComfy;
let dir: string;
let n = 0;
beforeAll(async () => {
  fake = await startFakeComfy({ stepDelayMs: 1, nodeDelayMs: 0 });
  dir = await mkdtemp(join(tmpdir(), 'comfy-real-'));
});
afterAll(async () => {
  await fake.close();
});
afterEach(() => {
  Object.assign(fake.behaviour, {
    failAtNode: null,
    outputFilenames: null,
    viewBytes: null,
    httpMode: 'normal',
    httpModePaths: [],
  });
});

async function run(prompt: JsonObject, extra: string[] = [], o: { tty?: boolean } = {}) {
  const file = join(dir, `wf-${++n}.json`);
  await writeFile(file, stringifyJson(prompt));
  const out = join(dir, `out-${n}`);
  const t = makeIo(o);
  const code = await runCommand([file, '--instance', fake.url, '--out', out, ...extra], t.io);
  return { code, out, t };
}

const sidecarOf = async (path: string): Promise<JsonObject> =>
  parseJsonLossless(await readFile(`${path}.json`, 'utf8')) as JsonObject;

describe('run and the execution cache', () => {
  it('an identical re-run is all cached: the earlier output again, and the node count excludes cached nodes', async () => {
    const prompt = txt2imgPrompt({ seed: 4242, filenamePrefix: 'cache' });
    const first = await run(prompt);
    expect(first.code).toBe(0);
    expect(first.t.stderr).toContain('nodes 6/6');
    const again = await run(prompt);
    expect(again.code).toBe(0);
    // Nothing runs: no node count that can never be reached ("nodes 0/6").
    expect(again.t.stderr).not.toMatch(/nodes \d+\/[1-9]/);
    const [a] = first.t.stdout.trim().split('\n');
    const [b] = again.t.stdout.trim().split('\n');
    expect(((await sidecarOf(b!))['source'] as JsonObject)['filename']).toBe(
      ((await sidecarOf(a!))['source'] as JsonObject)['filename'],
    );

    // A new seed: the loader, the latent and the text encoder stay cached; 3 nodes run, and the count ends at 3/3.
    const partial = await run({
      ...prompt,
      '3': {
        ...(prompt['3'] as JsonObject),
        inputs: { ...((prompt['3'] as JsonObject)['inputs'] as JsonObject), seed: 4243 },
      },
    });
    expect(partial.code).toBe(0);
    expect(partial.t.stderr).toContain('nodes 3/3');
    expect(partial.t.stderr).not.toMatch(/nodes \d\/6/);

    // POST /free with free_memory (luna-tray free) empties the cache: everything runs again, a new file.
    const [r] = await freeVram([fake.url]);
    expect(r!.ok).toBe(true);
    const third = await run(prompt);
    expect(third.t.stderr).toContain('nodes 6/6');
    const [c] = third.t.stdout.trim().split('\n');
    expect(((await sidecarOf(c!))['source'] as JsonObject)['filename']).not.toBe(
      ((await sidecarOf(a!))['source'] as JsonObject)['filename'],
    );
  });

  it('"queued (N in queue)" is drawn once and then updated, not repeated', async () => {
    fake.behaviour.stepDelayMs = 10;
    try {
      const blocker = await fake.queuePromptFromOtherClient(txt2imgPrompt({ steps: 30, seed: 777 }));
      const r = await run(txt2imgPrompt({ seed: 778, filenamePrefix: 'q' }));
      expect(r.code).toBe(0);
      const queued = r.t.stderr.split('\n').filter((l) => l.startsWith('queued'));
      expect(queued.length).toBeGreaterThan(0);
      expect(new Set(queued.map((l) => l.replace(/ · .*/, ''))).size).toBe(queued.length);
      await fake.waitForHistory(blocker);
    } finally {
      fake.behaviour.stepDelayMs = 1;
    }
  });
});

describe('run and the outputs of a real server', () => {
  it('SaveImage: one file per batch item, the prefix subfolder honoured, every file inside --out', async () => {
    const prompt = txt2imgPrompt({ seed: 5, filenamePrefix: 'multi/x' });
    (prompt['5'] as { inputs: JsonObject }).inputs['batch_size'] = 3;
    const r = await run(prompt);
    expect(r.code).toBe(0);
    const files = r.t.stdout.trim().split('\n');
    expect(files).toHaveLength(3);
    for (const f of files) {
      expect(f.startsWith(`${r.out}/x_`)).toBe(true);
      expect((await sidecarOf(f))['source']).toMatchObject({ subfolder: 'multi', type: 'output' });
    }
    expect((await readdir(r.out)).sort()).toHaveLength(6);
  });

  it('a prefix escaping the output folder fails at execution, worded naturally with the node title', async () => {
    const prompt = txt2imgPrompt({ seed: 6, filenamePrefix: '../escape' });
    (prompt['9'] as JsonObject)['_meta'] = { title: 'Save the fox' };
    const r = await run(prompt, ['--json']);
    expect(r.code).toBe(1);
    expect(r.t.stderr).toMatch(
      /^ComfyUI could not finish the prompt: "Save the fox" \(node 9, SaveImage\) raised Exception: \*\*\*\* ERROR: Saving image outside the output folder is not allowed\.$/m,
    );
    expect(r.t.stderr).toMatch(/^ {2}full_output_folder: /m);
    const j = JSON.parse(r.t.stdout) as { error: JsonObject };
    expect(j.error).toMatchObject({
      code: 'COMFY_EXECUTION',
      node: { id: '9', classType: 'SaveImage', title: 'Save the fox' },
      exceptionType: 'Exception',
    });
  });

  it('a text output ({"text": [...]}) is reported, cleaned of control sequences', async () => {
    const r = await run(
      { '1': { class_type: 'DynPromptProbe', inputs: { text: 'hello\x1b]52;c;eA==\x07 world' } } },
      ['--json'],
    );
    expect(r.code).toBe(0);
    const j = JSON.parse(r.t.stdout) as { textOutputs: unknown[]; outputs: unknown[] };
    expect(j.outputs).toEqual([]);
    expect(j.textOutputs).toEqual([{ node: '1', key: 'text', values: ['hello world'] }]);
  });

  it('hostile output names never write outside --out; every output gets a safe, unique name', async () => {
    const parent = join(dir, 'a', 'b');
    const names = [
      '..',
      '.',
      '',
      '/etc/passwd',
      '../../up.png',
      'sub/dir/x.png',
      'C:\\evil\\y.png',
      '\x1b[2Jz.png',
    ];
    fake.behaviour.outputFilenames = names;
    const file = join(dir, `wf-${++n}.json`);
    await writeFile(file, stringifyJson(txt2imgPrompt({ seed: 7, filenamePrefix: 'h' })));
    const t = makeIo();
    const code = await runCommand([file, '--instance', fake.url, '--out', join(parent, 'out')], t.io);
    expect(code).toBe(0);
    expect((await readdir(parent)).sort()).toEqual(['out']);
    expect((await readdir(dir)).filter((f) => !/^(wf-|out-|a$)/.test(f))).toEqual([]);
    const written = (await readdir(join(parent, 'out'))).filter((f) => !f.endsWith('.json')).sort();
    expect(written).toHaveLength(names.length);
    expect(written).toEqual(
      ['output', 'output-1', 'output-2', 'passwd', 'up.png', 'x.png', 'y.png', 'z.png'].sort(),
    );
    for (const f of t.stdout.trim().split('\n')) expect(f.startsWith(`${join(parent, 'out')}/`)).toBe(true);
  });

  it('a download over --max-download stops with a clear error and leaves no partial file', async () => {
    fake.behaviour.viewBytes = 3 * 1024 * 1024;
    const r = await run(txt2imgPrompt({ seed: 8, filenamePrefix: 'big' }), ['--max-download', '1M']);
    expect(r.code).toBe(1);
    expect(r.t.stderr).toMatch(/larger than the 1 MiB limit.*--max-download/);
    expect((await readdir(r.out)).filter((f) => f.endsWith('.png'))).toEqual([]);
    const bad = await run(txt2imgPrompt({ seed: 9 }), ['--max-download', 'lots']);
    expect(bad.code).toBe(2);
  });
});

describe('run and what the server says', () => {
  it('--json carries the node-level validation errors (return_type_mismatch, custom_validation_failed, exception_during_inner_validation)', async () => {
    const prompt: JsonObject = {
      '1': { class_type: 'LoadImage', inputs: { image: 'missing.png' }, _meta: { title: 'Photo' } },
      '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'v' } },
      '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'v1-5-pruned-emaonly.safetensors' } },
      '5': {
        class_type: 'VAEDecode',
        inputs: { samples: ['4', 0], vae: ['4', 2] },
        _meta: { title: 'Decode' },
      },
      '6': { class_type: 'SaveImage', inputs: { images: ['5', 0], filename_prefix: 'v' } },
      '7': { class_type: 'LoadImage', inputs: { image: 5 } },
      '8': { class_type: 'PreviewImage', inputs: { images: ['7', 0] } },
    };
    const r = await run(prompt, ['--json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.t.stdout) as { error: { nodeErrors: JsonObject[]; type: string } };
    expect(j.error.type).toBe('prompt_outputs_failed_validation');
    expect(j.error.nodeErrors).toEqual(
      expect.arrayContaining([
        {
          node: '1',
          classType: 'LoadImage',
          title: 'Photo',
          input: 'image',
          type: 'custom_validation_failed',
          message: 'Custom validation failed for node',
          details: 'Invalid image file: missing.png',
        },
        expect.objectContaining({
          node: '5',
          title: 'Decode',
          input: 'samples',
          type: 'return_type_mismatch',
        }),
        // Pinned on the upstream node, named by the input that links to it (as execution.py does).
        expect.objectContaining({ node: '7', input: 'images', type: 'exception_during_inner_validation' }),
      ]),
    );
    expect(r.t.stderr).toContain(
      'node 1 (LoadImage, "Photo") input "image": Custom validation failed for node (Invalid image file: missing.png)',
    );
    expect(r.t.stderr).toContain(
      'node 5 (VAEDecode, "Decode") input "samples": Return type mismatch between linked nodes',
    );
  });

  it('control sequences and newlines in an error never reach the terminal raw, nor forge lines', async () => {
    fake.behaviour.failAtNode = '3';
    fake.behaviour.failure = {
      type: 'RuntimeError',
      message: 'bad\x1b]52;c;cm0gLXJm\x07\x1b[2J\x1b]0;title\x07\n[luna-tray] CRITICAL forged',
    };
    try {
      const r = await run(txt2imgPrompt({ seed: 10, samplerTitle: 'Sampler\x1b[31m' }), [], { tty: false });
      expect(r.code).toBe(1);
      // eslint-disable-next-line no-control-regex -- no control character may reach the terminal
      expect(r.t.stderr).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
      expect(r.t.stderr).not.toMatch(/^\[luna-tray\]/m);
      expect(r.t.stderr).toContain('raised RuntimeError: bad');
    } finally {
      fake.behaviour.failure = { type: 'torch.OutOfMemoryError', message: 'out of memory' };
    }
  });

  it('Ctrl+C while a slow node runs: exit 130 at once; the server stops at the next node boundary', async () => {
    fake.behaviour.nodeDelayMs = 2_500;
    const ac = new AbortController();
    const file = join(dir, `wf-${++n}.json`);
    await writeFile(file, stringifyJson(txt2imgPrompt({ seed: 99, steps: 1, text: 'boundary' })));
    const t = makeIo({ signal: ac.signal });
    try {
      const p = runCommand([file, '--instance', fake.url, '--out', join(dir, `out-${n}`)], t.io);
      // Abort while some (slow, non-sampler) node runs.
      for (let i = 0; i < 500 && !/ · nodes \d+\/\d+/.test(t.stderr); i++)
        await new Promise((r) => setTimeout(r, 20));
      const t0 = Date.now();
      ac.abort();
      expect(await p).toBe(130);
      expect(Date.now() - t0).toBeLessThan(1_500); // not held up by the node still running (2.5 s)
      const pid = (fake.calls.filter((c) => c.path === '/interrupt').at(-1)!.body as JsonObject)['prompt_id'];
      const h = await fake.waitForHistory(pid as string);
      const msgs = (h['status'] as JsonObject)['messages'] as Array<[string, JsonObject]>;
      const last = msgs.at(-1)!;
      expect(last[0]).toBe('execution_interrupted');
      // The node that was running ran to its end; the interrupt hit the node after it.
      expect((last[1]['executed'] as string[]).length).toBeGreaterThan(0);
      expect(last[1]['executed']).not.toContain(last[1]['node_id']);
    } finally {
      fake.behaviour.nodeDelayMs = 0;
    }
  });
});
