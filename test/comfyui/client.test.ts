import { createServer, type Server, type Socket } from 'node:net';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';

import getPort from 'get-port';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { ComfyClient } from '../../src/core/comfyui/client.js';
import {
  ComfyBadResponseError,
  ComfyHttpError,
  ComfyUnreachableError,
  ComfyValidationError,
} from '../../src/core/comfyui/errors.js';
import type { JsonObject } from '../../src/core/comfyui/json.js';
import { startFakeComfy, TINY_PNG, type FakeComfy } from '../fakes/fake-comfyui.js';
import { txt2imgPrompt } from '../fakes/sample-prompt.js';

const PROMPT = txt2imgPrompt({
  seed: 18446744073709551615n,
  steps: 3,
  text: 'a cat',
  samplerTitle: 'My Sampler',
});

let fake: FakeComfy;
let client: ComfyClient;
beforeAll(async () => {
  fake = await startFakeComfy({ stepDelayMs: 1 });
  client = new ComfyClient(fake.url, { timeoutMs: 3_000 });
});
afterAll(async () => {
  await client.close();
  await fake.close();
});
afterEach(() => {
  fake.behaviour.httpMode = 'normal';
  fake.behaviour.httpModePaths = [];
  fake.behaviour.rejectValidation = false;
});

