import { mkdtemp, readFile, readdir, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';

import getPort from 'get-port';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { convertCommand } from '../../src/cli/commands/convert.js';
import { runCommand } from '../../src/cli/commands/run.js';
import { parseJsonLossless, stringifyJson, type JsonObject } from '../../src/core/comfyui/json.js';
import { startFakeComfy, TINY_PNG, type FakeComfy } from '../fakes/fake-comfyui.js';

const fixtures = fileURLToPath(new URL('../fixtures/comfyui/', import.meta.url));

function makeIo(opts: { tty?: boolean; signal?: AbortSignal } = {}) {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (c: Buffer) => (stdout += c.toString()));
  err.on('data', (c: Buffer) => (stderr += c.toString()));
  const io = {
    stdout: Object.assign(out, { isTTY: false }),
    stderr: Object.assign(err, { isTTY: opts.tty ?? false }),
    signal: opts.signal ?? new AbortController().signal,
    env: {},
  };
  return {
    io,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
  };
}

let fake: FakeComfy;
let dir: string;
let wf: string;
beforeAll(async () => {
  fake = await startFakeComfy({ stepDelayMs: 2 });
  dir = await mkdtemp(`${tmpdir()}/comfy-run-`);
  wf = `${dir}/wf.json`;
  await copyFile(`${fixtures}convert/p15-seed-above-2p53.workflow.json`, wf);
});
afterAll(async () => {
  await fake.close();
});
afterEach(() => {
  Object.assign(fake.behaviour, {
    failAtNode: null,
    stepDelayMs: 2,
    httpMode: 'normal',
    httpModePaths: [],
    rejectValidation: false,
  });
});

