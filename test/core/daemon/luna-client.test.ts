import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import getPort from 'get-port';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { daemonInfoSchema } from '../../../src/shared/daemon-info.js';
import { DaemonError, type DaemonErrorCode } from '../../../src/core/daemon/errors.js';
import { encodeFrame } from '../../../src/core/daemon/framing.js';
import { LunaClient } from '../../../src/core/daemon/luna-client.js';
import { encodePickle } from '../../../src/core/daemon/pickle-encode.js';
import { killAllTracked, spawnSim, type SimHandle } from '../../helpers/sim.js';
import { waitFor } from '../../helpers/processes.js';

import { runPickleHelper } from './helpers.js';
import { tinyServer, type TinyServer } from './tiny-server.js';

async function expectDaemonError(p: Promise<unknown>, code: DaemonErrorCode): Promise<DaemonError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(DaemonError);
    expect((e as DaemonError).code, (e as Error).message).toBe(code);
    return e as DaemonError;
  }
  throw new Error(`expected DaemonError ${code}, but the call succeeded`);
}

afterAll(() => killAllTracked());

describe('LunaClient against the current-generation simulator', () => {
  let sim: SimHandle;
  let client: LunaClient;
  beforeAll(async () => {
    sim = await spawnSim({ args: ['--models-after', '-1'] });
    client = new LunaClient({ port: sim.port, timeoutMs: 5000 });
  });
  afterAll(async () => sim?.kill());

  it('ping answers pong with the daemon time', async () => {
    const r = await client.ping();
    expect(r.time).not.toBeNull();
    expect(Math.abs(r.time! - Date.now() / 1000)).toBeLessThan(5);
    expect(r.latencyMs).toBeGreaterThan(0);
  });

  it('info is a valid, normalised DaemonInfo with VRAM and (after loading) models', async () => {
    const before = await client.info();
    expect(daemonInfoSchema.parse(before)).toEqual(before);
    expect(before.generation).toBe('current');
    expect(before.status).toBe('running');
    expect(before.vram.map((v) => v.device)).toEqual(['cuda:0', 'cuda:1']);
    expect(before.vram.every((v) => v.totalGb > 0)).toBe(true);
    await client.request('sim_load_models');
    const after = await client.info();
    expect(after.models.some((m) => m.source === 'clip_pool' && m.type === 'clip')).toBe(true);
    const wr = after.models.filter((m) => m.source === 'weight_registry');
    expect(wr.length).toBeGreaterThan(0);
    expect(wr.every((m) => typeof m.memoryGb === 'number' && typeof m.device === 'string')).toBe(true);
    expect(after.clipPool).not.toBeNull();
    expect(after.devices.clip).toMatch(/^cuda:|cpu/);
  });

  it('devices, setDevice, setAttentionMode, loraCacheStats', async () => {
    const d = await client.devices();
    expect(d.availableGpus).toEqual(['cuda:0', 'cuda:1']);
    expect(d.hasCuda).toBe(true);
    const s = await client.setDevice('llm', 'cpu');
    expect(s.newDevice).toBe('cpu');
    expect((await client.devices()).devices.llm).toBe('cpu');
    await expectDaemonError(client.setDevice('vae', 'cuda:9'), 'daemon-error');
    await expectDaemonError(client.setDevice('clip', 'tpu'), 'daemon-error');
    expect(await client.setAttentionMode('flash')).toMatchObject({ mode: 'flash' });
    expect((await client.info()).attentionMode).toBe('flash');
    const bad = await expectDaemonError(client.setAttentionMode('sage'), 'daemon-error');
    expect(bad.message).toMatch(/Invalid mode/);
    const lora = await client.loraCacheStats();
    expect(lora.maxSizeMb).toBe(8192);
    expect(Array.isArray(lora.cachedLoras)).toBe(true);
  });

  it('unload reports what it unloaded, then nothing', async () => {
    await client.request('sim_load_models');
    const first = await client.unload();
    expect(first.unloaded).toEqual(['CLIP']);
    const second = await client.unload();
    expect(second.unloaded).toEqual([]);
    expect(second.message).toMatch(/No models/);
  });

  it('an unknown command is a daemon-error that keeps the daemon message', async () => {
    const e = await expectDaemonError(client.request('no_such_command'), 'daemon-error');
    expect(e.message).toContain('Unknown command: no_such_command');
  });

  it('round-trips TS-encoded parameters (non-ASCII text) through the simulator', async () => {
    const text = `round-trip ✓ 日本語 🌙 ${Date.now()}`;
    expect(await client.request('sim_log', { level: 'WARNING', text })).toEqual({ success: true });
    await waitFor(() => sim.output().includes(text), 'the sim to log the text', 5000);
  });

  it('an aborted call rejects with aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    await expectDaemonError(client.ping({ signal: ac.signal }), 'aborted');
  });
});