describe('ComfyClient against the fake', () => {
  it('system_stats, features, queueRemaining', async () => {
    const s = await client.systemStats();
    expect(s.system.comfyui_version).toBe('0.8.0');
    expect(s.devices[0]?.vram_total).toBe(25393692672);
    expect(await client.features()).toMatchObject({ supports_preview_metadata: true });
    expect(await client.queueRemaining()).toBe(0);
  });

  it('queues a prompt with client_id and prompt_id; history keeps the 2^64-1 seed exact', async () => {
    const r = await client.queuePrompt(PROMPT, { clientId: 'abc', promptId: 'my-id-1' });
    expect(r).toEqual({ promptId: 'my-id-1', number: expect.any(Number), nodeErrors: {} });
    const call = fake.calls.find((c) => c.path === '/prompt' && c.method === 'POST');
    expect(call?.body).toMatchObject({ client_id: 'abc', prompt_id: 'my-id-1' });
    await fake.waitForHistory('my-id-1');
    const h = await client.history('my-id-1');
    expect(h?.status?.status_str).toBe('success');
    expect(((h!.prompt[2] as JsonObject)['3'] as JsonObject)['inputs']).toMatchObject({
      seed: 18446744073709551615n,
    });
    expect(h?.outputs['9']).toMatchObject({ images: [{ type: 'output', subfolder: '' }] });
  });

  it('history: unknown id → null; all; paged max_items/offset', async () => {
    expect(await client.history('nope')).toBeNull();
    const ids = ['h-a', 'h-b', 'h-c'];
    for (const id of ids) {
      await client.queuePrompt(PROMPT, { promptId: id });
      await fake.waitForHistory(id);
    }
    const all = await client.historyAll();
    expect(Object.keys(all).slice(-3)).toEqual(ids);
    expect(Object.keys(await client.historyAll({ maxItems: 2 }))).toEqual(['h-b', 'h-c']);
    const total = Object.keys(all).length;
    expect(Object.keys(await client.historyAll({ maxItems: 1, offset: total - 2 }))).toEqual(['h-b']);
    await client.clearHistory(['h-a']);
    expect(await client.history('h-a')).toBeNull();
  });

  it('view downloads a produced file; a missing file is a ComfyHttpError 404', async () => {
    await client.queuePrompt(PROMPT, { promptId: 'view-1' });
    await fake.waitForHistory('view-1');
    const h = await client.history('view-1');
    const ref = (h!.outputs['9']!['images'] as JsonObject[])[0] as unknown as {
      filename: string;
      subfolder: string;
      type: string;
    };
    const dir = await mkdtemp(`${tmpdir()}/comfy-view-`);
    await client.download(ref, `${dir}/out.png`);
    expect(await readFile(`${dir}/out.png`)).toEqual(TINY_PNG);
    await expect(
      client.view({ filename: 'missing.png', subfolder: '', type: 'output' }),
    ).rejects.toMatchObject({ code: 'COMFY_HTTP', status: 404 });
  });

  it('upload/image: multipart, rename on different content, reuse on same content, overwrite', async () => {
    const a = await client.uploadImage({ data: TINY_PNG, filename: 'in.png' });
    expect(a).toEqual({ name: 'in.png', subfolder: '', type: 'input' });
    expect(await client.uploadImage({ data: TINY_PNG, filename: 'in.png' })).toMatchObject({
      name: 'in.png',
    });
    expect(await client.uploadImage({ data: Buffer.from('other'), filename: 'in.png' })).toMatchObject({
      name: 'in (1).png',
    });
    expect(
      await client.uploadImage({
        data: Buffer.from('other2'),
        filename: 'in.png',
        overwrite: true,
        subfolder: 'sub',
      }),
    ).toEqual({
      name: 'in.png',
      subfolder: 'sub',
      type: 'input',
    });
    expect(fake.files.get('input/sub/in.png')?.toString()).toBe('other2');
  });

  it('object_info all and one (lossless max), unknown class → null', async () => {
    const all = await client.objectInfo();
    expect(Object.keys(all)).toContain('KSampler');
    const ks = await client.objectInfoOf('KSampler');
    expect(
      JSON.stringify((ks as JsonObject)['input'], (_k, v: unknown) =>
        typeof v === 'bigint' ? `big:${v}` : v,
      ),
    ).toContain('big:18446744073709551615');
    expect(await client.objectInfoOf('NoSuchNode')).toBeNull();
  });

  it('queue: get (running + pending sorted), delete ids, clear', async () => {
    fake.behaviour.stepDelayMs = 40;
    try {
      const slow = {
        ...PROMPT,
        '3': {
          ...(PROMPT['3'] as JsonObject),
          inputs: { ...((PROMPT['3'] as JsonObject)['inputs'] as JsonObject), steps: 50 },
        },
      };
      await client.queuePrompt(slow, { promptId: 'q-run' });
      await client.queuePrompt(PROMPT, { promptId: 'q-p1' });
      await client.queuePrompt(PROMPT, { promptId: 'q-p2' });
      await client.queuePrompt(PROMPT, { promptId: 'q-p3' });
      await new Promise((r) => setTimeout(r, 50));
      const q = await client.getQueue();
      expect(q.running.map((i) => i.promptId)).toEqual(['q-run']);
      expect(q.pending.map((i) => i.promptId)).toEqual(['q-p1', 'q-p2', 'q-p3']);
      expect(q.running[0]?.prompt['3']).toBeDefined();
      await client.deleteFromQueue(['q-p2']);
      expect((await client.getQueue()).pending.map((i) => i.promptId)).toEqual(['q-p1', 'q-p3']);
      await client.clearQueue();
      expect((await client.getQueue()).pending).toEqual([]);
      await client.interrupt('q-run');
      const h = await fake.waitForHistory('q-run');
      expect(h['status']).toMatchObject({ status_str: 'error', completed: false });
      expect(fake.calls.filter((c) => c.path === '/interrupt').at(-1)?.body).toEqual({ prompt_id: 'q-run' });
    } finally {
      fake.behaviour.stepDelayMs = 1;
    }
  });

  it('free sends unload_models + free_memory; global interrupt sends no id', async () => {
    await client.free();
    expect(fake.calls.filter((c) => c.path === '/free').at(-1)?.body).toEqual({
      unload_models: true,
      free_memory: true,
    });
    await client.interrupt();
    expect(fake.calls.filter((c) => c.path === '/interrupt').at(-1)?.body).toEqual({});
  });

  it('routes are also served under /api', async () => {
    const c2 = new ComfyClient(`${fake.url}/api`);
    try {
      expect((await c2.systemStats()).system.os).toBe('linux');
    } finally {
      await c2.close();
    }
  });
});

