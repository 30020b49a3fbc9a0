import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import getPort from 'get-port';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createLunaCore } from '../../../src/core/app/luna-core.js';
import { MemorySettingsStore } from '../../../src/core/settings/memory-settings-store.js';
import type { DaemonState } from '../../../src/shared/daemon-status.js';
import { isAlive, killAllTracked, track, waitFor } from '../../helpers/processes.js';
import { SIM_PATH } from '../../helpers/sim.js';

/**
 * Two daemons at once, as the "Split CLIP + VAE (legacy generation)" preset runs them: two legacy
 * simulators with --service-type clip|vae on free ports, each with its own restart policy. One's
 * stop or crash must never restart, stop or recolour the other; each is adopted back by its own
 * port and PID file (docs/multi-daemon.md).
 */
type Core = Awaited<ReturnType<typeof createLunaCore>>;
let dataDir: string;
let store: MemorySettingsStore;
const cores: Core[] = [];

const simArgs = (type: string) => [
  '--legacy',
  '--service-type',
  type,
  '--startup-delay',
  '0',
  '--models-after',
  '-1',
];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'luna-multi-'));
  const [clipPort, clipWs, vaePort] = [await getPort(), await getPort(), await getPort()];
  const common = {
    profile: 'simulator',
    generation: 'legacy',
    startTimeoutSec: 15,
    stopGraceSec: 2,
    killTimeoutSec: 1,
    health: { intervalSec: 0.2, failuresBeforeUnresponsive: 2, pingTimeoutMs: 500, infoIntervalSec: 0.5 },
  };
  store = new MemorySettingsStore({
    daemons: [
      // CLIP never restarts; VAE does: each daemon has its own policy.
      {
        ...common,
        id: 'clip',
        name: 'CLIP',
        port: clipPort,
        wsPort: clipWs,
        args: simArgs('clip'),
        restart: { enabled: false },
      },
      {
        ...common,
        id: 'vae',
        name: 'VAE',
        port: vaePort,
        wsPort: 0,
        args: simArgs('vae'),
        restart: { initialDelayMs: 100 },
      },
    ],
  });
});

afterAll(async () => {
  for (const c of cores) await c.dispose({ keepDaemon: false });
  killAllTracked();
  rmSync(dataDir, { recursive: true, force: true });
});

async function newCore(): Promise<Core> {
  const core = await createLunaCore({
    dataDir,
    settingsStore: store,
    simulatorPath: SIM_PATH,
    gpu: { nvidiaSmi: '/nonexistent/nvidia-smi', sysfsRoot: dataDir },
  });
  cores.push(core);
  return core;
}

/** Every state a daemon passes through from now on. */
function record(core: Core, id: string): DaemonState[] {
  const seen: DaemonState[] = [];
  core.fleet.get(id)!.supervisor.on('status', (s) => seen.push(s.state));
  return seen;
}

const pidOf = (core: Core, id: string): number => {
  const s = core.fleet.get(id)!.supervisor.status;
  if (!('pid' in s) || s.pid === null) throw new Error(`${id} has no PID (${s.state})`);
  return s.pid;
};
const stateOf = (core: Core, id: string) => core.fleet.get(id)!.supervisor.status.state;

