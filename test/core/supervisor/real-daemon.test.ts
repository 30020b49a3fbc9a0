/**
 * Behaviour against the faithful simulator that the real daemon showed (docs/daemon-protocol.md
 * §9.1, §10): one trusted status feed, no adoption of a daemon that is shutting down, a running
 * daemon visible at start-up, a fixed endpoint, port conflicts named right, no strays after an exit.
 */
import { createServer, type Server } from 'node:net';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import getPort from 'get-port';
import { afterEach, describe, expect, it } from 'vitest';

import { LunaClient } from '../../../src/core/daemon/luna-client.js';
import { classifyEarlyExit, describeExit } from '../../../src/core/supervisor/supervisor.js';
import { isAlive, sleep, track, waitFor, waitForPidGone } from '../../helpers/processes.js';
import { pythonExecutable } from '../../helpers/python.js';
import { SIM_PATH, spawnSim } from '../../helpers/sim.js';
import { cleanupDir, harness, wrapperHarness } from './harness.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/processes/', import.meta.url));

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

async function occupy(port: number): Promise<void> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
}

const count = (text: string, needle: string) => text.split(needle).length - 1;

/** A supervisor (fresh data dir) pointed at given ports, e.g. a simulator started outside it. */
async function harnessOn(port: number, wsPort: number) {
  const h = await harness({}, { dataDir: mkdtempSync(join(tmpdir(), 'luna-sup-')), port, wsPort });
  cleanupDir(h.dataDir);
  return h;
}

describe('the status feed', () => {
  it('one connection for the daemon’s whole life: the daemon logs a single connect and no disconnect', async () => {
    const h = await harness({ daemon: { args: ['--models-after', '-1'] } });
    await h.sup.start();
    await sleep(3500);
    expect(count(h.logText(), 'WebSocket client connected')).toBe(1);
    expect(h.logText()).not.toContain('WebSocket client disconnected');
    expect(h.sup.info?.generation).toBe('current');
  });

  it('a feed that belongs to another daemon is ignored (warned), and info comes from our daemon', async () => {
    const ours = await spawnSim({ args: ['--models-after', '-1'] });
    const other = await spawnSim({ args: ['--models-after', '0'] });
    const h = await harnessOn(ours.port, other.wsPort);
    try {
      await h.sup.start();
      expect(h.sup.status).toMatchObject({ state: 'running', adopted: true });
      await waitFor(() => h.logText().includes('Not using the status feed'), 'the warning', 5000);
      expect(h.logText()).toContain(`PID ${other.pid}`);
      await sleep(1500);
      // The other daemon has models loaded; ours has none, and the info says so.
      expect(h.sup.info).not.toBeNull();
      expect(h.sup.info!.models).toEqual([]);
      expect(other.output()).not.toContain('WebSocket client connected');
    } finally {
      await h.sup.dispose({ keepDaemon: true });
      await ours.kill();
      await other.kill();
    }
  });
});

describe('shutdown races', () => {
  it('a start right after someone sent shutdown does not adopt the dying daemon: it waits, then starts a fresh one', async () => {
    const sim = await spawnSim({ args: ['--models-after', '-1'] });
    const h = await harnessOn(sim.port, sim.wsPort);
    await new LunaClient({ port: sim.port }).shutdown();
    await sleep(100);
    const r = await h.sup.start();
    expect(r.ok).toBe(true);
    expect(h.sup.status).toMatchObject({ state: 'running', adopted: false });
    expect(h.sup.pid).not.toBe(sim.pid);
    expect((await sim.exited).code).toBe(0);
    expect(isAlive(h.sup.pid!)).toBe(true);
    expect(h.logText()).toContain('is shutting down');
  });

  it('a start right after our own daemon was told to shut down from outside starts a fresh one', async () => {
    const h = await harness({ daemon: { args: ['--models-after', '-1'] } });
    await h.sup.start();
    const old = h.sup.pid!;
    await new LunaClient({ port: h.port }).shutdown();
    await waitFor(() => h.logText().includes('Shutdown command received'), 'the shutdown line', 3000);
    const r = await h.sup.start();
    expect(r.ok).toBe(true);
    expect(h.sup.status).toMatchObject({ state: 'running', adopted: false });
    expect(h.sup.pid).not.toBe(old);
    expect(isAlive(old)).toBe(false);
    expect(isAlive(h.sup.pid!)).toBe(true);
  });
});

describe('start-up and settings', () => {
  it('a daemon already running is shown at once (discover), and left running when Luna Tray exits', async () => {
    const sim = await spawnSim({ args: ['--models-after', '-1'] });
    const h = await harnessOn(sim.port, sim.wsPort);
    try {
      await h.sup.discover();
      expect(h.sup.status).toMatchObject({ state: 'running', adopted: true, pid: sim.pid });
      await h.sup.dispose({ keepDaemon: false });
      expect(isAlive(sim.pid)).toBe(true);
    } finally {
      await sim.kill();
    }
  });

  it('the endpoint is fixed for the daemon’s life: a port change waits for a restart, stop still uses the protocol', async () => {
    const h = await harness({ daemon: { args: ['--models-after', '-1'] } });
    await h.sup.start();
    const pid = h.sup.pid!;
    const other = await getPort();
    h.update({ daemon: { port: other } });
    expect(h.sup.pendingSettingChanges).toEqual([`daemon.port ${h.port} → ${other}`]);
    expect((await h.sup.check()).ok).toBe(true);
    const stop = await h.sup.stop();
    expect(stop).toEqual({ ok: true, message: 'The Luna daemon stopped gracefully.' });
    expect(isAlive(pid)).toBe(false);
    expect(h.sup.pendingSettingChanges).toEqual([]);
  });
});

