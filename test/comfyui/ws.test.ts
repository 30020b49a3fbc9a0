import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ComfyClient } from '../../src/core/comfyui/client.js';
import {
  openComfySocket,
  parseBinaryFrame,
  parseWsText,
  type ComfyBinaryFrame,
  type ComfyWsMessage,
} from '../../src/core/comfyui/ws.js';
import { startFakeComfy, TINY_PNG, type FakeComfy } from '../fakes/fake-comfyui.js';
import { txt2imgPrompt } from '../fakes/sample-prompt.js';

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

describe('parseWsText', () => {
  it('status with and without sid', () => {
    expect(
      parseWsText('{"type":"status","data":{"status":{"exec_info":{"queue_remaining":2}},"sid":"abc"}}'),
    ).toEqual({
      type: 'status',
      data: { queueRemaining: 2, sid: 'abc' },
    });
    expect(parseWsText('{"type":"status","data":{"status":{"exec_info":{"queue_remaining":0}}}}')).toEqual({
      type: 'status',
      data: { queueRemaining: 0 },
    });
  });
  it('executing: node null = done; the reconnect replay has no prompt_id', () => {
    expect(parseWsText('{"type":"executing","data":{"node":null,"prompt_id":"p"}}')).toEqual({
      type: 'executing',
      data: { node: null, prompt_id: 'p' },
    });
    expect(parseWsText('{"type":"executing","data":{"node":"14.0.0.3"}}')).toEqual({
      type: 'executing',
      data: { node: '14.0.0.3' },
    });
  });
  it('progress, progress_state, executed (output may be null), cached, start, success', () => {
    expect(parseWsText('{"type":"progress","data":{"value":3,"max":20,"prompt_id":"p","node":"3"}}')).toEqual(
      {
        type: 'progress',
        data: { value: 3, max: 20, prompt_id: 'p', node: '3' },
      },
    );
    const ps = parseWsText(
      '{"type":"progress_state","data":{"prompt_id":"p","nodes":{"3":{"value":1,"max":2,"state":"running","node_id":"3","display_node_id":"3","parent_node_id":null,"real_node_id":"3"}}}}',
    );
    expect(ps).toMatchObject({
      type: 'progress_state',
      data: { prompt_id: 'p', nodes: { '3': { value: 1, max: 2, state: 'running' } } },
    });
    expect(
      parseWsText('{"type":"executed","data":{"node":"9","display_node":"9","output":null,"prompt_id":"p"}}'),
    ).toEqual({
      type: 'executed',
      data: { node: '9', display_node: '9', output: null, prompt_id: 'p' },
    });
    expect(
      parseWsText('{"type":"execution_cached","data":{"nodes":["4","5"],"prompt_id":"p","timestamp":1}}'),
    ).toEqual({
      type: 'execution_cached',
      data: { nodes: ['4', '5'], prompt_id: 'p', timestamp: 1 },
    });
    expect(parseWsText('{"type":"execution_start","data":{"prompt_id":"p","timestamp":5}}')).toEqual({
      type: 'execution_start',
      data: { prompt_id: 'p', timestamp: 5 },
    });
    expect(parseWsText('{"type":"execution_success","data":{"prompt_id":"p"}}')).toEqual({
      type: 'execution_success',
      data: { prompt_id: 'p' },
    });
  });
  it('execution_error, execution_interrupted, feature_flags, custom, garbage', () => {
    const e = parseWsText(
      '{"type":"execution_error","data":{"prompt_id":"p","node_id":"3","node_type":"KSampler","executed":["4"],"exception_message":"oom","exception_type":"torch.OutOfMemoryError","traceback":["a","b"],"current_inputs":{},"current_outputs":[],"timestamp":9}}',
    );
    expect(e).toMatchObject({
      type: 'execution_error',
      data: { node_id: '3', exception_type: 'torch.OutOfMemoryError', traceback: ['a', 'b'] },
    });
    expect(
      parseWsText(
        '{"type":"execution_interrupted","data":{"prompt_id":"p","node_id":"3","node_type":"KSampler","executed":[]}}',
      ),
    ).toMatchObject({
      type: 'execution_interrupted',
      data: { node_id: '3' },
    });
    expect(parseWsText('{"type":"feature_flags","data":{"supports_preview_metadata":true}}')).toEqual({
      type: 'feature_flags',
      data: { supports_preview_metadata: true },
    });
    expect(parseWsText('{"type":"crystools.monitor","data":{"cpu":3}}')).toEqual({
      type: 'unknown',
      rawType: 'crystools.monitor',
      data: { cpu: 3 },
    });
    expect(parseWsText('not json')).toBeNull();
    expect(parseWsText('[1,2]')).toBeNull();
  });
});