describe('several daemons: a legacy split pair', () => {
  let core: Core;

  it('starts both with one call, each answering as its own service type', async () => {
    core = await newCore();
    const r = await core.handlers['daemons:act']({ action: 'start' });
    expect(r.ok && r.value.results.map((x) => [x.id, x.ok])).toEqual([
      ['clip', true],
      ['vae', true],
    ]);
    for (const id of ['clip', 'vae']) track(pidOf(core, id));
    await waitFor(
      () => core.fleet.get('vae')!.supervisor.info?.serviceType === 'vae',
      'the expected state',
      10_000,
    );
    await waitFor(
      () => core.fleet.get('clip')!.supervisor.info?.serviceType === 'clip',
      'the expected state',
      10_000,
    );
    const list = await core.handlers['daemons:list']({});
    expect(list.ok && list.value.daemons.map((d) => [d.id, d.state, d.color])).toEqual([
      ['clip', 'running', 'green'],
      ['vae', 'running', 'green'],
    ]);
    // Own PID file and log file per daemon.
    for (const id of ['clip', 'vae']) {
      expect(existsSync(join(dataDir, `daemon-${id}.pid.json`))).toBe(true);
      expect(existsSync(join(dataDir, 'logs', `${id}.log`))).toBe(true);
    }
    // Log entries are tagged with their daemon.
    const entries = core.store.since(0).entries;
    expect(entries.some((e) => e.daemon === 'vae' && /Service type: vae/.test(e.text))).toBe(true);
    expect(entries.some((e) => e.daemon === 'clip' && /Service type: clip/.test(e.text))).toBe(true);
  });

  it('each is adopted back by its own port and PID file after Luna Tray restarts', async () => {
    const pids = { clip: pidOf(core, 'clip'), vae: pidOf(core, 'vae') };
    await core.dispose({ keepDaemon: true });
    expect(isAlive(pids.clip) && isAlive(pids.vae)).toBe(true);
    core = await newCore();
    core.autoStart(60_000);
    await waitFor(
      () => stateOf(core, 'clip') === 'running' && stateOf(core, 'vae') === 'running',
      'the expected state',
      10_000,
    );
    expect({ clip: pidOf(core, 'clip'), vae: pidOf(core, 'vae') }).toEqual(pids);
  });

  it('stopping one never touches the other', async () => {
    const clipPid = pidOf(core, 'clip');
    const clipStates = record(core, 'clip');
    const r = await core.handlers['daemon:stop']({ daemon: 'vae' });
    expect(r.ok).toBe(true);
    expect(stateOf(core, 'vae')).toBe('stopped');
    expect(stateOf(core, 'clip')).toBe('running');
    expect(pidOf(core, 'clip')).toBe(clipPid);
    expect(clipStates).toEqual([]);
  });

  it('a crash of one is handled by its own policy and never restarts or recolours the other', async () => {
    expect((await core.handlers['daemon:start']({ daemon: 'vae' })).ok).toBe(true);
    const vaePid = pidOf(core, 'vae');
    track(vaePid);
    const clipPid = pidOf(core, 'clip');
    const clipStates = record(core, 'clip');
    const vaeStates = record(core, 'vae');
    // VAE crashes: it restarts (its policy) and CLIP sees nothing.
    process.kill(vaePid, 'SIGKILL');
    await waitFor(
      () => vaeStates.includes('backoff') && stateOf(core, 'vae') === 'running',
      'the expected state',
      15_000,
    );
    expect(pidOf(core, 'vae')).not.toBe(vaePid);
    track(pidOf(core, 'vae'));
    expect(clipStates).toEqual([]);
    expect(pidOf(core, 'clip')).toBe(clipPid);
    // CLIP crashes: restart is off for it, so it fails and stays down; VAE keeps running.
    const vaeNow = pidOf(core, 'vae');
    const vaeAfter = record(core, 'vae');
    process.kill(clipPid, 'SIGKILL');
    await waitFor(() => stateOf(core, 'clip') === 'failed', 'the expected state', 10_000);
    const list = await core.handlers['daemons:list']({});
    expect(list.ok && list.value.daemons.map((d) => [d.id, d.color])).toEqual([
      ['clip', 'red'],
      ['vae', 'green'],
    ]);
    expect(vaeAfter).toEqual([]);
    expect(pidOf(core, 'vae')).toBe(vaeNow);
  });

  it('an unknown or disabled daemon is named in the answer', async () => {
    const unknown = await core.handlers['daemon:start']({ daemon: 'nope' });
    expect(!unknown.ok && unknown.error).toMatchObject({ code: 'not-found' });
    expect(!unknown.ok && unknown.error.message).toMatch(/the daemons are clip, vae/);
    expect(store.update({ daemons: { 0: { enabled: false } } }).ok).toBe(true);
    await waitFor(() => core.fleet.get('clip') === null, 'the expected state', 5_000);
    const disabled = await core.handlers['daemon:start']({ daemon: 'clip' });
    expect(!disabled.ok && disabled.error.message).toMatch(/disabled.*daemons\.0\.enabled true/);
    expect(stateOf(core, 'vae')).toBe('running');
  });
});