describe('typed errors', () => {
  it('400 validation → ComfyValidationError with node_errors and a readable format()', async () => {
    const bad = {
      ...PROMPT,
      '3': {
        ...(PROMPT['3'] as JsonObject),
        inputs: { ...((PROMPT['3'] as JsonObject)['inputs'] as JsonObject), steps: 0, sampler_name: 'nope' },
      },
    };
    const e = await client.queuePrompt(bad, { titles: { '3': 'My Sampler' } }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ComfyValidationError);
    const v = e as ComfyValidationError;
    expect(v.code).toBe('COMFY_VALIDATION');
    expect(v.error.type).toBe('prompt_outputs_failed_validation');
    expect(v.nodeErrors['3']?.class_type).toBe('KSampler');
    const text = v.format();
    expect(text).toContain('node 3 (KSampler, "My Sampler") input "steps": Value 0 smaller than min of 1');
    expect(text).toMatch(/input "sampler_name": Value not in list \('nope' not in/);
  });

  it('unknown class → invalid_prompt; no prompt → no_prompt', async () => {
    const e = await client.queuePrompt({ '1': { class_type: 'Nope', inputs: {} } }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'COMFY_VALIDATION', error: { type: 'invalid_prompt' } });
    expect((e as ComfyValidationError).format()).toContain("Node ID '#1'");
  });

  it('non-JSON 5xx → ComfyHttpError with status and excerpt', async () => {
    fake.behaviour.httpMode = 'error500';
    const e = await client.systemStats().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ComfyHttpError);
    expect(e).toMatchObject({
      status: 500,
      bodyExcerpt: expect.stringContaining('Server got itself in trouble'),
    });
  });

  it('garbage 200 body → ComfyBadResponseError', async () => {
    fake.behaviour.httpMode = 'garbage';
    const e = await client.getQueue().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ComfyBadResponseError);
    expect((e as Error).message).toContain('not JSON');
  });

  it('accept and never answer → ComfyUnreachableError(timeout), not a hang', async () => {
    fake.behaviour.httpMode = 'hang';
    const c = new ComfyClient(fake.url, { timeoutMs: 300 });
    const t0 = Date.now();
    try {
      const e = await c.systemStats().catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ComfyUnreachableError);
      expect(e).toMatchObject({ reason: 'timeout', code: 'COMFY_UNREACHABLE' });
      expect(Date.now() - t0).toBeLessThan(3_000);
    } finally {
      await c.close();
    }
  });

  it('a raw TCP server that never speaks HTTP → timeout error', async () => {
    const sockets: Socket[] = [];
    const srv: Server = createServer((s) => sockets.push(s));
    const port = await getPort();
    await new Promise<void>((r) => srv.listen(port, '127.0.0.1', r));
    const c = new ComfyClient(`http://127.0.0.1:${port}`, { timeoutMs: 300 });
    try {
      await expect(c.systemStats()).rejects.toMatchObject({ reason: 'timeout' });
    } finally {
      await c.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });

  it('down → ComfyUnreachableError(refused) naming the URL and what to do', async () => {
    const port = await getPort();
    const c = new ComfyClient(`http://127.0.0.1:${port}`);
    try {
      const e = (await c.systemStats().catch((x: unknown) => x)) as ComfyUnreachableError;
      expect(e).toBeInstanceOf(ComfyUnreachableError);
      expect(e.reason).toBe('refused');
      expect(e.message).toContain(`http://127.0.0.1:${port}`);
      expect(e.message).toMatch(/Is it running\?/);
    } finally {
      await c.close();
    }
  });

  it('the origin middleware of the fake refuses a mismatching Origin (and the client sends none)', async () => {
    const { request } = await import('undici');
    const res = await request(`${fake.url}/system_stats`, { headers: { origin: 'http://localhost:5173' } });
    await res.body.dump();
    expect(res.statusCode).toBe(403);
    expect((await client.systemStats()).system).toBeDefined();
  });
});
