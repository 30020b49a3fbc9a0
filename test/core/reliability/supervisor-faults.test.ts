/**
 * Environmental faults around a real Supervisor and the simulator: the system clock jumping, the
 * port taken between pre-flight and spawn, an unwritable or full log disk, a corrupted settings
 * file. Each must end in a defined state, with a visible reason, and lose nothing already held.
 */
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import getPort from 'get-port';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import {
  defaultSettings,
  mergeSettings,
  settingsSchema,
  type Settings,
  firstDaemon,
} from '../../../src/shared/settings-schema.js';
import type { DaemonSnapshot } from '../../../src/shared/snapshot.js';
import { createLunaCore } from '../../../src/core/app/luna-core.js';
import { loadOrCreateToken } from '../../../src/core/control/auth.js';
import { lunaStatusJson } from '../../../src/core/control/luna-status.js';
import { LunaClient } from '../../../src/core/daemon/luna-client.js';
import { JsonFileSettingsStore } from '../../../src/core/settings/json-file-settings-store.js';
import { MemorySettingsStore } from '../../../src/core/settings/memory-settings-store.js';
import { nodeProcessLauncher, type ProcessLauncher } from '../../../src/core/supervisor/process-launcher.js';
import { sleep, waitFor } from '../../helpers/processes.js';
import { SIM_PATH } from '../../helpers/sim.js';
import { killAll, realPythonExecutable, simsOnPort } from './proc-scan.js';
import { buildSupervisor } from '../../helpers/supervisor-fixture.js';

const rejections: unknown[] = [];
const onRejection = (e: unknown) => rejections.push(e);
beforeAll(() => {
  process.on('unhandledRejection', onRejection);
});
afterAll(() => {
  process.off('unhandledRejection', onRejection);
  expect(rejections).toEqual([]);
});

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** Daemon settings running the simulator through the real interpreter on `port`. */
function simSettings(port: number, extraArgs: string[] = [], patch: Record<string, unknown> = {}): Settings {
  return settingsSchema.parse(
    mergeSettings(
      mergeSettings(defaultSettings(), {
        daemon: {
          profile: 'custom',
          command: realPythonExecutable(),
          args: [
            SIM_PATH,
            '--port',
            String(port),
            '--ws-port',
            '0',
            '--startup-delay',
            '0',
            '--models-after',
            '-1',
            ...extraArgs,
          ],
          port,
          wsPort: 0,
          startTimeoutSec: 10,
          stopGraceSec: 1,
          killTimeoutSec: 0.5,
          restart: { initialDelayMs: 20, maxDelayMs: 200, stableAfterSec: 1, maxQuickCrashes: 2 },
          health: {
            intervalSec: 0.1,
            failuresBeforeUnresponsive: 2,
            pingTimeoutMs: 300,
            infoIntervalSec: 0.5,
          },
        },
      }) as Settings,
      patch,
    ),
  );
}

/** A Supervisor with an injectable wall clock and launcher; disposed (and its port swept) after the test. */
function supervisor(settings: Settings, extra: { now?: () => number; launcher?: ProcessLauncher } = {}) {
  const dataDir = tempDir('luna-faults-');
  const { sup, store, states } = buildSupervisor({
    settings,
    dataDir,
    simulatorPath: SIM_PATH,
    storeCapacity: 5000,
    extra,
  });
  cleanups.push(async () => {
    await sup.dispose({ keepDaemon: false }).catch(() => undefined);
    killAll(simsOnPort(firstDaemon(settings).port));
  });
  return {
    sup,
    store,
    states,
    text: () =>
      store
        .since(0)
        .entries.map((e) => e.text)
        .join('\n'),
  };
}

const HOUR = 3_600_000;