describe('LunaClient against the legacy simulator', () => {
  let sim: SimHandle;
  let client: LunaClient;
  beforeAll(async () => {
    sim = await spawnSim({ args: ['--legacy'] });
    client = new LunaClient({ port: sim.port, generation: 'legacy', timeoutMs: 5000 });
  });
  afterAll(async () => sim?.kill());

  it('ping uses health', async () => {
    const r = await client.ping();
    expect(r.time).toBeNull();
    expect(r.latencyMs).toBeGreaterThan(0);
  });

  it('info normalises the legacy reply', async () => {
    const info = await client.info();
    expect(daemonInfoSchema.parse(info)).toEqual(info);
    expect(info.generation).toBe('legacy');
    expect(info.status).toBe('ok');
    expect(info.raw.version).toBe('2.1-split');
    expect(info.vram.map((v) => v.device)).toEqual(['cuda:0', 'cuda:1']);
    expect(info.attentionMode).toBeNull();
  });

  it('commands the legacy daemon lacks are unsupported, without a request', async () => {
    await expectDaemonError(client.unload(), 'unsupported');
    await expectDaemonError(client.devices(), 'unsupported');
    await expectDaemonError(client.setDevice('clip', 'cpu'), 'unsupported');
    await expectDaemonError(client.setAttentionMode('auto'), 'unsupported');
    await expectDaemonError(client.loraCacheStats(), 'unsupported');
  });

  it('an unknown command is a daemon-error', async () => {
    const e = await expectDaemonError(client.request('unload'), 'daemon-error');
    expect(e.message).toContain('Unknown command: unload');
  });

  it('a current-generation client gets wrong-generation', async () => {
    const wrong = new LunaClient({ port: sim.port, timeoutMs: 2000 });
    const e = await expectDaemonError(wrong.ping(), 'wrong-generation');
    expect(e.message).toMatch(/LEGACY/);
  });
});

describe('generation mismatch against the current simulator', () => {
  it('a legacy client gets wrong-generation (after its short timeout)', async () => {
    const sim = await spawnSim();
    try {
      const wrong = new LunaClient({ port: sim.port, generation: 'legacy', timeoutMs: 400 });
      const e = await expectDaemonError(wrong.ping(), 'wrong-generation');
      expect(e.message).toMatch(/CURRENT/);
      expect((e.cause as DaemonError).code).toBe('timeout');
    } finally {
      await sim.kill();
    }
  });
});

describe('shutdown', () => {
  for (const legacy of [false, true]) {
    it(`${legacy ? 'legacy' : 'current'}: replies, then the process exits 0`, async () => {
      const sim = await spawnSim({ args: legacy ? ['--legacy'] : [] });
      try {
        const client = new LunaClient({ port: sim.port, generation: legacy ? 'legacy' : 'current' });
        const r = await client.shutdown();
        expect(r.message).toBe(legacy ? 'Shutdown initiated' : 'Daemon shutting down');
        const exit = await Promise.race([
          sim.exited,
          new Promise((r2) => setTimeout(() => r2('still running'), 8000)),
        ]);
        expect(exit).toEqual({ code: 0, signal: null });
        await expectDaemonError(client.ping(), 'refused');
      } finally {
        await sim.kill();
      }
    });
  }
});

