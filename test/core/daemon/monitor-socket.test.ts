import { afterAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';

import type { DaemonInfo } from '../../../src/shared/daemon-info.js';
import { LunaClient } from '../../../src/core/daemon/luna-client.js';
import {
  createMonitorSocket,
  parseMonitorMessage,
  sanitizeNonFiniteJson,
} from '../../../src/core/daemon/monitor-socket.js';
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
      mon.requestStatus();
      await waitFor(() => clientMessages.length > 0, 'the get_status request', 2000);
      expect(JSON.parse(clientMessages[0]!)).toEqual({ type: 'get_status' });
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
