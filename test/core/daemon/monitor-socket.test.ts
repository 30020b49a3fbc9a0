import { afterAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';

import type { DaemonInfo } from '../../../src/shared/daemon-info.js';
import { LunaClient } from '../../../src/core/daemon/luna-client.js';
import {
  createMonitorSocket,
  memoStatus,
  parseMonitorMessage,
  repeatedStatus,
  sanitizeNonFiniteJson,
} from '../../../src/core/daemon/monitor-socket.js';
import { normalizeInfo } from '../../../src/core/daemon/normalize-info.js';
import { killAllTracked, spawnSim } from '../../helpers/sim.js';
import { sleep, waitFor } from '../../helpers/processes.js';

afterAll(() => killAllTracked());

describe('sanitizeNonFiniteJson', () => {
  it('replaces bare Infinity, -Infinity and NaN outside strings only', () => {
    const text =
      '{"a": Infinity, "b": -Infinity, "c": NaN, "s": "Infinity NaN -Infinity", "e": "x\\"Infinity\\"", "l": [NaN,Infinity]}';
    expect(JSON.parse(sanitizeNonFiniteJson(text))).toEqual({
      a: null,
      b: null,
      c: null,
      s: 'Infinity NaN -Infinity',
      e: 'x"Infinity"',
      l: [null, null],
    });
  });

  it('leaves valid JSON untouched and rejects non-objects', () => {
    const text = '{"type": "status", "data": {"x": 1.5}}';
    expect(sanitizeNonFiniteJson(text)).toBe(text);
    expect(parseMonitorMessage('[1, 2]')).toBeUndefined();
    expect(parseMonitorMessage('not json')).toBeUndefined();
    expect(parseMonitorMessage('{"type": "scaling", "data": {"v": Infinity}}')).toEqual({
      type: 'scaling',
      data: { v: null },
    });
  });
});

describe('createMonitorSocket against the simulator', () => {
  it('receives status, tolerates Infinity in scaling events, and reconnects after a restart', async () => {
    const sim = await spawnSim({ args: ['--scaling-events', '--models-after', '-1'] });
    const statuses: DaemonInfo[] = [];
    const scaling: Record<string, unknown>[] = [];
    const changes: boolean[] = [];
    const mon = createMonitorSocket({
      port: sim.wsPort,
      onStatus: (info) => statuses.push(info),
      onScaling: (d) => scaling.push(d),
      onConnectionChange: (c) => changes.push(c),
      reconnect: { initialMs: 100, maxMs: 400 },
    });
    let sim2: Awaited<ReturnType<typeof spawnSim>> | undefined;
    try {
      await waitFor(() => statuses.length > 0, 'a first status message', 5000);
      expect(changes).toEqual([true]);
      expect(statuses[0]!.generation).toBe('current');
      expect(statuses[0]!.vram).toHaveLength(2);
      expect(mon.requestStatus()).toBe(true);

      await new LunaClient({ port: sim.port }).request('sim_load_models');
      await waitFor(() => scaling.length > 0, 'a scaling event', 5000);
      expect(scaling[0]).toMatchObject({ pool: 'clip', vram_available_gb: null });
      await waitFor(() => statuses.at(-1)!.models.length > 0, 'a status with models', 5000);
      expect(mon.invalidMessages).toBe(0);

      await sim.kill();
      await waitFor(() => changes.at(-1) === false, 'the disconnect', 5000);
      expect(mon.connected).toBe(false);
      const before = statuses.length;
      sim2 = await spawnSim({ port: sim.port, wsPort: sim.wsPort });
      await waitFor(
        () => changes.at(-1) === true && statuses.length > before,
        'a reconnect with status',
        8000,
      );
      expect(changes).toEqual([true, false, true]);
    } finally {
      mon.dispose();
      await sim.kill();
      await sim2?.kill();
    }
  });

  it('keeps ONE connection for the daemon’s whole life (a keep-alive with no reply), about one status a second', async () => {
    // The real daemon drops a client that sends nothing after ~1.1 s and logs two INFO lines per
    // reconnect (docs/daemon-protocol.md §10); the faithful simulator does the same.
    const sim = await spawnSim({ args: ['--models-after', '-1'] });
    const statuses: DaemonInfo[] = [];
    const changes: boolean[] = [];
    const mon = createMonitorSocket({
      port: sim.wsPort,
      onStatus: (info) => statuses.push(info),
      onConnectionChange: (c) => changes.push(c),
      reconnect: { initialMs: 100, maxMs: 400 },
    });
    try {
      await sleep(4000);
      expect(changes).toEqual([true]);
      expect(sim.output().match(/WebSocket client connected/g)).toHaveLength(1);
      expect(sim.output()).not.toContain('WebSocket client disconnected');
      // Only the 1 s pushes: the keep-alive gets no status reply (4 s: the first status and ~4 pushes).
      expect(statuses.length).toBeGreaterThanOrEqual(3);
      expect(statuses.length).toBeLessThanOrEqual(6);
    } finally {
      mon.dispose();
      await sim.kill();
    }
  });

  it('without the keep-alive the daemon drops the listener every ~1.1 s (the old behaviour)', async () => {
    const sim = await spawnSim({ args: ['--models-after', '-1'] });
    const changes: boolean[] = [];
    const mon = createMonitorSocket({
      port: sim.wsPort,
      onStatus: () => undefined,
      onConnectionChange: (c) => changes.push(c),
      reconnect: { initialMs: 100, maxMs: 400 },
      keepAliveMs: 0,
    });
    try {
      await waitFor(() => changes.length >= 3, 'a drop and a reconnect', 5000);
      expect(changes.slice(0, 3)).toEqual([true, false, true]);
      expect(sim.output()).toContain('WebSocket client disconnected');
    } finally {
      mon.dispose();
      await sim.kill();
    }
  });

  it('detects the legacy info format on a legacy simulator', async () => {
    const sim = await spawnSim({ args: ['--legacy'] });
    const statuses: DaemonInfo[] = [];
    const mon = createMonitorSocket({ port: sim.wsPort, onStatus: (info) => statuses.push(info) });
    try {
      await waitFor(() => statuses.length > 0, 'a status message', 5000);
      expect(statuses[0]!.generation).toBe('legacy');
    } finally {
      mon.dispose();
      await sim.kill();
    }
  });
});

describe('createMonitorSocket against a hostile server', () => {
  it('counts invalid messages, never pings, and stops after dispose', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    const port = (wss.address() as { port: number }).port;
    let pings = 0;
    let clientMessages: string[] = [];
    let connections = 0;
    let origin: string | undefined = 'unset';
    wss.on('connection', (ws, req) => {
      connections++;
      origin = req.headers.origin;
      ws.on('ping', () => pings++);
      ws.on('message', (m: Buffer) => clientMessages.push(m.toString('utf8')));
      ws.send('not json at all');
      ws.send('[1,2,3]');
      ws.send('{"type": "status", "data": 5}');
      ws.send(Buffer.from([1, 2, 3]));
      ws.send(
        '{"type": "status", "data": {"status": "running", "uptime_sec": NaN, "vram": {"cuda:0": {"used_gb": 1, "total_gb": Infinity}}}}',
      );
    });
    const statuses: DaemonInfo[] = [];
    const mon = createMonitorSocket({
      port,
      onStatus: (i) => statuses.push(i),
      reconnect: { initialMs: 50, maxMs: 100 },
    });
    try {
      await waitFor(() => statuses.length === 1, 'the valid status', 5000);
      expect(mon.invalidMessages).toBe(4);
      expect(statuses[0]!.uptimeSec).toBe(0);
      expect(statuses[0]!.vram).toEqual([{ device: 'cuda:0', usedGb: 1, totalGb: 0 }]);
      expect(origin).toBeUndefined();
      // The keep-alive asks for nothing (a get_status would add a reply to each one); only
      // requestStatus asks for a status.
      await waitFor(() => clientMessages.length > 0, 'a keep-alive', 2000);
      expect(clientMessages.every((m) => m === '{}')).toBe(true);
      mon.requestStatus();
      await waitFor(() => clientMessages.includes('{"type": "get_status"}'), 'the get_status request', 2000);
      await sleep(300);
      expect(pings).toBe(0);
      // An abrupt close → reconnect.
      for (const c of wss.clients) c.terminate();
      await waitFor(() => connections === 2, 'a reconnect', 3000);
    } finally {
      mon.dispose();
    }
    clientMessages = [];
    await sleep(300);
    expect(connections).toBe(2);
    expect(mon.requestStatus()).toBe(false);
    await new Promise<void>((r) => wss.close(() => r()));
  });
});