describe('LunaClient error classes over real sockets', () => {
  const servers: TinyServer[] = [];
  const serve = async (fn: Parameters<typeof tinyServer>[0]): Promise<TinyServer> => {
    const s = await tinyServer(fn);
    servers.push(s);
    return s;
  };
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });
  const client = (
    port: number,
    extra: Partial<ConstructorParameters<typeof LunaClient>[0]> = {},
  ): LunaClient => new LunaClient({ port, timeoutMs: 1000, ...extra });
  const replyWith = (bytes: Buffer) => (s: Socket) => s.once('data', () => s.write(bytes));

  it('refused: nothing listens', async () => {
    const port = await getPort();
    const e = await expectDaemonError(client(port).ping(), 'refused');
    expect(e.message).toBe(`nothing is listening on 127.0.0.1:${port}`);
    expect((e.cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });

  it('reset: the peer resets the connection', async () => {
    const s = await serve((sock) => sock.once('data', () => sock.resetAndDestroy()));
    await expectDaemonError(client(s.port).ping(), 'reset');
  });

  it('timeout: the peer never answers, and the socket is destroyed', async () => {
    const s = await serve(() => undefined);
    const t0 = performance.now();
    const e = await expectDaemonError(client(s.port, { timeoutMs: 200 }).ping(), 'timeout');
    expect(performance.now() - t0).toBeLessThan(1500);
    expect(e.message).toMatch(/200 ms/);
    await waitFor(
      () => s.sockets[0]?.closed || s.sockets[0]?.readableEnded,
      'the server side to see the close',
      2000,
    );
  });

  it('aborted: an AbortSignal ends a pending call and destroys the socket', async () => {
    const s = await serve(() => undefined);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    await expectDaemonError(client(s.port, { timeoutMs: 5000 }).ping({ signal: ac.signal }), 'aborted');
    await waitFor(
      () => s.sockets[0]?.closed || s.sockets[0]?.readableEnded,
      'the server side to see the close',
      2000,
    );
  });

  it('closed: the peer closes before a complete reply', async () => {
    const s1 = await serve((sock) => sock.once('data', () => sock.end()));
    await expectDaemonError(client(s1.port).ping(), 'closed');
    const partial = encodeFrame(encodePickle({ pong: true, time: 1.5 }), 'current').subarray(0, 12);
    const s2 = await serve((sock) => sock.once('data', () => sock.end(partial)));
    const e = await expectDaemonError(client(s2.port).ping(), 'closed');
    expect(e.message).toMatch(/after 12 bytes/);
  });

  it('garbage: framed non-pickle bytes, and a reply that is not a dict', async () => {
    const s1 = await serve(replyWith(encodeFrame(Buffer.from('{"pong": true}'), 'current')));
    await expectDaemonError(client(s1.port).ping(), 'garbage');
    const s2 = await serve(replyWith(encodeFrame(encodePickle([1, 2, 3]), 'current')));
    const e = await expectDaemonError(client(s2.port).ping(), 'garbage');
    expect(e.message).toMatch(/not a dict/);
    const s3 = await serve(replyWith(encodeFrame(encodePickle({ pong: 'yes' }), 'current')));
    await expectDaemonError(client(s3.port).ping(), 'garbage');
  });

  it('oversized: a header claiming 2^62 bytes fails at once; so does a frame over a small max', async () => {
    const header = Buffer.alloc(8);
    header.writeBigUInt64BE(2n ** 62n);
    const s1 = await serve(replyWith(header));
    const t0 = performance.now();
    await expectDaemonError(client(s1.port, { timeoutMs: 5000 }).ping(), 'oversized');
    expect(performance.now() - t0).toBeLessThan(1000);
    const s2 = await serve(
      replyWith(encodeFrame(encodePickle({ pong: true, time: 1, pad: 'x'.repeat(1000) }), 'current')),
    );
    await expectDaemonError(client(s2.port, { maxFrameBytes: 100 }).ping(), 'oversized');
    expect((await client(s2.port, { maxFrameBytes: 2000 }).ping()).time).toBe(1);
  });

  it('refused-opcode: a reply pickling os.system is refused and nothing runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'luna-client-'));
    try {
      const marker = join(dir, 'pwned');
      const evil = JSON.parse(runPickleHelper(['evil', marker])) as { p4: string };
      const s = await serve(replyWith(encodeFrame(Buffer.from(evil.p4, 'hex'), 'current')));
      const e = await expectDaemonError(client(s.port).ping(), 'refused-opcode');
      expect(e.opcode).toBe('STACK_GLOBAL');
      expect(existsSync(marker)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('daemon-error: an empty error message (a daemon-side pool timeout) is still an error', async () => {
    const s = await serve(replyWith(encodeFrame(encodePickle({ error: '' }), 'current')));
    const e = await expectDaemonError(client(s.port).request('clear_loras'), 'daemon-error');
    expect(e.message).toMatch(/empty error message/);
    const s2 = await serve(
      replyWith(encodeFrame(encodePickle({ success: false, message: 'nope' }), 'current')),
    );
    await expectDaemonError(client(s2.port).unload(), 'daemon-error');
  });

  it('wrong-generation: a 4-byte-framed reply (legacy answering an 8-byte ping, docs/daemon-protocol.md §7) is recognised from the bytes', async () => {
    const legacyReply = encodeFrame(encodePickle({ error: 'Ran out of input' }), 'legacy');
    const s = await serve((sock) => sock.once('data', () => sock.end(legacyReply)));
    const e = await expectDaemonError(client(s.port).ping(), 'wrong-generation');
    expect(e.message).toMatch(/4-byte framing/);
    expect(s.sockets).toHaveLength(1);
  });

  it('wrong-generation: a reset is confirmed with a fresh 4-byte-framed health', async () => {
    const health = encodeFrame(encodePickle({ status: 'ok', service_type: 'full' }), 'legacy');
    const s = await serve((sock, i) =>
      sock.once('data', () => (i === 0 ? sock.resetAndDestroy() : sock.end(health))),
    );
    const e = await expectDaemonError(client(s.port).ping(), 'wrong-generation');
    expect((e.cause as DaemonError).code).toBe('reset');
    expect(s.received[1]!.readUInt32BE(0)).toBe(s.received[1]!.length - 4);
  });

  it('sends exactly one well-formed 8-byte-framed pickle request', async () => {
    const s = await serve(
      replyWith(
        encodeFrame(
          encodePickle({ success: true, old_device: 'cpu', new_device: 'cuda:1', message: 'ok' }),
          'current',
        ),
      ),
    );
    expect(await client(s.port).setDevice('clip', 'cuda:1')).toEqual({
      oldDevice: 'cpu',
      newDevice: 'cuda:1',
      message: 'ok',
    });
    const got = s.received[0]!;
    expect(got.readBigUInt64BE(0)).toBe(BigInt(got.length - 8));
    const loaded = JSON.parse(runPickleHelper(['loads', got.subarray(8).toString('hex')])) as unknown;
    expect(loaded).toEqual({ cmd: 'set_clip_device', device: 'cuda:1' });
  });

  it('repeated parameterless requests send the same bytes as a fresh encoding (cached body)', async () => {
    const pong = encodeFrame(encodePickle({ pong: true, time: 1.5 }), 'current');
    const s = await serve(replyWith(pong));
    const c = client(s.port);
    await c.ping();
    await c.ping();
    await c.request('get_info').catch(() => undefined);
    await c.request('set_vae_device', { device: 'cpu' }).catch(() => undefined);
    const frame = (v: Record<string, string>) => encodeFrame(encodePickle(v, { protocol: 4 }), 'current');
    expect(s.received).toEqual([
      frame({ cmd: 'ping' }),
      frame({ cmd: 'ping' }),
      frame({ cmd: 'get_info' }),
      frame({ device: 'cpu', cmd: 'set_vae_device' }),
    ]);
  });
});