describe('the system clock jumps', () => {
  it('forward by hours during a slow start: the start still waits for readiness (no false start timeout)', async () => {
    const port = await getPort();
    let offset = 0;
    const { sup } = supervisor(
      simSettings(port, ['--startup-delay', '0.8'], { daemon: { startTimeoutSec: 5 } }),
      { now: () => Date.now() + offset },
    );
    const start = sup.start();
    await waitFor(() => sup.pid !== null, 'spawned');
    offset += 5 * HOUR;
    const r = await start;
    expect(r, JSON.stringify(sup.status)).toMatchObject({ ok: true });
    expect(sup.status.state).toBe('running');
  });

  it('backward by hours during a start that never answers: the start timeout still fires', async () => {
    const port = await getPort();
    let offset = 0;
    const { sup } = supervisor(
      simSettings(port, ['--startup-delay', '30'], { daemon: { startTimeoutSec: 1 } }),
      { now: () => Date.now() + offset },
    );
    const start = sup.start();
    await waitFor(() => sup.pid !== null, 'spawned');
    const pid = sup.pid!;
    offset -= 5 * HOUR;
    const t0 = Date.now();
    const r = await Promise.race([start, sleep(6_000).then(() => 'hung' as const)]);
    expect(r, 'the start never timed out').not.toBe('hung');
    expect(Date.now() - t0).toBeLessThan(4_000);
    expect(sup.status).toMatchObject({ state: 'failed', kind: 'start-timeout' });
    await waitFor(() => simsOnPort(port).every((p) => p.pid !== pid), 'the hung daemon killed');
  });

  it('backward by hours while running: a crash of a daemon that ran stably is not counted as a quick crash', async () => {
    const port = await getPort();
    let offset = 0;
    // stableAfterSec 1, maxQuickCrashes 2: a second quick crash in a row would be a crash loop.
    const { sup, states } = supervisor(simSettings(port), { now: () => Date.now() + offset });
    await sup.start();
    // One quick crash: quickCrashes = 1, restarted.
    process.kill(sup.pid!, 'SIGKILL');
    await waitFor(
      () => sup.restarts === 1 && sup.status.state === 'running',
      'restarted after a quick crash',
    );
    // Now it runs stably (> 1 s of real time) while the wall clock goes back 5 hours.
    await sleep(1_300);
    offset -= 5 * HOUR;
    const pid = sup.pid!;
    process.kill(pid, 'SIGKILL');
    await waitFor(() => sup.restarts === 2 || sup.status.state === 'failed', 'a restart or a give-up');
    expect(sup.status, 'counted as a quick crash: crash loop').not.toMatchObject({ state: 'failed' });
    await waitFor(() => sup.status.state === 'running', 'running again');
    expect(states).not.toContain('failed');
  });

  it('forward by hours while running: backoff and restart still happen; uptime in the status JSON is never negative', async () => {
    const port = await getPort();
    let offset = 0;
    const { sup } = supervisor(simSettings(port), { now: () => Date.now() + offset });
    await sup.start();
    offset += 5 * HOUR;
    const snap = (): DaemonSnapshot => ({
      status: sup.status,
      info: null,
      infoAt: null,
      restarts: sup.restarts,
      lastExit: sup.lastExit,
      process: null,
      warnings: [],
      logSeq: 0,
    });
    process.kill(sup.pid!, 'SIGKILL');
    await waitFor(() => sup.restarts === 1 && sup.status.state === 'running', 'restarted');
    // `since` was stamped with the jumped clock (5 h ahead of Date.now()).
    const json = lunaStatusJson(snap());
    expect(json.uptimeSec).toBeGreaterThanOrEqual(0);
    expect(Number.isFinite(json.uptimeSec)).toBe(true);
    // Jump back again (NTP correction): still sane.
    offset = -5 * HOUR;
    expect(lunaStatusJson(snap()).uptimeSec).toBeGreaterThanOrEqual(0);
  });
});

describe('the port is taken between the pre-flight check and the spawn', () => {
  it('→ failed with port-conflict (the daemon could not bind), and nothing left behind', async () => {
    const port = await getPort();
    let blocker: net.Server | null = null;
    // A launcher that lets another program grab the port at the worst moment: after the probe said
    // "free", just before the daemon starts.
    const racingLauncher: ProcessLauncher = {
      launch(spec) {
        blocker = net.createServer((s) => s.destroy()).listen(port, '127.0.0.1');
        return nodeProcessLauncher.launch(spec);
      },
    };
    cleanups.push(() => new Promise<void>((r) => (blocker ? blocker.close(() => r()) : r())));
    const { sup } = supervisor(simSettings(port), { launcher: racingLauncher });
    const r = await sup.start();
    expect(r.ok).toBe(false);
    expect(sup.status).toMatchObject({ state: 'failed', kind: 'port-conflict' });
    // The held port is named, with its holder (this test process) and the advice for the profile.
    expect((sup.status as { message: string }).message).toContain(
      `Port ${port} (the daemon port) is in use by PID ${process.pid}`,
    );
    expect(sup.pid).toBeNull();
    expect(simsOnPort(port)).toEqual([]);
  });
});

