// Health checking with as few wake-ups as the guarantees allow (supervisor.ts `startWatching`,
// bench: idle): the status feed stands in for pings while it delivers, interval pings reuse one
// connection, and a protocol check still catches a deadlocked handler behind a live feed.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import getPort from 'get-port';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocketServer } from 'ws';

import type { DaemonStatus } from '../../../src/shared/daemon-status.js';
import {
  defaultSettings,
  mergeSettings,
  settingsSchema,
  type Settings,
} from '../../../src/shared/settings-schema.js';
import { FrameReader, encodeFrame } from '../../../src/core/daemon/framing.js';
import { LunaChannel } from '../../../src/core/daemon/luna-channel.js';
import { LunaClient } from '../../../src/core/daemon/luna-client.js';
import { encodePickle } from '../../../src/core/daemon/pickle-encode.js';
import { type Supervisor, type SupervisorOptions } from '../../../src/core/supervisor/supervisor.js';
import { pythonExecutable } from '../../helpers/python.js';
import { killAllTracked, track, waitFor } from '../../helpers/processes.js';
import { SIM_PATH } from '../../helpers/sim.js';
import { buildSupervisor } from '../../helpers/supervisor-fixture.js';

const sups: { sup: Supervisor; keepDaemon: boolean }[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  for (const { sup, keepDaemon } of sups.splice(0)) await sup.dispose({ keepDaemon }).catch(() => undefined);
  for (const c of cleanups.splice(0)) await c();
  killAllTracked();
});

async function supervisor(
  patch: Record<string, unknown>,
  extra: Partial<SupervisorOptions> = {},
  keepDaemon = false,
): Promise<{ sup: Supervisor; settings: Settings; states: DaemonStatus['state'][] }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'luna-health-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const base = mergeSettings(defaultSettings(), {
    daemon: {
      profile: 'simulator',
      command: pythonExecutable(),
      args: ['--startup-delay', '0', '--models-after', '-1'],
      port: await getPort(),
      wsPort: await getPort(),
      startTimeoutSec: 15,
      stopGraceSec: 2,
      killTimeoutSec: 1,
    },
  });
  const settings = settingsSchema.parse(mergeSettings(base as Settings, patch));
  const { sup, states } = buildSupervisor({
    settings,
    dataDir,
    simulatorPath: SIM_PATH,
    storeCapacity: 5000,
    extra,
    onPid: (pid, s) => {
      // Never an adopted daemon (the fake one below is this very process).
      const adopted = (s.state === 'running' || s.state === 'unresponsive') && s.adopted;
      if (!adopted && pid !== process.pid) track(pid);
    },
  });
  sups.push({ sup, keepDaemon });
  return { sup, settings, states };
}

/** Resolves after `n` more `info` events (feed messages or polls). */
async function infos(sup: Supervisor, n: number, timeoutMs = 10_000): Promise<void> {
  let seen = 0;
  const off = sup.on('info', () => seen++);
  try {
    await waitFor(() => seen >= n, `${n} info updates`, timeoutMs);
  } finally {
    off();
  }
}

