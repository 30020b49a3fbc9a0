import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { DaemonError } from '../../../src/core/daemon/errors.js';
import { encodeFrame } from '../../../src/core/daemon/framing.js';
import { LunaChannel } from '../../../src/core/daemon/luna-channel.js';
import { encodePickle } from '../../../src/core/daemon/pickle-encode.js';
import { killAllTracked, spawnSim } from '../../helpers/sim.js';
import { tinyServer, type TinyServer } from './tiny-server.js';

const channels: LunaChannel[] = [];
const servers: TinyServer[] = [];
afterEach(async () => {
  for (const c of channels.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.close();
});
afterAll(() => killAllTracked());

function channel(port: number): LunaChannel {
  const c = new LunaChannel({ host: '127.0.0.1', port, connectTimeoutMs: 1000 });
  channels.push(c);
  return c;
}

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: unknown) => (e instanceof DaemonError ? e.code : `not a DaemonError: ${String(e)}`),
  );

/** A frame the current daemon would send back for `value`. */
const reply = (value: Parameters<typeof encodePickle>[0]) => encodeFrame(encodePickle(value), 'current');

describe('LunaChannel against the simulator', () => {
  it('answers many pings over ONE connection, and reconnects after the daemon went away', async () => {
    const sim = await spawnSim({ args: ['--models-after', '-1'] });
    const c = channel(sim.port);
    for (let i = 0; i < 5; i++) expect(await c.ping({ timeoutMs: 2000 })).toBeGreaterThanOrEqual(0);
    expect(c.connects).toBe(1);

    await sim.kill();
    expect(await codeOf(c.ping({ timeoutMs: 1000 }))).toMatch(/^(refused|closed|reset)$/);
    expect(await codeOf(c.ping({ timeoutMs: 1000 }))).toBe('refused');

    const again = await spawnSim({ port: sim.port, wsPort: sim.wsPort, args: ['--models-after', '-1'] });
    const before = c.connects;
    expect(await c.ping({ timeoutMs: 2000 })).toBeGreaterThanOrEqual(0);
    expect(c.connects).toBe(before + 1);
    await again.kill();
  });

  it('a daemon that stops answering: timeout, and the next ping does not reuse that connection', async () => {
    const sim = await spawnSim({ args: ['--models-after', '-1', '--hang-after', '0.5'] });
    const c = channel(sim.port);
    await c.ping({ timeoutMs: 2000 });
    await new Promise((r) => setTimeout(r, 700));
    const t0 = performance.now();
    expect(await codeOf(c.ping({ timeoutMs: 300 }))).toBe('timeout');
    expect(performance.now() - t0).toBeLessThan(1500);
    expect(await codeOf(c.ping({ timeoutMs: 300 }))).toBe('timeout');
    expect(c.connects).toBe(2);
    await sim.kill();
  });
});

describe('LunaChannel against hostile servers', () => {
  it('a late reply is never taken for the next answer: the timed-out connection is dropped', async () => {
    let n = 0;
    const s = await tinyServer((sock) => {
      sock.on('data', () => {
        n++;
        // The first request is answered too late; later ones at once.
        const answer = () => sock.write(reply({ pong: true, time: n }));
        if (n === 1) setTimeout(answer, 400);
        else answer();
      });
    });
    servers.push(s);
    const c = channel(s.port);
    expect(await codeOf(c.ping({ timeoutMs: 150 }))).toBe('timeout');
    await new Promise((r) => setTimeout(r, 400));
    expect(await c.ping({ timeoutMs: 1000 })).toBeGreaterThanOrEqual(0);
    expect(s.sockets).toHaveLength(2);
  });

  it('unexpected frames, error replies and garbage are typed errors; close() aborts', async () => {
    let request = 0;
    const s = await tinyServer((sock) => {
      sock.on('data', () => {
        const n = request++;
        if (n === 0) sock.write(Buffer.concat([reply({ pong: true }), reply({ pong: true })]));
        else if (n === 1) sock.write(reply({ error: 'Unknown command: ping' }));
        else if (n === 2) sock.write(encodeFrame(Buffer.from('not a pickle'), 'current'));
        else sock.end();
      });
    });
    servers.push(s);
    const c = channel(s.port);
    // Two frames for one request: the stream cannot be trusted, the connection is dropped.
    expect(await codeOf(c.ping({ timeoutMs: 1000 }))).toBe('garbage');
    // A well-framed error reply: a typed error, and the connection stays usable.
    expect(await codeOf(c.ping({ timeoutMs: 1000 }))).toBe('daemon-error');
    expect(await codeOf(c.ping({ timeoutMs: 1000 }))).toMatch(/^(garbage|refused-opcode)$/);
    expect(await codeOf(c.ping({ timeoutMs: 1000 }))).toBe('closed');
    expect(s.sockets).toHaveLength(3);
    c.close();
    expect(await codeOf(c.ping({ timeoutMs: 1000 }))).toBe('aborted');
  });

  it('requests are serialised: concurrent pings each get their own answer', async () => {
    const s = await tinyServer((sock) => {
      let k = 0;
      // Answer each request after a delay; two requests in flight at once would interleave.
      sock.on('data', () => setTimeout(() => sock.write(reply({ pong: true, time: ++k })), 50));
    });
    servers.push(s);
    const c = channel(s.port);
    const results = await Promise.all([1, 2, 3].map(() => codeOf(c.ping({ timeoutMs: 2000 }))));
    expect(results).toEqual(['resolved', 'resolved', 'resolved']);
    expect(s.sockets).toHaveLength(1);
    // One frame per request, received one after the other.
    const pingFrame = encodeFrame(encodePickle({ cmd: 'ping' }, { protocol: 4 }), 'current');
    expect(s.received[0]).toEqual(Buffer.concat([pingFrame, pingFrame, pingFrame]));
  });
});