describe('the log disk fails', () => {
  /** A core (as `serve` builds it) whose data dir's log file is broken by `breakLogs`. */
  async function coreWithBrokenLogs(breakLogs: (logDir: string) => void) {
    const dataDir = tempDir('luna-logfail-');
    breakLogs(join(dataDir, 'logs'));
    const port = await getPort();
    const settingsStore = new MemorySettingsStore(simSettings(port, ['--log-lines', '3000']));
    const core = await createLunaCore({ dataDir, settingsStore, simulatorPath: SIM_PATH });
    cleanups.push(async () => {
      await core.dispose({ keepDaemon: false });
      killAll(simsOnPort(port));
    });
    return { core, port };
  }

  for (const [name, breakLogs, code] of [
    [
      'the log directory is a regular file (ENOTDIR/EEXIST)',
      (logDir: string) => writeFileSync(logDir, 'not a directory'),
      /ENOTDIR|EEXIST/,
    ],
    [
      'daemon.log points at /dev/full (ENOSPC)',
      (logDir: string) => {
        mkdirSync(logDir);
        symlinkSync('/dev/full', join(logDir, 'daemon.log'));
      },
      /ENOSPC|no space/i,
    ],
  ] as const) {
    it(`${name}: supervision continues, a visible warning, nothing lost from the ring`, async () => {
      const { core, port } = await coreWithBrokenLogs(breakLogs);
      const r = await core.supervisor.start();
      expect(r.ok).toBe(true);
      // The simulator writes 3000 numbered lines right after ready, then "[Sim] flood done 3000".
      await waitFor(
        () => core.store.since(0).entries.some((e) => e.text.includes('[Sim] flood done 3000')),
        'the flood',
        15_000,
      );
      const texts = core.store.since(0, 100_000).entries.map((e) => e.text);
      for (let i = 0; i < 3000; i++) {
        const needle = `(sim flood ${String(i).padStart(9, '0')})`;
        if (!texts.some((t) => t.includes(needle))) throw new Error(`line ${i} is missing from the store`);
      }
      const warnings = core.snapshot().warnings;
      expect(warnings.map((w) => w.message).join('\n')).toMatch(/Cannot write the daemon log file/);
      expect(warnings.map((w) => w.message).join('\n')).toMatch(code);
      // Supervision goes on: a crash is still seen and the daemon restarted.
      expect(core.supervisor.status.state).toBe('running');
      const pid = core.supervisor.pid!;
      process.kill(pid, 'SIGKILL');
      await waitFor(
        () => core.supervisor.status.state === 'running' && core.supervisor.pid !== pid,
        'restarted',
        10_000,
      );
      await new LunaClient({ port }).ping({ timeoutMs: 1_000 });
    });
  }
});

describe('the settings file is damaged', () => {
  for (const [name, content] of [
    ['truncated', '{"version": 1, "daemon": {"port": 19'],
    ['binary garbage', '\u0000\u00ff\u00fe garbage \u0007'],
    [
      'of the wrong types',
      JSON.stringify({
        version: 2,
        daemons: [
          {
            id: 'default',
            name: 'Luna daemon',
            port: 'nineteen',
            autoStart: 'yes',
            restart: { maxQuickCrashes: -3 },
          },
        ],
        logs: [],
      }),
    ],
  ] as const) {
    it(`${name}: a backup exists, defaults are used, and the warning is in the snapshot`, async () => {
      const dataDir = tempDir('luna-settings-');
      const path = join(dataDir, 'settings.json');
      writeFileSync(path, content);
      const settingsStore = new JsonFileSettingsStore(path);
      const core = await createLunaCore({ dataDir, settingsStore, simulatorPath: SIM_PATH });
      cleanups.push(() => core.dispose({ keepDaemon: false }));
      const backups = readdirSync(dataDir).filter((f) => f.startsWith('settings.json.corrupt-'));
      expect(backups).toHaveLength(1);
      expect(firstDaemon(core.settings()).port).toBe(firstDaemon(defaultSettings()).port);
      expect(firstDaemon(core.settings()).restart.maxQuickCrashes).toBe(
        firstDaemon(defaultSettings()).restart.maxQuickCrashes,
      );
      const warnings = core
        .snapshot()
        .warnings.map((w) => w.message)
        .join('\n');
      expect(warnings).toContain(backups[0]);
      // The status JSON (what `luna-tray status` prints) carries the warning too.
      expect((lunaStatusJson(core.snapshot()).warnings as string[]).join('\n')).toContain(backups[0]);
    });
  }
});

describe('two instances create the control token at the same moment', () => {
  it('they agree on ONE token, and it is the one on disk (mode 0600, no temporary file left)', async () => {
    for (let i = 0; i < 30; i++) {
      const dir = tempDir('luna-token-');
      const tokens = await Promise.all([
        loadOrCreateToken(dir),
        loadOrCreateToken(dir),
        loadOrCreateToken(dir),
      ]);
      const onDisk = readFileSync(join(dir, 'control-token'), 'utf8').trim();
      expect(new Set(tokens).size, `attempt ${i}`).toBe(1);
      expect(tokens[0]).toBe(onDisk);
      expect(statSync(join(dir, 'control-token')).mode & 0o777).toBe(0o600);
      expect(readdirSync(dir)).toEqual(['control-token']);
    }
  });

  it('a malformed token file is replaced; a valid one is kept', async () => {
    const dir = tempDir('luna-token-');
    writeFileSync(join(dir, 'control-token'), 'short\n');
    const fresh = await loadOrCreateToken(dir);
    expect(fresh).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await loadOrCreateToken(dir)).toBe(fresh);
    expect(readdirSync(dir)).toEqual(['control-token']);
  });
});