/** A realistic current status message (as json.dumps writes it) with the given uptime. */
const statusText = (uptime: string, extra = '') =>
  `{"type": "status", "data": {"status": "running", "uptime_sec": ${uptime}, "request_count": 0, ` +
  `"clip_request_count": 0, "vae_request_count": 0, "service_type": "FULL", "attention_mode": "auto", ` +
  `"devices": {"clip": "cuda:1", "vae": "cuda:0", "llm": "cuda:1"}, "clip_pool": {"type": "clip", ` +
  `"active_workers": 1, "queue_depth": 0, "total_requests": 1, "worker_ids": [0], "workers_count": 1, ` +
  `"loaded_models": ["clip_l.safetensors"]}, "vram": {"cuda:0": {"used_gb": 2.15, "total_gb": 24.0}, ` +
  `"cuda:10": {"used_gb": 0.5, "total_gb": 12.0}, "cuda:2": {"used_gb": 3.68, "total_gb": 12.0}}, ` +
  `"weight_registry_models": [{"key": "vae:x", "type": "vae", "device": "cuda:1", "memory_mb": 159.56}]${extra}}}`;

/** What the full path gives for a message: parse, then normalise. */
function fullParse(text: string): { info: DaemonInfo; raw: Record<string, unknown> } {
  const raw = parseMonitorMessage(text)!.data as Record<string, unknown>;
  return { info: normalizeInfo(raw, 'current'), raw };
}

