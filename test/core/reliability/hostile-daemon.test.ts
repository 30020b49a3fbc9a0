/**
 * A malicious or broken peer where the Luna daemon should be: on the protocol port (a fake daemon
 * written here, in place of the simulator), on the WebSocket monitor port (a hand-rolled RFC 6455
 * server that sends what no library would), and in the daemon's own output (a Node fixture as the
 * daemon command). Every case must end in a typed error or a defined state, within its timeouts,
 * without crashing the process or losing what the supervisor already had.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import getPort from 'get-port';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import {
  defaultSettings,
  mergeSettings,
  settingsSchema,
  type Settings,
} from '../../../src/shared/settings-schema.js';
import { DaemonError } from '../../../src/core/daemon/errors.js';
import { encodeFrame } from '../../../src/core/daemon/framing.js';
import { probeGeneration } from '../../../src/core/daemon/generation-probe.js';
import { LunaClient } from '../../../src/core/daemon/luna-client.js';
import { decodePickle } from '../../../src/core/daemon/pickle-decode.js';
import { encodePickle, type PickleValue } from '../../../src/core/daemon/pickle-encode.js';
import { truncationMarker } from '../../../src/core/logs/line-splitter.js';
import { pythonExecutable } from '../../helpers/python.js';
import { killAllTracked, sleep, track, waitFor } from '../../helpers/processes.js';
import { SIM_PATH } from '../../helpers/sim.js';
import { buildSupervisor } from '../../helpers/supervisor-fixture.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/processes/', import.meta.url));

const rejections: unknown[] = [];
const onRejection = (e: unknown) => rejections.push(e);
beforeAll(() => {
  process.on('unhandledRejection', onRejection);
});
afterAll(() => {
  process.off('unhandledRejection', onRejection);
  expect(rejections).toEqual([]);
});

/** Registers a clean-up for the CURRENT test (tests here run concurrently: no shared list). */
type Defer = (fn: () => Promise<void> | void) => void;

afterEach(() => killAllTracked());

// ---- a fake daemon on the protocol port ------------------------------------------------------

type Mode =
  | 'good'
  | 'huge-header'
  | 'truncated-close'
  | 'truncated-hang'
  | 'drip'
  | 'not-pickle'
  | 'reduce'
  | 'global'
  | 'deep'
  | 'huge-string'
  | 'silent';

const PWNED_DIR = mkdtempSync(join(tmpdir(), 'luna-pwned-'));
const PWNED = join(PWNED_DIR, 'pwned');
afterAll(() => rmSync(PWNED_DIR, { recursive: true, force: true }));

/** Pickles a real Python would send to attack an unsafe `pickle.loads` (docs/daemon-protocol.md §6.3). */
function pythonPickle(protocol: number): Buffer {
  const code = [
    'import os, pickle, sys',
    'class Evil:',
    `    def __reduce__(self): return (os.system, (${JSON.stringify(`touch ${PWNED}`)},))`,
    `sys.stdout.write(pickle.dumps({"pong": True, "x": Evil()}, protocol=${protocol}).hex())`,
  ].join('\n');
  return Buffer.from(execFileSync(pythonExecutable(), ['-c', code], { encoding: 'utf8' }), 'hex');
}
const REDUCE_PICKLE = pythonPickle(4); // STACK_GLOBAL + REDUCE
const GLOBAL_PICKLE = pythonPickle(2); // GLOBAL ('c') + REDUCE

/** `[[[…]]]` nested 10,000 deep, hand-built: PROTO 4, 10,000 × EMPTY_LIST, 9,999 × APPEND, STOP. */
const DEEP_PICKLE = Buffer.concat([
  Buffer.from([0x80, 0x04]),
  Buffer.alloc(10_000, 0x5d),
  Buffer.alloc(9_999, 0x61),
  Buffer.from('.'),
]);

/** BINUNICODE declaring 100 MB, with three bytes present. */
const HUGE_STRING_PICKLE = (() => {
  const b = Buffer.alloc(2 + 1 + 4 + 3);
  b.set([0x80, 0x04, 0x58], 0);
  b.writeUInt32LE(100 * 1024 * 1024, 3);
  b.write('abc', 7);
  return b;
})();

