import getPort from 'get-port';
import { afterAll, describe, expect, it } from 'vitest';

import { DaemonError } from '../../../src/core/daemon/errors.js';
import { probeGeneration } from '../../../src/core/daemon/generation-probe.js';
import { killAllTracked, spawnSim } from '../../helpers/sim.js';

import { tinyServer, type TinyServer } from './tiny-server.js';

afterAll(() => killAllTracked());

describe('probeGeneration (docs/daemon-protocol.md §7)', () => {
  it('current simulator → current', async () => {
    const sim = await spawnSim();
    try {
      const r = await probeGeneration({ port: sim.port });
      expect(r.generation, r.detail).toBe('current');
    } finally {
      await sim.kill();
    }
  });

  it('legacy simulator → legacy, probing 8-byte framing first and confirming on a fresh connection', async () => {
    const sim = await spawnSim({ args: ['--legacy'] });
    try {
      const r = await probeGeneration({ port: sim.port });
      expect(r.generation, r.detail).toBe('legacy');
      expect(r.detail).toMatch(/health answered ok/);
    } finally {
      await sim.kill();
    }
  });

  it('nothing listening → none', async () => {
    const r = await probeGeneration({ port: await getPort() });
    expect(r.generation).toBe('none');
    expect(r.detail).toMatch(/nothing is listening/);
  });

  describe('non-Luna servers → not-luna within the deadline', () => {
    const servers: TinyServer[] = [];
    afterAll(async () => Promise.all(servers.map((s) => s.close())));
    const kinds: [string, Parameters<typeof tinyServer>[0]][] = [
      ['silent', () => undefined],
      ['echo', (s) => s.on('data', (d) => s.write(d))],
      ['HTTP banner', (s) => s.write('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n')],
      ['SSH-like banner then close', (s) => s.end('SSH-2.0-OpenSSH_9.6\r\n')],
      ['immediate close', (s) => s.end()],
      ['reset', (s) => s.resetAndDestroy()],
    ];
    it.each(kinds)('%s', async (_name, behaviour) => {
      const s = await tinyServer(behaviour);
      servers.push(s);
      const t0 = performance.now();
      const r = await probeGeneration({ port: s.port, timeoutMs: 2000 });
      const ms = performance.now() - t0;
      expect(r.generation, r.detail).toBe('not-luna');
      expect(ms).toBeLessThan(2300);
      // The first request a server sees is always 8-byte framed (never 4-byte first).
      expect(
        s.received[0]!.length === 0 ||
          s.received[0]!.readBigUInt64BE(0) === BigInt(s.received[0]!.length - 8),
      ).toBe(true);
    });
  });

  it('an abort rejects with aborted', async () => {
    const s = await tinyServer(() => undefined);
    try {
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 50);
      await expect(probeGeneration({ port: s.port, signal: ac.signal })).rejects.toSatisfy(
        (e: unknown) => e instanceof DaemonError && e.code === 'aborted',
      );
    } finally {
      await s.close();
    }
  });
});