describe('repeated status messages (the idle feed)', () => {
  it('a repeat that differs only in its uptime gives exactly what a full parse gives', () => {
    const first = statusText('36.0247972011');
    const { info, raw } = fullParse(first);
    const memo = memoStatus(first, info, raw);
    expect(memo).not.toBeNull();
    for (const uptime of ['37.0269768238', '38', '1e-05', '4.5E+3']) {
      const text = statusText(uptime);
      const fast = repeatedStatus(text, memo!);
      expect(fast).not.toBeNull();
      const full = fullParse(text);
      expect(fast!.info).toEqual(full.info);
      expect(fast!.raw).toEqual(full.raw);
      // Same key order, so the serialised snapshot is byte-identical too.
      expect(JSON.stringify(fast!.info)).toBe(JSON.stringify(full.info));
    }
  });

  it('anything else changing, or an uptime that is not a plain number, takes the full path', () => {
    const first = statusText('36.5');
    const { info, raw } = fullParse(first);
    const memo = memoStatus(first, info, raw)!;
    expect(repeatedStatus(statusText('37.5', ', "request_count2": 1'), memo)).toBeNull();
    expect(repeatedStatus(statusText('37.5').replace('2.15', '2.16'), memo)).toBeNull();
    expect(repeatedStatus(statusText('NaN'), memo)).toBeNull();
    expect(repeatedStatus(statusText('Infinity'), memo)).toBeNull();
    expect(repeatedStatus(statusText('"37"'), memo)).toBeNull();
    expect(repeatedStatus(statusText('37.5').replace('"status"', '"scaling"'), memo)).toBeNull();
  });

  it('no memo when the uptime field is ambiguous or not the top-level one', () => {
    const twice = statusText('1.5', ', "nested": {"uptime_sec": 2.5}');
    expect(memoStatus(twice, fullParse(twice).info, fullParse(twice).raw)).toBeNull();
    const nestedOnly = '{"type": "status", "data": {"status": "running", "x": {"uptime_sec": 2.5}}}';
    expect(memoStatus(nestedOnly, fullParse(nestedOnly).info, fullParse(nestedOnly).raw)).toBeNull();
    const legacyKey = '{"type": "status", "data": {"status": "running", "uptime_seconds": 2.5}}';
    expect(memoStatus(legacyKey, fullParse(legacyKey).info, fullParse(legacyKey).raw)).toBeNull();
  });

  it('over a socket: every message arrives, equal to its full parse, deep ones still refused', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    const port = (wss.address() as { port: number }).port;
    const texts = [
      statusText('1.25'),
      statusText('2.25'),
      statusText('3.25').replace('"request_count": 0', '"request_count": 7'),
      statusText('4.25').replace('"request_count": 0', '"request_count": 7'),
      `{"type": "status", "data": {"uptime_sec": 5.25, "x": ${'['.repeat(100)}${']'.repeat(100)}}}`,
      statusText('6.25'),
    ];
    wss.on('connection', (ws) => {
      for (const t of texts) ws.send(t);
    });
    const got: DaemonInfo[] = [];
    const mon = createMonitorSocket({ port, onStatus: (i) => got.push(i) });
    try {
      await waitFor(() => got.length === 5 && mon.invalidMessages === 1, 'five statuses, one refused', 5000);
      expect(got).toEqual([0, 1, 2, 3, 5].map((i) => fullParse(texts[i]!).info));
      expect(got.map((i) => i.uptimeSec)).toEqual([1.25, 2.25, 3.25, 4.25, 6.25]);
      expect(got[3]!.requestCount).toBe(7);
    } finally {
      mon.dispose();
      await new Promise((r) => wss.close(r));
    }
  });
});