describe('luna-tray run (runCommand) against the fake', () => {
  it('runs a UI workflow: converts, applies --set, downloads the output and a sidecar with the exact seed', async () => {
    const t = makeIo();
    const out = `${dir}/out1`;
    const code = await runCommand(
      [wf, '--instance', fake.url, '--set', '3.steps=4', '--set', 'Positive.text=a red fox', '--out', out],
      t.io,
    );
    expect(t.stderr).not.toMatch(/error/i);
    expect(code).toBe(0);
    const files = (await readdir(out)).sort();
    expect(files).toHaveLength(2);
    const png = files.find((f) => f.endsWith('.png'))!;
    expect(await readFile(`${out}/${png}`)).toEqual(TINY_PNG);
    expect(t.stdout.trim()).toBe(`${out}/${png}`);
    const sidecarText = await readFile(`${out}/${png}.json`, 'utf8');
    expect(sidecarText).toContain('"value": 18446744073709551615');
    const sidecar = parseJsonLossless(sidecarText) as JsonObject;
    expect(sidecar).toMatchObject({
      instance: fake.url,
      node: '9',
      seeds: [{ node: '3', input: 'seed', value: 18446744073709551615n }],
    });
    const pid = sidecar['prompt_id'] as string;
    // what the server actually got: the --set values, the exact seed, our socket's client id
    const h = fake.history.get(pid)!;
    const sent = (h['prompt'] as unknown[])[2] as JsonObject;
    expect((sent['3'] as JsonObject)['inputs']).toMatchObject({ steps: 4, seed: 18446744073709551615n });
    expect((sent['6'] as JsonObject)['inputs']).toMatchObject({ text: 'a red fox' });
    const extra = (h['prompt'] as unknown[])[3] as JsonObject;
    expect(typeof extra['client_id']).toBe('string');
    expect(extra['extra_pnginfo']).toBeDefined();
    // non-TTY progress: plain lines with node title and step
    expect(t.stderr).toMatch(/\] KSampler · nodes 4\/7 · elapsed/);
  });

  it('--new-seed draws a fresh seed for "randomize" seeds; without it the saved seed is sent', async () => {
    const randomized = `${dir}/randomize.json`;
    await writeFile(randomized, (await readFile(wf, 'utf8')).replace('"fixed"', '"randomize"'));
    const sentSeed = async (args: string[]): Promise<unknown> => {
      const t = makeIo();
      expect(
        await runCommand([randomized, '--instance', fake.url, '--out', `${dir}/seed-out`, ...args], t.io),
      ).toBe(0);
      const queued = fake.calls.filter((c) => c.path === '/prompt' && c.method === 'POST').at(-1)!;
      return (((queued.body as JsonObject)['prompt'] as JsonObject)['3'] as JsonObject)['inputs'];
    };
    expect(await sentSeed([])).toMatchObject({ seed: 18446744073709551615n });
    const a = ((await sentSeed(['--new-seed'])) as JsonObject)['seed'];
    const b = ((await sentSeed(['--new-seed'])) as JsonObject)['seed'];
    for (const s of [a, b]) {
      expect(typeof s === 'bigint' || typeof s === 'number').toBe(true);
      expect(BigInt(s as number)).toBeLessThan(2n ** 50n);
    }
    expect(a).not.toEqual(b);
  });

  it('--image is uploaded and wired into LoadImage; --json prints the result', async () => {
    const api = {
      '1': { class_type: 'LoadImage', inputs: { image: 'example.png' }, _meta: { title: 'Load Image' } },
      '2': { class_type: 'PreviewImage', inputs: { images: ['1', 0] }, _meta: { title: 'Preview' } },
    };
    const apiFile = `${dir}/api.json`;
    await writeFile(apiFile, JSON.stringify(api));
    const img = `${dir}/photo.png`;
    await writeFile(img, TINY_PNG);
    const t = makeIo();
    const code = await runCommand(
      [apiFile, '--instance', fake.url, '--image', img, '--out', `${dir}/out2`, '--json'],
      t.io,
    );
    expect(code).toBe(0);
    const res = JSON.parse(t.stdout) as { ok: boolean; promptId: string; outputs: Array<{ type: string }> };
    expect(res.ok).toBe(true);
    expect(res.outputs[0]?.type).toBe('temp');
    expect(fake.files.get('input//photo.png')).toEqual(TINY_PNG);
    const sent = (fake.history.get(res.promptId)!['prompt'] as unknown[])[2] as JsonObject;
    expect((sent['1'] as JsonObject)['inputs']).toEqual({ image: 'photo.png' });
  });

  it('validation error → exit 1 with the readable per-input message', async () => {
    const t = makeIo();
    const code = await runCommand(
      [wf, '--instance', fake.url, '--set', '3.steps=0', '--out', `${dir}/o3`],
      t.io,
    );
    expect(code).toBe(1);
    expect(t.stderr).toContain('node 3 (KSampler) input "steps": Value 0 smaller than min of 1');
  });

  it('execution error (OOM at node 3) → exit 1 naming node, exception and a hint', async () => {
    fake.behaviour.failAtNode = '3';
    const t = makeIo();
    const code = await runCommand([wf, '--instance', fake.url, '--out', `${dir}/o4`], t.io);
    expect(code).toBe(1);
    expect(t.stderr).toMatch(
      /^ComfyUI could not finish the prompt: node 3 \(KSampler\) raised torch\.OutOfMemoryError: Allocation/m,
    );
    expect(t.stderr).not.toMatch(/failed: .*failed/);
    expect(t.stderr).toMatch(/Out of GPU memory/);
    expect(t.stderr).toMatch(/traceback/);
  });

  it('Ctrl+C mid-run → POST /interrupt with our prompt id, exit 130', async () => {
    fake.behaviour.stepDelayMs = 50;
    const ac = new AbortController();
    const t = makeIo({ signal: ac.signal, tty: true });
    const p = runCommand([wf, '--instance', fake.url, '--set', '3.steps=200', '--out', `${dir}/o5`], t.io);
    // abort once sampling is under way
    for (let i = 0; i < 200 && !/step \d+\/200/.test(t.stderr); i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(t.stderr).toMatch(/step \d+\/200/);
    expect(t.stderr).toContain('\r'); // redrawn TTY bar
    ac.abort();
    const code = await p;
    expect(code).toBe(130);
    const queued = fake.calls.filter((c) => c.path === '/prompt' && c.method === 'POST').at(-1)!;
    const pid = (queued.body as JsonObject)['prompt_id'];
    const interrupts = fake.calls.filter((c) => c.path === '/interrupt');
    expect(interrupts.at(-1)?.body).toEqual({ prompt_id: pid });
    expect(t.stderr).toMatch(/Interrupted/);
    const h = await fake.waitForHistory(pid as string);
    expect(h['status']).toMatchObject({ status_str: 'error', completed: false });
  });

  it('instance down → exit 4 (ComfyUI unreachable, not "Luna Tray not running") naming the URL', async () => {
    const port = await getPort();
    const t = makeIo();
    const code = await runCommand([wf, '--instance', `http://127.0.0.1:${port}`, '--out', `${dir}/o6`], t.io);
    expect(code).toBe(4);
    expect(t.stderr).toContain(`http://127.0.0.1:${port}`);
    expect(t.stderr).toMatch(/connection refused/);
  });

  it('accepts and never answers → timeout, exit 4, no hang', async () => {
    fake.behaviour.httpMode = 'hang';
    const t = makeIo();
    const t0 = Date.now();
    const code = await runCommand(
      [wf, '--instance', fake.url, '--timeout', '0.4', '--out', `${dir}/o7`],
      t.io,
    );
    expect(code).toBe(4);
    expect(t.stderr).toMatch(/did not answer in time/);
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('non-JSON 5xx on POST /prompt → exit 1 with status and excerpt', async () => {
    fake.behaviour.httpMode = 'error500';
    fake.behaviour.httpModePaths = ['/prompt'];
    const t = makeIo();
    const code = await runCommand([wf, '--instance', fake.url, '--out', `${dir}/o8`], t.io);
    expect(code).toBe(1);
    expect(t.stderr).toMatch(/HTTP 500 .*Server got itself in trouble/);
  });

  it('garbage replies → exit 1 with a typed message', async () => {
    fake.behaviour.httpMode = 'garbage';
    fake.behaviour.httpModePaths = ['/system_stats'];
    const t = makeIo();
    const code = await runCommand([wf, '--instance', fake.url, '--out', `${dir}/o9`], t.io);
    expect(code).toBe(1);
    expect(t.stderr).toMatch(/Unexpected reply from .*system_stats.*not JSON/);
  });

  it('usage errors → exit 2 with actionable messages', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /missing WORKFLOW\.json/],
      [[`${dir}/nope.json`, '--instance', fake.url], /no such file/],
      [[wf, '--instance', fake.url, '--set', 'nonode.steps=3'], /no node with id or title "nonode"/],
      [[wf, '--instance', fake.url, '--set', '3.nosuch=3'], /node 3 \(KSampler\) has no input "nosuch"/],
      [[wf, '--instance', fake.url, '--set', 'garbage'], /expected NODE\.INPUT=VALUE/],
      [[wf, '--bogus'], /Unknown option/],
    ];
    await writeFile(`${dir}/bad.json`, '{"nodes": [}');
    cases.push([[`${dir}/bad.json`, '--instance', fake.url], /not valid JSON: .*line 1, column 12/]);
    for (const [args, re] of cases) {
      const t = makeIo();
      expect(await runCommand(args, t.io), args.join(' ')).toBe(2);
      expect(t.stderr).toMatch(re);
    }
  });
});