describe('health checks and the status feed', () => {
  it('a delivering feed replaces pings; SIGSTOP → unresponsive within interval × failures + timeout; SIGCONT → running', async () => {
    const I = 1.5;
    const F = 2;
    const T = 500;
    const { sup } = await supervisor({
      daemon: {
        health: { intervalSec: I, failuresBeforeUnresponsive: F, pingTimeoutMs: T },
        restart: { restartUnresponsive: false },
      },
    });
    expect(await sup.start()).toMatchObject({ ok: true });
    await infos(sup, 1);
    const channelPings = vi.spyOn(LunaChannel.prototype, 'ping');
    const freshPings = vi.spyOn(LunaClient.prototype, 'ping');
    // Over three health intervals the feed proved the daemon alive every second: no ping needed.
    await infos(sup, 3 * I + 1);
    expect(channelPings).not.toHaveBeenCalled();
    expect(freshPings).not.toHaveBeenCalled();

    const pid = sup.pid!;
    const t0 = performance.now();
    process.kill(pid, 'SIGSTOP');
    try {
      await waitFor(() => sup.status.state === 'unresponsive', 'unresponsive', 10_000, 5);
      const elapsed = performance.now() - t0;
      // Plain interval pings: between (F-1)·I + T and F·I + T after the hang. The same window here.
      expect(elapsed).toBeGreaterThanOrEqual((F - 1) * I * 1000 + T - 50);
      expect(elapsed).toBeLessThanOrEqual(F * I * 1000 + T + 600);
      expect(channelPings.mock.calls.length + freshPings.mock.calls.length).toBeGreaterThanOrEqual(F);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await waitFor(() => sup.status.state === 'running', 'running after SIGCONT', 10_000);
    expect(sup.pid).toBe(pid);
  });

  it('without the feed, interval pings reuse one connection, with a fresh one every protocol check', async () => {
    const { sup } = await supervisor(
      { daemon: { wsPort: 0, health: { intervalSec: 0.2, pingTimeoutMs: 1000 } } },
      { protocolCheckMs: 1000 },
    );
    expect(await sup.start()).toMatchObject({ ok: true });
    const channelPings = vi.spyOn(LunaChannel.prototype, 'ping');
    const freshPings = vi.spyOn(LunaClient.prototype, 'ping');
    await waitFor(
      () => channelPings.mock.calls.length >= 8 && freshPings.mock.calls.length >= 2,
      'pings',
      8000,
    );
    const channels = new Set(channelPings.mock.contexts as LunaChannel[]);
    expect(channels.size).toBe(1);
    const [channel] = [...channels];
    // Every channel ping went over the same connection.
    expect(channel!.connects).toBe(1);
    expect(sup.status.state).toBe('running');
  });

  it('a deadlocked request handler behind a live feed is still caught by the protocol check', async () => {
    // A fake current daemon: answers pings until told to hang, while its feed keeps talking.
    let hung = false;
    let requests = 0;
    const server = net.createServer((sock) => {
      const reader = new FrameReader({ generation: 'current' });
      sock.on('error', () => undefined);
      sock.on('data', (d: Buffer) => {
        for (const _frame of reader.push(d)) {
          requests++;
          if (!hung) sock.write(encodeFrame(encodePickle({ pong: true, time: 1.5 }), 'current'));
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => wss.once('listening', r));
    const wsPort = (wss.address() as net.AddressInfo).port;
    let uptime = 0;
    const feed = setInterval(() => {
      uptime += 0.25;
      const text = JSON.stringify({ type: 'status', data: { status: 'running', uptime_sec: uptime } });
      for (const c of wss.clients) c.send(text);
    }, 250);
    cleanups.push(async () => {
      clearInterval(feed);
      for (const c of wss.clients) c.terminate();
      await new Promise((r) => wss.close(r));
      await new Promise((r) => server.close(r));
    });

    // It is adopted (not ours: it must never be signalled, and it is left alone at the end).
    const { sup } = await supervisor(
      {
        daemon: {
          port,
          wsPort,
          generation: 'current',
          health: { intervalSec: 1.5, failuresBeforeUnresponsive: 2, pingTimeoutMs: 300 },
        },
      },
      { protocolCheckMs: 1500 },
      true,
    );
    expect(await sup.start()).toMatchObject({ ok: true });
    expect(sup.status).toMatchObject({ state: 'running', adopted: true });
    await infos(sup, 4);

    hung = true;
    const before = requests;
    const t0 = performance.now();
    let infosWhileHung = 0;
    const off = sup.on('info', () => infosWhileHung++);
    await waitFor(() => sup.status.state === 'unresponsive', 'unresponsive', 12_000);
    off();
    // protocol check (≤ 1.5 s, checked at most one interval later) + its timeout + one more interval ping.
    expect(performance.now() - t0).toBeLessThan(1500 + 1500 + 300 + 1500 + 300 + 1000);
    expect(requests - before).toBeGreaterThanOrEqual(2);
    // The feed never stopped: it is the protocol that failed. Info is taken about twice a second and
    // detection takes ~1.8–2.3 s, so a live feed gives 3–5; a stopped one would give 0 or 1.
    expect(infosWhileHung).toBeGreaterThanOrEqual(3);
  });
});