describe('parseBinaryFrame (big-endian, docs/comfyui.md "WebSocket")', () => {
  it('type 1: u32 format then the image from offset 8', () => {
    const f = parseBinaryFrame(Buffer.concat([u32(1), u32(2), TINY_PNG]));
    expect(f).toEqual({ kind: 'preview', eventType: 1, mime: 'image/png', image: TINY_PNG });
    expect(parseBinaryFrame(Buffer.concat([u32(1), u32(1), Buffer.from([0xff, 0xd8])]))).toMatchObject({
      mime: 'image/jpeg',
    });
  });
  it('type 4: metadata JSON then the image', () => {
    const meta = Buffer.from(JSON.stringify({ node_id: '3', prompt_id: 'p', image_type: 'image/png' }));
    const f = parseBinaryFrame(Buffer.concat([u32(4), u32(meta.length), meta, TINY_PNG]));
    expect(f).toMatchObject({
      kind: 'preview',
      eventType: 4,
      mime: 'image/png',
      metadata: { node_id: '3', prompt_id: 'p' },
    });
    expect((f as Extract<ComfyBinaryFrame, { eventType: 4 }>).image).toEqual(TINY_PNG);
  });
  it('type 3: node id prefix then text; the prompt-id form only when the server advertised it', () => {
    const node = Buffer.from('12');
    expect(parseBinaryFrame(Buffer.concat([u32(3), u32(2), node, Buffer.from('héllo')]))).toEqual({
      kind: 'text',
      eventType: 3,
      nodeId: '12',
      text: 'héllo',
    });
    const pid = Buffer.from('p-1');
    expect(
      parseBinaryFrame(Buffer.concat([u32(3), u32(3), pid, u32(2), node, Buffer.from('x')]), true),
    ).toEqual({
      kind: 'text',
      eventType: 3,
      nodeId: '12',
      promptId: 'p-1',
      text: 'x',
    });
  });
  it('unknown types (2, 101) and truncated frames are skipped, never thrown', () => {
    expect(parseBinaryFrame(Buffer.concat([u32(101), Buffer.from('x')]))).toBeNull();
    expect(parseBinaryFrame(Buffer.concat([u32(2), u32(1)]))).toBeNull();
    expect(parseBinaryFrame(Buffer.from([0, 0]))).toBeNull();
    expect(parseBinaryFrame(Buffer.concat([u32(4), u32(999), Buffer.from('{}')]))).toBeNull();
  });
});

describe('openComfySocket against the fake', () => {
  let fake: FakeComfy;
  beforeAll(async () => {
    fake = await startFakeComfy({ stepDelayMs: 1 });
  });
  afterAll(async () => {
    await fake.close();
  });

  const prompt = txt2imgPrompt({ filenamePrefix: 'w' });

  it('gets the sid, the handshake reply, the documented event order and type-4 previews; other sockets get only status', async () => {
    const ours = await openComfySocket(fake.url);
    const other = await openComfySocket(fake.url, { previewMetadata: false });
    expect(ours.clientId).toMatch(/^[0-9a-f]{32}$/);
    expect(ours.clientId).not.toBe(other.clientId);
    const seen: ComfyWsMessage[] = [];
    const bins: ComfyBinaryFrame[] = [];
    const otherSeen: ComfyWsMessage[] = [];
    ours.onMessage((m) => seen.push(m));
    ours.onBinary((b) => bins.push(b));
    other.onMessage((m) => otherSeen.push(m));
    const client = new ComfyClient(fake.url);
    try {
      const done = new Promise<void>((r) =>
        ours.onMessage((m) => m.type === 'executing' && m.data.node === null && r()),
      );
      const { promptId } = await client.queuePrompt(prompt, { clientId: ours.clientId });
      await done;
      // 0.8.0's flags: an integer max_upload_size and an `extension` entry, read losslessly.
      expect(ours.serverFlags).toMatchObject({
        supports_preview_metadata: true,
        max_upload_size: 104857600,
        extension: { manager: { supports_v4: true } },
      });
      const mine = seen
        .filter((m) => m.type !== 'status' && m.type !== 'feature_flags')
        .map((m) => (m.type === 'executing' ? `executing:${m.data.node}` : m.type));
      // 0.8.0: progress_state (running) comes before `executing` (docs/comfyui.md).
      expect(mine.slice(0, 4)).toEqual([
        'execution_start',
        'execution_cached',
        'progress_state',
        'executing:4',
      ]);
      expect(mine).toContain('progress');
      expect(mine.indexOf('executed')).toBeLessThan(mine.indexOf('execution_success'));
      expect(mine.at(-1)).toBe('executing:null');
      // history is already written when executing{null} arrives (docs/comfyui.md, "WebSocket")
      expect(await client.history(promptId)).not.toBeNull();
      expect(bins.some((b) => b.kind === 'preview' && b.eventType === 4)).toBe(true);
      expect(bins.some((b) => b.kind === 'text')).toBe(true);
      expect(otherSeen.every((m) => m.type === 'status')).toBe(true);
      expect(otherSeen.length).toBeGreaterThanOrEqual(3);
    } finally {
      await client.close();
      await ours.close();
      await other.close();
    }
  });

  it('the fake reproduces the same-clientId trap: closing the old socket silences the new one', async () => {
    const a = await openComfySocket(fake.url, { clientId: 'same-id' });
    const b = await openComfySocket(fake.url, { clientId: 'same-id' });
    await a.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(fake.socketIds()).not.toContain('same-id'); // b is still open but the server forgot it
    expect(b.open).toBe(true);
    await b.close();
  });

  it('down → ComfyUnreachableError', async () => {
    const getPort = (await import('get-port')).default;
    const port = await getPort();
    await expect(
      openComfySocket(`http://127.0.0.1:${port}`, { connectTimeoutMs: 1000 }),
    ).rejects.toMatchObject({ code: 'COMFY_UNREACHABLE', reason: 'refused' });
  });
});