describe('luna-tray convert (convertCommand)', () => {
  it('--object-info FILE prints the API JSON (exact seed)', async () => {
    const t = makeIo();
    const code = await convertCommand(
      [
        `${fixtures}convert/p15-seed-above-2p53.workflow.json`,
        '--object-info',
        `${fixtures}object_info.json`,
      ],
      t.io,
    );
    expect(code).toBe(0);
    expect(t.stdout).toContain('"seed": 18446744073709551615');
    const expected = (
      parseJsonLossless(
        await readFile(`${fixtures}convert/p15-seed-above-2p53.api.json`, 'utf8'),
      ) as JsonObject
    )['prompt'];
    expect(parseJsonLossless(t.stdout)).toEqual(expected);
  });

  it('--instance URL reads object_info from the instance; the result passes the fake validation', async () => {
    const t = makeIo();
    expect(
      await convertCommand([`${fixtures}convert/p10-subgraph.workflow.json`, '--instance', fake.url], t.io),
    ).toBe(0);
    const prompt = parseJsonLossless(t.stdout) as JsonObject;
    const { ComfyClient } = await import('../../src/core/comfyui/client.js');
    const c = new ComfyClient(fake.url);
    try {
      const r = await c.queuePrompt(prompt);
      expect(r.nodeErrors).toEqual({});
    } finally {
      await c.close();
    }
  });

  it('neither --instance nor --object-info → exit 2; unknown node type → exit 1', async () => {
    const t = makeIo();
    expect(await convertCommand([wf], t.io)).toBe(2);
    expect(t.stderr).toMatch(/need --instance URL .* or --object-info FILE/);
    const w = parseJsonLossless(await readFile(wf, 'utf8')) as JsonObject;
    (w['nodes'] as JsonObject[]).push({
      id: 12,
      type: 'FooNode',
      mode: 0,
      inputs: [],
      outputs: [],
      properties: {},
    });
    await writeFile(`${dir}/unknown.json`, stringifyJson(w));
    const t2 = makeIo();
    expect(
      await convertCommand([`${dir}/unknown.json`, '--object-info', `${fixtures}object_info.json`], t2.io),
    ).toBe(1);
    expect(t2.stderr).toContain('node 12 has type FooNode, which this ComfyUI does not know');
  });
});
