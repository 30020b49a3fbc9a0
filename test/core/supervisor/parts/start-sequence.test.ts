import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import getPort from 'get-port';
import { afterEach, describe, expect, it } from 'vitest';

import type { ExitRecord } from '../../../../src/shared/daemon-status.js';
import {
  defaultSettings,
  settingsForDaemon,
  type DaemonConfig,
} from '../../../../src/shared/settings-schema.js';
import { createLogCapture } from '../../../../src/core/logs/log-capture.js';
import { LogStore } from '../../../../src/core/logs/log-store.js';
import { endpointOf } from '../../../../src/core/supervisor/endpoint.js';
import { wireChild, type OwnedChild } from '../../../../src/core/supervisor/owned-child.js';
import { PidFile } from '../../../../src/core/supervisor/pid-file.js';
import {
  LaunchError,
  nodeProcessLauncher,
  type LaunchSpec,
  type ProcessLauncher,
} from '../../../../src/core/supervisor/process-launcher.js';
import { runStartSequence } from '../../../../src/core/supervisor/start-sequence.js';
import { killAllTracked, track, waitFor } from '../../../helpers/processes.js';
import { pythonExecutable } from '../../../helpers/python.js';
import { SIM_PATH, spawnSim } from '../../../helpers/sim.js';

afterEach(() => killAllTracked());

/** Launches `script` under node instead of what the profile asks for; records the specs. */
function nodeScript(script: string): { launcher: ProcessLauncher; specs: LaunchSpec[] } {
  const specs: LaunchSpec[] = [];
  const launcher: ProcessLauncher = {
    launch: (spec) => {
      specs.push(spec);
      const proc = nodeProcessLauncher.launch({ ...spec, command: process.execPath, args: ['-e', script] });
      track(proc.pid);
      return proc;
    },
  };
  return { launcher, specs };
}

async function attempt(o: {
  launcher: ProcessLauncher;
  auto?: boolean;
  signal?: AbortSignal;
  daemon?: Partial<DaemonConfig>;
  lastExit?: ExitRecord;
  onTake?: () => void;
}) {
  const base = settingsForDaemon(defaultSettings())!;
  const port = o.daemon?.port ?? (await getPort());
  const wsPort = o.daemon?.wsPort ?? (await getPort());
  const settings = {
    ...base,
    daemon: {
      ...base.daemon,
      profile: 'simulator' as const,
      command: pythonExecutable(),
      args: ['--startup-delay', '0'],
      startTimeoutSec: 15,
      ...o.daemon,
      port,
      wsPort,
    },
  };
  const dataDir = mkdtempSync(join(tmpdir(), 'luna-start-seq-'));
  const store = new LogStore({ capacity: 500 });
  const capture = createLogCapture({ store });
  const pidFile = new PidFile(join(dataDir, 'daemon.pid.json'));
  const taken: OwnedChild[] = [];
  const result = await runStartSequence({
    settings,
    endpoint: endpointOf(settings),
    auto: o.auto ?? false,
    signal: o.signal ?? new AbortController().signal,
    pidFile,
    dataDir,
    simulatorPath: SIM_PATH,
    launcher: o.launcher,
    store,
    now: () => 7,
    log: (level, text) => void capture.supervisor(level, text),
    takeChild: (proc) => {
      const child = wireChild(proc, taken.length + 1, { store, capture, now: () => 7 });
      taken.push(child);
      o.onTake?.();
      return child;
    },
    lastExit: () => o.lastExit ?? null,
    conflict: async (p) => `port ${p} is held`,
  });
  return { result, taken, pidFile, port };
}

describe('the start sequence (adoption, pre-flight, spawn, readiness)', () => {
  it('the OS refusing the interpreter is a missing Python; nothing is handed over', async () => {
    const launcher: ProcessLauncher = {
      launch: () => {
        throw new LaunchError('could not start', 'ENOENT');
      },
    };
    const { result, taken } = await attempt({ launcher });
    expect(result).toMatchObject({ kind: 'failed', failure: 'missing-python' });
    expect((result as { message: string }).message).toMatch(/file not found.*daemon\.command/);
    expect(taken).toHaveLength(0);
  });

  it('an exit before readiness: explained with its exit record on a user start, handed to the restart policy on an automatic one', async () => {
    const user = await attempt({ launcher: nodeScript('process.exit(3)').launcher });
    expect(user.result).toMatchObject({ kind: 'failed', failure: 'start-failed', lastExit: { code: 3 } });
    expect(user.taken).toHaveLength(1);

    const auto = await attempt({ launcher: nodeScript('process.exit(3)').launcher, auto: true });
    expect(auto.result).toMatchObject({ kind: 'exited', exit: { code: 3 } });
  });

  it('a stop while it waits for the first answer cancels the wait (the spawned child is already handed over)', async () => {
    const { launcher } = nodeScript('setTimeout(() => {}, 60_000)');
    const stop = new AbortController();
    const started = Date.now();
    const { result, taken } = await attempt({ launcher, signal: stop.signal, onTake: () => stop.abort() });
    expect(result).toEqual({ kind: 'aborted' });
    expect(taken).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(10_000); // not the 15 s start timeout
  });

  it('no answer within startTimeoutSec: the process is killed and the recorded exit is carried', async () => {
    const { launcher } = nodeScript('setTimeout(() => {}, 60_000)');
    const lastExit: ExitRecord = { code: null, signal: 'SIGKILL', at: 7, stderrTail: [] };
    const { result, taken } = await attempt({ launcher, daemon: { startTimeoutSec: 0.5 }, lastExit });
    expect(result).toMatchObject({ kind: 'failed', failure: 'start-timeout', lastExit });
    expect(await taken[0]!.exit).toMatchObject({ signal: 'SIGKILL' });
  });

  it('a Luna daemon already on the port is adopted instead of launching a second one', async () => {
    const sim = await spawnSim();
    const { launcher, specs } = nodeScript('process.exit(9)');
    const { result } = await attempt({ launcher, daemon: { port: sim.port, wsPort: sim.wsPort } });
    expect(result).toMatchObject({ kind: 'adopt', generation: 'current', owned: false });
    expect(specs).toHaveLength(0);
    await sim.kill();
  });

  it('the simulator profile launches, answers and is recorded in the PID file', async () => {
    const launcher: ProcessLauncher = {
      launch: (spec) => {
        const proc = nodeProcessLauncher.launch(spec);
        track(proc.pid);
        return proc;
      },
    };
    const { result, pidFile, port } = await attempt({ launcher });
    expect(result).toMatchObject({ kind: 'ready', generation: 'current' });
    const pid = (result as { child: OwnedChild }).child.proc.pid;
    const record = await waitFor(() => pidFile.read(), 'the PID file', 5_000);
    expect(record).toMatchObject({ pid, port, startedAt: 7 });
  });
});