describe('port conflicts', () => {
  it('comfyui profile: names the port the daemon really binds (its config.py) and how to move it', async () => {
    const realPort = await getPort();
    const realWs = await getPort();
    const comfy = mkdtempSync(join(tmpdir(), 'luna-comfy-'));
    cleanupDir(comfy);
    const daemonDir = join(comfy, 'custom_nodes', 'ComfyUI-Luna-Collection', 'luna_daemon');
    mkdirSync(daemonDir, { recursive: true });
    writeFileSync(
      join(daemonDir, 'config.py'),
      `DAEMON_HOST = "127.0.0.1"\nDAEMON_PORT = ${realPort}\nDAEMON_VAE_PORT = 19284\nDAEMON_WS_PORT = ${realWs}\n`,
    );
    // Like the real daemon: no arguments, ports from config.py.
    writeFileSync(
      join(daemonDir, 'daemon_server.py'),
      [
        'import os, re, sys',
        'here = os.path.dirname(os.path.abspath(__file__))',
        "cfg = open(os.path.join(here, 'config.py')).read()",
        "port = re.search(r'^DAEMON_PORT = (\\d+)', cfg, re.M).group(1)",
        "ws = re.search(r'^DAEMON_WS_PORT = (\\d+)', cfg, re.M).group(1)",
        `os.execv(sys.executable, [sys.executable, ${JSON.stringify(SIM_PATH)}, '--port', port, '--ws-port', ws, '--startup-delay', '0'])`,
      ].join('\n'),
    );
    await occupy(realWs);
    // Settings that disagree with config.py (as after following "change daemon.wsPort").
    const h = await harness({
      daemon: { profile: 'comfyui', command: pythonExecutable(), port: realPort, wsPort: await getPort() },
      comfyui: { path: comfy },
    });
    await h.sup.start();
    expect(h.sup.status).toMatchObject({ state: 'failed', kind: 'port-conflict' });
    const message = (h.sup.status as { message: string }).message;
    expect(message).toContain(`Port ${realWs} (the WebSocket monitor port) is in use by PID ${process.pid}`);
    expect(message).toContain(join(daemonDir, 'config.py'));
    expect(message).toContain('DAEMON_WS_PORT');
  });

  it('simulator profile: names the held WebSocket port and advises daemon.wsPort', async () => {
    const h = await harness();
    await occupy(h.wsPort);
    await h.sup.start();
    const message = (h.sup.status as { message: string }).message;
    expect(message).toContain(
      `Port ${h.wsPort} (the WebSocket monitor port) is in use by PID ${process.pid}`,
    );
    expect(message).toContain('set daemon.wsPort to a free port');
  });
});

describe('no strays after an exit', () => {
  async function launcher(detach: boolean) {
    const w = await wrapperHarness(join(FIXTURES, 'forking-launcher.mjs'), {
      env: { DETACH: detach ? '1' : '0' },
    });
    await w.h.sup.start();
    const pids = w.pids() as { launcher: number; daemon: number };
    track(pids.daemon);
    return { h: w.h, pids, port: w.port };
  }

  it('an exit 0 nobody asked for still sweeps the process group: the forked child does not survive', async () => {
    const { h, pids } = await launcher(false);
    await waitFor(() => !isAlive(pids.launcher), 'the launcher to exit', 5000);
    await waitForPidGone(pids.daemon, 5000);
    await waitFor(() => h.sup.status.state === 'stopped', 'stopped', 5000);
  });

  it('a forked child outside the group that keeps the port is reported by PID, and a stop ends it', async () => {
    const { h, pids, port } = await launcher(true);
    await waitFor(() => h.sup.status.state === 'failed', 'failed', 8000);
    const message = (h.sup.status as { message: string }).message;
    expect(message).toContain(`PID ${pids.daemon}`);
    expect(message).toContain(`still holds port ${port}`);
    expect(isAlive(pids.daemon)).toBe(true);
    const r = await h.sup.stop();
    expect(r.ok).toBe(true);
    await waitForPidGone(pids.daemon, 5000);
    expect(h.sup.status.state).toBe('stopped');
  });
});

describe('messages', () => {
  it('after a hang kill: Luna Tray killed it because it stopped answering (not "killed by SIGKILL")', async () => {
    const h = await harness({
      daemon: {
        args: ['--hang-after', '0.5', '--models-after', '-1'],
        restart: { restartUnresponsive: true },
      },
    });
    await h.sup.start();
    await waitFor(() => h.states.includes('backoff'), 'backoff after the hang kill', 10_000);
    expect(h.sup.lastExit?.cause).toBe('unresponsive');
    expect(describeExit(h.sup.lastExit!)).toBe(
      'Luna Tray killed the daemon because it stopped answering (SIGKILL)',
    );
    expect(h.logText()).toContain('Luna Tray killed the daemon because it stopped answering');
  });

  it('PyTorch missing: names the interpreter and how to set daemon.command', () => {
    const { message } = classifyEarlyExit(
      { code: 1, signal: null, at: 0, stderrTail: ["ModuleNotFoundError: No module named 'torch'"] },
      { command: '/usr/bin/python3' },
    );
    expect(message).toContain('/usr/bin/python3');
    expect(message).toContain('luna-tray config set daemon.command');
  });
});
