/**
 * What the panel and CLI see of the daemon through the core (the snapshot): a daemon already running
 * at start-up, and "restart to apply" after a change of host, ports or command while one runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import getPort from 'get-port';
import { afterEach, describe, expect, it } from 'vitest';

import { defaultSettings, mergeSettings } from '../../../src/shared/settings-schema.js';
import { createLunaCore } from '../../../src/core/app/luna-core.js';
import { MemorySettingsStore } from '../../../src/core/settings/memory-settings-store.js';
import { isAlive, killAllTracked, waitFor } from '../../helpers/processes.js';
import { pythonExecutable } from '../../helpers/python.js';
import { SIM_PATH, spawnSim } from '../../helpers/sim.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  killAllTracked();
});

async function core(port: number, wsPort: number) {
  const dataDir = mkdtempSync(join(tmpdir(), 'luna-core-'));
  const settingsStore = new MemorySettingsStore(
    mergeSettings(defaultSettings(), {
      daemon: {
        profile: 'simulator',
        command: pythonExecutable(),
        args: ['--startup-delay', '0', '--models-after', '-1'],
        port,
        wsPort,
        autoStart: false,
      },
    }),
  );
  const c = await createLunaCore({ dataDir, settingsStore, simulatorPath: SIM_PATH });
  cleanups.push(async () => {
    await c.dispose({ keepDaemon: false });
    rmSync(dataDir, { recursive: true, force: true });
  });
  return { core: c, settingsStore };
}

describe('the daemon as the panel and CLI see it', () => {
  it('a daemon already answering at start-up is shown running (adopted) at once, without a Start', async () => {
    const sim = await spawnSim({ args: ['--models-after', '-1'] });
    cleanups.push(() => sim.kill());
    const { core: c } = await core(sim.port, sim.wsPort);
    expect(c.snapshot().status.state).toBe('stopped');
    c.autoStart();
    await waitFor(() => c.snapshot().status.state === 'running', 'running', 3000);
    expect(c.snapshot().status).toMatchObject({ adopted: true, pid: sim.pid });
    await c.dispose({ keepDaemon: false });
    // Only found, never started through Luna Tray: left as it was.
    expect(isAlive(sim.pid)).toBe(true);
  });

  it('a port change while the daemon runs: a "restart to apply" warning until the restart', async () => {
    const port = await getPort();
    const { core: c, settingsStore } = await core(port, await getPort());
    await c.supervisor.start();
    const other = await getPort();
    settingsStore.update({ daemon: { port: other } });
    const warning = () => c.snapshot().warnings.find((w) => w.id === 'restart-to-apply')?.message ?? '';
    expect(warning()).toContain(`daemon.port ${port} → ${other}`);
    expect(warning()).toContain('restart the daemon to apply');
    await c.supervisor.restart();
    expect(c.snapshot().status.state).toBe('running');
    expect(warning()).toBe('');
  });
});
