import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import getPort from 'get-port';
import { afterEach } from 'vitest';

import type { DaemonStatus } from '../../../src/shared/daemon-status.js';
import {
  defaultSettings,
  mergeSettings,
  settingsSchema,
  type Settings,
  firstDaemon,
} from '../../../src/shared/settings-schema.js';
import type { LogStore } from '../../../src/core/logs/log-store.js';
import type { Supervisor } from '../../../src/core/supervisor/supervisor.js';
import { pythonExecutable } from '../../helpers/python.js';
import { killAllTracked, track } from '../../helpers/processes.js';
import { SIM_PATH } from '../../helpers/sim.js';
import { buildSupervisor } from '../../helpers/supervisor-fixture.js';

/** A supervisor of the simulator on free ports with fast timings, cleaned up after each test. */
export interface Harness {
  sup: Supervisor;
  store: LogStore;
  states: DaemonStatus['state'][];
  readonly settings: Settings;
  dataDir: string;
  port: number;
  wsPort: number;
  logText: () => string;
  /** Change the settings the supervisor reads from now on (as `config set` would). */
  update: (patch: Record<string, unknown>) => void;
}

const harnesses: Harness[] = [];
const dirs: string[] = [];

/** Remove this directory after the test. */
export function cleanupDir(dir: string): void {
  dirs.push(dir);
}

/** The test disposed this harness itself: do not dispose it again after the test. */
export function forgetHarness(h: Harness): void {
  harnesses.splice(harnesses.indexOf(h), 1);
}

afterEach(async () => {
  for (const h of harnesses.splice(0)) {
    await h.sup.dispose({ keepDaemon: false }).catch(() => undefined);
  }
  killAllTracked();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A supervisor on free ports with fast timings; `patch` overrides settings. */
export async function harness(
  patch: Record<string, unknown> = {},
  reuse?: { dataDir: string; port: number; wsPort: number },
  identity: { id?: string; label?: string } = {},
): Promise<Harness> {
  const port = reuse?.port ?? (await getPort());
  const wsPort = reuse?.wsPort ?? (await getPort());
  const dataDir = reuse?.dataDir ?? mkdtempSync(join(tmpdir(), 'luna-sup-'));
  if (!reuse) dirs.push(dataDir);
  const base = mergeSettings(defaultSettings(), {
    daemon: {
      profile: 'simulator',
      command: pythonExecutable(),
      port,
      wsPort,
      startTimeoutSec: 15,
      stopGraceSec: 3,
      killTimeoutSec: 1,
      restart: { initialDelayMs: 100, maxDelayMs: 400, stableAfterSec: 30, maxQuickCrashes: 3 },
      health: { intervalSec: 0.2, failuresBeforeUnresponsive: 2, pingTimeoutMs: 300, infoIntervalSec: 0.5 },
    },
  });
  const merged = settingsSchema.parse(mergeSettings(base as Settings, patch));
  // Skip the simulator's ~1 s start-up delay for speed; a test's own --startup-delay comes later and wins.
  const first = firstDaemon(merged);
  const settings =
    first.profile === 'simulator'
      ? { ...merged, daemons: [{ ...first, args: ['--startup-delay', '0', ...first.args] }] }
      : merged;
  const rig = buildSupervisor({
    settings,
    dataDir,
    simulatorPath: SIM_PATH,
    storeCapacity: 5000,
    ...(identity.id ? { id: identity.id } : {}),
    ...(identity.label !== undefined ? { label: identity.label } : {}),
    onPid: (pid, s) => {
      if (!(s.state === 'running' && s.adopted)) track(pid);
    },
  });
  const h: Harness = {
    sup: rig.sup,
    store: rig.store,
    states: rig.states,
    get settings() {
      return rig.settings;
    },
    dataDir,
    port,
    wsPort,
    update: rig.update,
    logText: rig.logText,
  };
  harnesses.push(h);
  return h;
}

/**
 * A supervisor whose daemon command is a Node fixture wrapping the simulator
 * (`node <fixture> <python> <sim> --port P --ws-port W …`); the fixture writes its PIDs to $PIDS_FILE.
 */
export async function wrapperHarness(
  fixture: string,
  opts: { env?: Record<string, string>; daemon?: Record<string, unknown> } = {},
): Promise<{ h: Harness; port: number; wsPort: number; pids: () => Record<string, number> }> {
  const dir = mkdtempSync(join(tmpdir(), 'luna-pids-'));
  cleanupDir(dir);
  const pidsFile = join(dir, 'pids.json');
  const port = await getPort();
  const wsPort = await getPort();
  const h = await harness({
    daemon: {
      profile: 'custom',
      command: process.execPath,
      args: [
        fixture,
        pythonExecutable(),
        SIM_PATH,
        '--port',
        String(port),
        '--ws-port',
        String(wsPort),
        '--startup-delay',
        '0',
        '--models-after',
        '-1',
      ],
      port,
      wsPort,
      env: { PIDS_FILE: pidsFile, ...opts.env },
      ...opts.daemon,
    },
  });
  const pids = () => JSON.parse(readFileSync(pidsFile, 'utf8')) as Record<string, number>;
  return { h, port, wsPort, pids };
}