const GOOD_INFO = {
  status: 'running',
  uptime_sec: 12.5,
  request_count: 7,
  service_type: 'full',
  devices: { clip: 'cuda:0', vae: 'cuda:0' },
  vram: { 'cuda:0': { used_gb: 1.5, total_gb: 24 } },
  clip_pool: {
    loaded_models: ['clip-good.safetensors'],
    active_workers: 1,
    queue_depth: 0,
    total_requests: 3,
  },
};

interface FakeDaemon {
  port: number;
  mode: Mode;
  /** Requests received in `good` mode, by command. */
  commands: string[];
  close(): Promise<void>;
}

function frame(value: PickleValue): Buffer {
  return encodeFrame(encodePickle(value), 'current');
}

async function startFakeDaemon(defer: Defer, port: number, mode: Mode): Promise<FakeDaemon> {
  const sockets = new Set<net.Socket>();
  const fake: FakeDaemon = {
    port,
    mode,
    commands: [],
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let answered = false;
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (fake.mode !== 'good') {
        if (!answered) hostile(sock, fake.mode);
        answered = true;
        return;
      }
      while (buf.length >= 8) {
        const n = Number(buf.readBigUInt64BE(0));
        if (n > 1 << 20) return sock.destroy(); // a legacy 4-byte probe read as an 8-byte length
        if (buf.length < 8 + n) return;
        const req = decodePickle(buf.subarray(8, 8 + n)) as { cmd?: string };
        buf = buf.subarray(8 + n);
        fake.commands.push(String(req.cmd));
        if (req.cmd === 'ping') sock.write(frame({ pong: true, time: Date.now() / 1000 }));
        else if (req.cmd === 'get_info') sock.write(frame(GOOD_INFO));
        else sock.write(frame({ error: `fake daemon: ${String(req.cmd)} not implemented` }));
      }
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  defer(() => fake.close());
  return fake;
}

function header(n: number): Buffer {
  const h = Buffer.alloc(8);
  h.writeBigUInt64BE(BigInt(n));
  return h;
}

function hostile(sock: net.Socket, mode: Mode): void {
  switch (mode) {
    case 'huge-header':
      sock.write(Buffer.alloc(8, 0xff));
      return;
    case 'truncated-close':
      sock.end(Buffer.concat([header(100), Buffer.from([0x80, 0x04, 0x95, 0, 0, 0, 0, 0, 0, 0])]));
      return;
    case 'truncated-hang':
      sock.write(Buffer.concat([header(100), Buffer.from([0x80, 0x04, 0x95, 0, 0, 0, 0, 0, 0, 0])]));
      return;
    case 'drip': {
      const bytes = frame({ pong: true, time: 1 });
      let i = 0;
      const t = setInterval(() => {
        if (sock.destroyed || i >= bytes.length) return clearInterval(t);
        sock.write(bytes.subarray(i, ++i));
      }, 100);
      sock.on('close', () => clearInterval(t));
      return;
    }
    case 'not-pickle': {
      const body = Buffer.from('HTTP/1.1 200 OK\r\nthis is not a pickle\r\n');
      sock.write(Buffer.concat([header(body.length), body]));
      return;
    }
    case 'reduce':
      sock.write(encodeFrame(REDUCE_PICKLE, 'current'));
      return;
    case 'global':
      sock.write(encodeFrame(GLOBAL_PICKLE, 'current'));
      return;
    case 'deep':
      sock.write(encodeFrame(DEEP_PICKLE, 'current'));
      return;
    case 'huge-string':
      sock.write(encodeFrame(HUGE_STRING_PICKLE, 'current'));
      return;
    case 'silent':
    case 'good':
      return;
  }
}

function settingsFor(port: number, wsPort: number): Settings {
  return settingsSchema.parse(
    mergeSettings(defaultSettings(), {
      daemon: {
        profile: 'simulator',
        port,
        wsPort,
        startTimeoutSec: 5,
        health: { intervalSec: 0.1, failuresBeforeUnresponsive: 2, pingTimeoutMs: 400, infoIntervalSec: 0.2 },
        restart: { restartUnresponsive: true },
      },
    }),
  );
}

function supervisorFor(defer: Defer, settings: Settings) {
  const dataDir = mkdtempSync(join(tmpdir(), 'luna-hostile-'));
  const { sup, store } = buildSupervisor({ settings, dataDir, simulatorPath: SIM_PATH, storeCapacity: 5000 });
  defer(async () => {
    // The fake daemon lives in THIS process: never let a stop escalate to signals against it.
    await sup.dispose({ keepDaemon: true });
    rmSync(dataDir, { recursive: true, force: true });
  });
  return { sup, store };
}

/** What a hostile mode must produce: the client's error codes, and the probe's verdict. */
const HOSTILE: Record<Exclude<Mode, 'good'>, DaemonError['code'][]> = {
  'huge-header': ['oversized'],
  'truncated-close': ['closed'],
  'truncated-hang': ['timeout'],
  drip: ['timeout'],
  'not-pickle': ['garbage', 'refused-opcode'],
  reduce: ['refused-opcode'],
  global: ['refused-opcode'],
  deep: ['oversized'],
  'huge-string': ['garbage', 'oversized'],
  silent: ['timeout'],
};

describe.concurrent('a hostile peer on the daemon port', () => {
  for (const [mode, codes] of Object.entries(HOSTILE) as [Exclude<Mode, 'good'>, DaemonError['code'][]][]) {
    it(`${mode}: typed client error within the timeout, probe says not-luna, start → failed port-conflict`, async ({
      onTestFinished,
    }) => {
      const port = await getPort();
      await startFakeDaemon(onTestFinished, port, mode);
      const t0 = performance.now();
      const ping = await new LunaClient({ port }).ping({ timeoutMs: 1_000 }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(performance.now() - t0).toBeLessThan(1_800);
      expect(ping).toBeInstanceOf(DaemonError);
      expect(codes).toContain((ping as DaemonError).code);

      const t1 = performance.now();
      const probe = await probeGeneration({ port, timeoutMs: 1_500 });
      expect(performance.now() - t1).toBeLessThan(2_300);
      expect(probe.generation).toBe('not-luna');

      const { sup } = supervisorFor(onTestFinished, settingsFor(port, 0));
      const r = await sup.start();
      expect(r.ok).toBe(false);
      expect(sup.status).toMatchObject({ state: 'failed', kind: 'port-conflict' });
      expect((sup.status as { message: string }).message).toContain(`PID ${process.pid}`);
      expect(existsSync(PWNED), 'the pickle ran code').toBe(false);
    });
  }

  for (const mode of ['huge-header', 'not-pickle', 'reduce', 'deep', 'huge-string', 'drip'] as const) {
    it(`an adopted daemon that turns ${mode} → unresponsive (not killed: not ours), info kept; good again → running`, async ({
      onTestFinished,
    }) => {
      const port = await getPort();
      const fake = await startFakeDaemon(onTestFinished, port, 'good');
      const { sup } = supervisorFor(onTestFinished, settingsFor(port, 0));
      expect(await sup.start()).toMatchObject({ ok: true });
      expect(sup.status).toMatchObject({ state: 'running', adopted: true, pid: process.pid });
      await waitFor(() => sup.info?.models[0]?.name === 'clip-good.safetensors', 'info from get_info');
      fake.mode = mode;
      await waitFor(() => sup.status.state === 'unresponsive', 'unresponsive', 5_000);
      await sleep(300);
      expect(sup.status.state).toBe('unresponsive');
      // What we had is kept: the last good info.
      expect(sup.info?.models.map((m) => m.name)).toEqual(['clip-good.safetensors']);
      fake.mode = 'good';
      await waitFor(() => sup.status.state === 'running', 'running again', 5_000);
      expect(existsSync(PWNED)).toBe(false);
    });
  }
});

// ---- a hostile WebSocket monitor ---------------------------------------------------------------

/** A server frame (unmasked), with a free first byte so invalid opcodes and RSV bits can be sent. */
function wsFrame(payload: Buffer | string, first = 0x81, declaredLength?: number): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const n = declaredLength ?? body.length;
  let head: Buffer;
  if (n < 126) head = Buffer.from([first, n]);
  else if (n < 65536) {
    head = Buffer.from([first, 126, 0, 0]);
    head.writeUInt16BE(n, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = first;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([head, body]);
}

const status = (data: Record<string, unknown>) => JSON.stringify({ type: 'status', data });

/**
 * A minimal RFC 6455 server: completes the handshake, then plays `scripts[k]` on the k-th
 * connection (the last script repeats). Returns the number of connections seen.
 */
async function hostileMonitor(
  defer: Defer,
  port: number,
  scripts: ((sock: net.Socket) => void)[],
): Promise<{ connections: () => number }> {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    let head = '';
    const onData = (d: Buffer) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      sock.off('data', onData);
      const key = /sec-websocket-key:\s*(\S+)/i.exec(head)?.[1] ?? '';
      const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      sock.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
      );
      const script = scripts[Math.min(connections, scripts.length - 1)]!;
      connections++;
      script(sock);
    };
    sock.on('data', onData);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  defer(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return { connections: () => connections };
}

describe('a hostile WebSocket monitor', () => {
  it('invalid frames, NaN/Infinity, non-JSON, deep nesting and an oversized message: ignored or disconnected and reconnected, never a crash; info keeps the last good value', async ({
    onTestFinished,
  }) => {
    const port = await getPort();
    const wsPort = await getPort();
    await startFakeDaemon(onTestFinished, port, 'good');
    const deep = `{"type":"status","data":{"deep":${'['.repeat(500_000)}${']'.repeat(500_000)}}}`;
    const mon = await hostileMonitor(onTestFinished, wsPort, [
      // 1: a good status, then junk that must be ignored, then a frame with an invalid opcode.
      (s) => {
        s.write(wsFrame(status({ uptime_sec: 42, clip_pool: { loaded_models: ['clip-ws.safetensors'] } })));
        s.write(wsFrame('not json at all'));
        s.write(wsFrame('[1, 2, 3]'));
        s.write(wsFrame(Buffer.from([0xff, 0xfe, 0x00]), 0x82)); // binary
        s.write(wsFrame('{"type": "status", "data": "not an object"}'));
        setTimeout(() => s.write(wsFrame('x', 0x83)), 100); // reserved opcode 3 → protocol error
      },
      // 2: NaN / Infinity tokens (Python's json.dumps), then RSV bits without an extension.
      (s) => {
        s.write(
          wsFrame(
            '{"type": "status", "data": {"uptime_sec": NaN, "vram": {"cuda:0": {"used_gb": Infinity, "total_gb": -Infinity}}, "clip_pool": {"loaded_models": ["clip-ws.safetensors"]}}}',
          ),
        );
        setTimeout(() => s.write(wsFrame('{}', 0xf1)), 100);
      },
      // 3: a message nested 500,000 deep (1 MB, under maxPayload): must not overflow the stack.
      (s) => {
        s.write(wsFrame(deep));
        setTimeout(
          () =>
            s.write(
              wsFrame(status({ uptime_sec: 77, clip_pool: { loaded_models: ['clip-ws.safetensors'] } })),
            ),
          100,
        );
        setTimeout(() => s.destroy(), 200);
      },
      // 4: a header announcing 64 MiB (> the client's maxPayload): closed before any of it is read.
      (s) => {
        s.write(wsFrame(Buffer.alloc(1024), 0x81, 64 * 1024 * 1024));
      },
      // 5+: good again.
      (s) => {
        s.write(wsFrame(status({ uptime_sec: 99, clip_pool: { loaded_models: ['clip-ws.safetensors'] } })));
      },
    ]);
    // Info only from the monitor: the socket poll (fallback while the feed is down) is slowed right down.
    const settings = settingsFor(port, wsPort);
    const { sup } = supervisorFor(
      onTestFinished,
      settingsSchema.parse(mergeSettings(settings, { daemon: { health: { infoIntervalSec: 60 } } })),
    );
    const uptimes: number[] = [];
    sup.on('info', (i) => uptimes.push(i?.uptimeSec ?? -1));
    expect(await sup.start()).toMatchObject({ ok: true });
    await waitFor(() => uptimes.includes(42), 'the first good status');
    await waitFor(
      () => mon.connections() >= 5 && sup.info?.uptimeSec === 99,
      'reconnected through every hostile connection',
      15_000,
    );
    expect(sup.status.state).toBe('running');
    const info = sup.info!;
    expect(info.models.map((m) => m.name)).toEqual(['clip-ws.safetensors']);
    // No NaN or Infinity ever reaches the info (they became neutral values).
    expect(JSON.stringify(info)).not.toMatch(/NaN|Infinity|null,"totalGb"/);
    for (const v of info.vram) expect(Number.isFinite(v.usedGb) && Number.isFinite(v.totalGb)).toBe(true);
    // The deep message never became info (the value after it, 77, did).
    expect(uptimes).toContain(77);
    expect(uptimes.every((u) => Number.isFinite(u))).toBe(true);
  }, 30_000);
});

// ---- hostile daemon output ---------------------------------------------------------------------

describe('hostile daemon output', () => {
  it('ANSI escapes, invalid UTF-8, HTML/script and a 10 MB line: stripped, replaced, kept as text, truncated with the marker; memory bounded', async ({
    onTestFinished,
  }) => {
    const port = await getPort();
    const dataDir = mkdtempSync(join(tmpdir(), 'luna-output-'));
    onTestFinished(() => rmSync(dataDir, { recursive: true, force: true }));
    const maxLineLength = 16 * 1024;
    const settings = settingsSchema.parse(
      mergeSettings(defaultSettings(), {
        daemon: {
          profile: 'custom',
          command: process.execPath,
          args: [join(FIXTURES, 'hostile-output.mjs')],
          port,
          wsPort: 0,
          startTimeoutSec: 10,
        },
        logs: { maxLineLength },
      }),
    );
    // The capture's line cap comes from the settings' logs.maxLineLength, as in the product.
    const { sup, store } = buildSupervisor({
      settings,
      dataDir,
      simulatorPath: SIM_PATH,
      storeCapacity: 5000,
    });
    onTestFinished(() => sup.dispose({ keepDaemon: false }));
    sup.on('status', (s) => track('pid' in s ? (s.pid ?? undefined) : undefined));
    const heapBefore = process.memoryUsage().heapUsed;
    const r = await sup.start();
    // The fixture writes its output and exits 1: an early exit with the last lines in the record.
    expect(r.ok).toBe(false);
    expect(sup.status).toMatchObject({ state: 'failed', kind: 'start-failed', lastExit: { code: 1 } });
    // Nothing is lost: the pipe may still be draining when the exit record is made (it waits at most
    // 100 ms for the pipes to close), but every line arrives.
    await waitFor(
      () => store.since(0).entries.some((e) => e.text === 'the last line'),
      'the last line',
      10_000,
    ).catch((err: unknown) => {
      throw new Error(
        `${String(err)}\nDEBUG ${JSON.stringify(store.since(0).entries.map((e) => [e.source, e.text.slice(0, 60), e.text.length]))}`,
      );
    });
    const entries = store.since(0).entries.filter((e) => e.source !== 'supervisor');
    const texts = entries.map((e) => e.text);
    const all = texts.join('\n');
    // ANSI colour, cursor moves, OSC title, 8-bit CSI: gone; the words stay.
    expect(all).toContain('coloured WARNING text');
    expect(all).toContain('8-bit CSI');
    expect(all).not.toContain('window title set'); // the OSC string is part of the escape
    // eslint-disable-next-line no-control-regex
    expect(all).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
    // Invalid UTF-8 became U+FFFD, valid multi-byte text survived.
    expect(all).toContain('bad bytes: \ufffd\ufffd end');
    expect(all).toContain('ünïcödé ✓ 😀');
    // HTML is text, verbatim (the panel renders it with textContent).
    expect(all).toContain('<script>alert("xss")</script><img src=x onerror=alert(1)>');
    // The 10 MB line: cut at the cap, with the marker, and the line after it intact.
    const long = texts.find((t) => t.startsWith('AAAA'));
    expect(long).toBeDefined();
    expect(long!.length).toBeLessThanOrEqual(maxLineLength + truncationMarker(10 * 1024 * 1024).length);
    expect(long).toMatch(/ … \[truncated \d+ bytes\]$/);
    expect(all).toContain('after the long line');
    expect(entries.every((e) => e.text.length <= maxLineLength + 64 || e.text.includes('\n'))).toBe(true);
    // Bounded memory: the store holds a few KB, not the 10 MB line.
    expect(all.length).toBeLessThan(200_000);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
    // The exit record's tail is the same sanitised text.
    const tail = (sup.status as { lastExit: { stderrTail: string[] } }).lastExit.stderrTail.join('\n');
    expect(tail.length).toBeGreaterThan(0);
    // eslint-disable-next-line no-control-regex
    expect(tail).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
  });
});
