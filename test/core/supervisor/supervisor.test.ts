import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import getPort from 'get-port';
import { describe, expect, it } from 'vitest';

import { LunaClient } from '../../../src/core/daemon/luna-client.js';
import { isAlive, sleep, track, waitFor, waitForPidGone } from '../../helpers/processes.js';
import { spawnSim } from '../../helpers/sim.js';
import { cleanupDir, forgetHarness, harness, wrapperHarness, type Harness } from './harness.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/processes/', import.meta.url));

const stateOf = (h: Harness) => h.sup.status.state;

describe('Supervisor with the simulator', () => {
  it('start → running as soon as the daemon answers; stop → exit 0 through the protocol', async () => {
    const h = await harness();
    const r = await h.sup.start();
    expect(r).toMatchObject({ ok: true });
    expect(h.sup.status).toMatchObject({ state: 'running', adopted: false, generation: 'current' });
    const pid = h.sup.pid!;
    expect(isAlive(pid)).toBe(true);
    expect(h.states).toEqual(['starting', 'starting', 'running']);
    // The PID file proves ownership for a later run.
    expect(JSON.parse(readFileSync(join(h.dataDir, 'daemon.pid.json'), 'utf8'))).toMatchObject({ pid });

    const s = await h.sup.stop();
    expect(s).toEqual({ ok: true, message: 'The Luna daemon stopped gracefully.' });
    expect(h.sup.status).toMatchObject({ state: 'stopped', reason: 'user' });
    expect(h.sup.lastExit?.code).toBe(0);
    expect(isAlive(pid)).toBe(false);
    expect(h.logText()).toContain('Shutdown command received');
  });

  it('refreshes info (models, VRAM) while running', async () => {
    const h = await harness({ daemon: { args: ['--models-after', '0.2'] } });
    await h.sup.start();
    await waitFor(() => (h.sup.info?.models.length ?? 0) > 0, 'models to appear', 8000);
    expect(h.sup.info!.vram.length).toBeGreaterThan(0);
    const unload = await h.sup.unload();
    expect(unload).toMatchObject({ ok: true, message: 'Unloaded: CLIP' });
    await waitFor(() => h.sup.info?.models.length === 0, 'models to vanish', 8000);
  });

  it('SIGKILL of the daemon → backoff, then running again with restarts incremented', async () => {
    const h = await harness();
    await h.sup.start();
    const first = h.sup.pid!;
    process.kill(first, 'SIGKILL');
    await waitFor(() => stateOf(h) === 'backoff', 'backoff');
    expect(h.sup.status).toMatchObject({ state: 'backoff', lastExit: { signal: 'SIGKILL' } });
    await waitFor(() => stateOf(h) === 'running', 'running again', 10_000);
    expect(h.sup.restarts).toBe(1);
    expect(h.sup.pid).not.toBe(first);
  });

  it('repeated --crash-after → failed (crash loop) with the reason', async () => {
    const h = await harness({ daemon: { args: ['--crash-after', '0.3'] } });
    await h.sup.start();
    await waitFor(() => stateOf(h) === 'failed', 'crash loop', 20_000);
    expect(h.sup.status).toMatchObject({ state: 'failed', kind: 'crash-loop' });
    expect((h.sup.status as { message: string }).message).toMatch(
      /Crash loop: the daemon exited 3 times in a row/,
    );
    expect(h.sup.restarts).toBe(2);
    expect(h.states.filter((s) => s === 'backoff')).toHaveLength(2);
  });

  it('--hang-after → unresponsive, then (policy) killed and restarted', async () => {
    const h = await harness({ daemon: { args: ['--hang-after', '0.5'] } });
    await h.sup.start();
    const pid = h.sup.pid!;
    await waitFor(() => h.states.includes('unresponsive'), 'unresponsive', 10_000);
    await waitFor(() => h.sup.restarts === 1 && stateOf(h) === 'running', 'restart after hang', 15_000);
    expect(isAlive(pid)).toBe(false);
  });

  it('SIGSTOP → unresponsive and stays so when the policy does not restart; SIGCONT → running', async () => {
    const h = await harness({ daemon: { restart: { restartUnresponsive: false } } });
    await h.sup.start();
    const pid = h.sup.pid!;
    process.kill(pid, 'SIGSTOP');
    await waitFor(() => stateOf(h) === 'unresponsive', 'unresponsive', 10_000);
    await sleep(600);
    expect(stateOf(h)).toBe('unresponsive');
    process.kill(pid, 'SIGCONT');
    await waitFor(() => stateOf(h) === 'running', 'running after SIGCONT', 10_000);
    expect(h.sup.pid).toBe(pid);
  });

  it('--ignore-shutdown → forced kill; nothing survives', async () => {
    const h = await harness({ daemon: { args: ['--ignore-shutdown'], stopGraceSec: 0.5 } });
    await h.sup.start();
    const pid = h.sup.pid!;
    const r = await h.sup.stop();
    expect(r).toEqual({ ok: true, message: 'The Luna daemon stopped forcibly.' });
    expect(h.states).toContain('stopping');
    expect(isAlive(pid)).toBe(false);
    expect(h.logText()).toContain('Sending SIGTERM');
  });

  it('a wrapper that spawns a grandchild: nothing of the tree survives stop (checked by PID)', async () => {
    const { h, pids: readPids } = await wrapperHarness(join(FIXTURES, 'wrapper-with-grandchild.mjs'), {
      daemon: { stopGraceSec: 1 },
    });
    await h.sup.start();
    expect(stateOf(h)).toBe('running');
    const pids = readPids();
    for (const p of Object.values(pids)) track(p);
    expect(Object.values(pids).every(isAlive)).toBe(true);
    await h.sup.stop();
    expect(stateOf(h)).toBe('stopped');
    for (const [name, p] of Object.entries(pids)) {
      await waitForPidGone(p, 3000).catch(() => {
        throw new Error(`${name} (PID ${p}) survived the stop`);
      });
    }
  });

  it('a foreign listener on the port → failed with a clear reason, and no spawn', async () => {
    const port = await getPort();
    const foreign = spawn(process.execPath, [join(FIXTURES, 'foreign-listener.mjs'), String(port)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    track(foreign.pid);
    await new Promise((r) => foreign.stdout.once('data', r));
    const h = await harness({ daemon: { port } });
    const r = await h.sup.start();
    expect(r.ok).toBe(false);
    expect(h.sup.status).toMatchObject({ state: 'failed', kind: 'port-conflict' });
    const message = (h.sup.status as { message: string }).message;
    expect(message).toContain(`Port ${port}`);
    expect(message).toContain(`PID ${foreign.pid} (node)`);
    expect(h.states).not.toContain('running');
    expect(h.sup.pid).toBeNull();
  });

  it('a busy WebSocket port is named before spawning (the daemon binds it first)', async () => {
    const wsPort = await getPort();
    const foreign = spawn(process.execPath, [join(FIXTURES, 'foreign-listener.mjs'), String(wsPort)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    track(foreign.pid);
    await new Promise((r) => foreign.stdout.once('data', r));
    const h = await harness({ daemon: { wsPort } });
    await h.sup.start();
    expect(h.sup.status).toMatchObject({ state: 'failed', kind: 'port-conflict' });
    expect((h.sup.status as { message: string }).message).toContain(
      `Port ${wsPort} (the WebSocket monitor port)`,
    );
  });

  it('a daemon started outside is adopted, never duplicated; stop uses the protocol', async () => {
    const sim = await spawnSim();
    const h = await harness({ daemon: { port: sim.port, wsPort: sim.wsPort } });
    const r = await h.sup.start();
    expect(r.ok).toBe(true);
    expect(h.sup.status).toMatchObject({ state: 'running', adopted: true, pid: sim.pid });
    expect(h.logText()).toContain('no second daemon was started');
    await h.sup.stop();
    const exit = await sim.exited;
    expect(exit.code).toBe(0);
    expect(stateOf(h)).toBe('stopped');
  });

  it('an early exit → failed with the exit code and the last stderr lines', async () => {
    const h = await harness({ daemon: { args: ['--crash-at-start', '1'] } });
    const r = await h.sup.start();
    expect(r.ok).toBe(false);
    expect(h.sup.status).toMatchObject({ state: 'failed', kind: 'start-failed', lastExit: { code: 1 } });
    const st = h.sup.status as { message: string; lastExit: { stderrTail: string[] } };
    expect(st.message).toMatch(/No module named 'comfy'.*comfyui\.path/);
    expect(st.lastExit.stderrTail.join('\n')).toContain('ModuleNotFoundError');
  });

  it('a missing Python → failed with an actionable message', async () => {
    const h = await harness({
      daemon: { profile: 'custom', command: '/nonexistent/venv/bin/python3', args: ['daemon_server.py'] },
    });
    await h.sup.start();
    expect(h.sup.status).toMatchObject({ state: 'failed', kind: 'missing-python' });
    expect((h.sup.status as { message: string }).message).toContain('/nonexistent/venv/bin/python3');
  });

  it('a missing daemon script (ComfyUI folder without the Luna collection) → failed missing-script', async () => {
    const comfy = mkdtempSync(join(tmpdir(), 'luna-comfy-'));
    cleanupDir(comfy);
    const h = await harness({ daemon: { profile: 'comfyui', command: '' }, comfyui: { path: comfy } });
    await h.sup.start();
    expect(h.sup.status.state).toBe('failed');
    expect(['missing-script', 'missing-python']).toContain((h.sup.status as { kind: string }).kind);
    expect((h.sup.status as { message: string }).message).toMatch(/Luna|Python/);
  });

  it('an exit 0 we did not ask for (shutdown from outside) → stopped, not restarted', async () => {
    const h = await harness();
    await h.sup.start();
    await new LunaClient({ host: '127.0.0.1', port: h.port }).shutdown();
    await waitFor(() => stateOf(h) === 'stopped', 'stopped');
    expect(h.sup.status).toMatchObject({ state: 'stopped', reason: 'external-shutdown' });
    await sleep(400);
    expect(stateOf(h)).toBe('stopped');
    expect(h.sup.restarts).toBe(0);
  });

  it('a stop during a slow start cancels it promptly and leaves no process', async () => {
    const h = await harness({ daemon: { args: ['--startup-delay', '10'] } });
    const start = h.sup.start();
    await waitFor(() => h.sup.pid !== null, 'spawned');
    const pid = h.sup.pid!;
    const t0 = Date.now();
    const stop = await h.sup.stop();
    expect(stop.ok).toBe(true);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect((await start).ok).toBe(false);
    expect(stateOf(h)).toBe('stopped');
    expect(isAlive(pid)).toBe(false);
  });

  it('a stop right after a start cancels the queued start: both resolve, nothing is spawned', async () => {
    const h = await harness({ daemon: { args: ['--startup-delay', '10'] } });
    for (let i = 0; i < 5; i++) {
      const start = h.sup.start();
      const stop = await h.sup.stop();
      expect(stop.ok).toBe(true);
      const started = await start;
      expect(started.ok, started.message).toBe(false);
      expect(stateOf(h)).toBe('stopped');
      expect(h.sup.pid).toBeNull();
    }
  });

  it('a stop while the pre-flight probe waits on a silent port: the start resolves (never rejects)', async () => {
    const silent = createServer((s) => s.on('error', () => undefined));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as AddressInfo).port;
    try {
      const h = await harness({ daemon: { port } });
      const start = h.sup.start();
      await waitFor(() => stateOf(h) === 'starting', 'starting');
      await sleep(100);
      const stop = await h.sup.stop();
      expect(stop.ok).toBe(true);
      await expect(start).resolves.toMatchObject({
        ok: false,
        message: 'The start was cancelled by a stop.',
      });
      expect(stateOf(h)).toBe('stopped');
    } finally {
      silent.close();
    }
  });

  it('the supervisor gone while the daemon runs → the next one adopts it through the PID file', async () => {
    const a = await harness();
    await a.sup.start();
    const pid = a.sup.pid!;
    // Supervisor A "dies": it keeps the daemon running and forgets it.
    await a.sup.dispose({ keepDaemon: true });
    forgetHarness(a);
    const b = await harness({}, { dataDir: a.dataDir, port: a.port, wsPort: a.wsPort });
    await b.sup.start();
    expect(b.sup.status).toMatchObject({ state: 'running', adopted: true, pid });
    expect(b.logText()).toContain('our daemon from an earlier run');
    // Provably ours: a hang is handled by killing it (not possible for a foreign daemon).
    await b.sup.stop();
    expect(isAlive(pid)).toBe(false);
  });

  it('re-applies the device settings after every start (docs/daemon-protocol.md §15 problem 13)', async () => {
    const h = await harness({ daemon: { devices: { clip: 'cpu', llm: 'cuda:0' } } });
    await h.sup.start();
    await waitFor(
      () => h.sup.info?.devices.clip === 'cpu' && h.sup.info.devices.llm === 'cuda:0',
      'devices applied',
      8000,
    );
    process.kill(h.sup.pid!, 'SIGKILL');
    await waitFor(() => h.sup.restarts === 1 && stateOf(h) === 'running', 'restart', 10_000);
    await waitFor(() => h.logText().split('Set the CLIP device to cpu').length === 3, 'applied twice', 8000);
    await waitFor(() => h.sup.info?.devices.clip === 'cpu', 'the new daemon reports cpu', 8000);
    expect(h.logText()).not.toContain('two daemons may be sharing the port');
  });

  it('the legacy generation is detected and supervised', async () => {
    const h = await harness({ daemon: { args: ['--legacy'] } });
    await h.sup.start();
    expect(h.sup.status).toMatchObject({ state: 'running', generation: 'legacy' });
    const check = await h.sup.check();
    expect(check.message).toContain('legacy protocol');
    await h.sup.stop();
    expect(h.sup.lastExit?.code).toBe(0);
  });
});
