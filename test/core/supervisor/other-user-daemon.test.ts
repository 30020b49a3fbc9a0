/**
 * A Luna daemon on the port run by ANOTHER OS user is not adopted (docs/security.md §2): the
 * supervisor refuses to control it and names the user. The other user is real: as root (CI runs as
 * root) the simulator is started as `nobody`. Without root there is no other user to run it as,
 * and where no Python is usable by `nobody` (an interpreter under /root) the test cannot run.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

import getPort from 'get-port';
import { afterEach, describe, expect, it } from 'vitest';

import { defaultSettings, mergeSettings, settingsSchema } from '../../../src/shared/settings-schema.js';
import { checkDaemonUser } from '../../../src/core/supervisor/port-owner.js';
import { pythonExecutable } from '../../helpers/python.js';
import { killAllTracked, track, waitFor } from '../../helpers/processes.js';
import { SIM_PATH } from '../../helpers/sim.js';
import { buildSupervisor } from '../../helpers/supervisor-fixture.js';

const NOBODY = 65534;

/** A Python that `nobody` can run and that can read the simulator, or null. */
function pythonForNobody(): string | null {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return null;
  const own = spawnSync(pythonExecutable(), ['-c', 'import sys; print(sys.executable)'], {
    encoding: 'utf8',
  });
  for (const candidate of ['/usr/bin/python3', '/usr/local/bin/python3', own.stdout.trim()]) {
    const r = spawnSync(candidate, ['-c', `open(${JSON.stringify(SIM_PATH)}).close()`], {
      uid: NOBODY,
      gid: NOBODY,
    });
    if (r.status === 0) return candidate;
  }
  return null;
}
const python = pythonForNobody();

const dirs: string[] = [];
afterEach(() => {
  killAllTracked();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('a daemon run by another OS user', () => {
  // Skipped only where it cannot run: not root (no other user to become) or no Python for nobody.
  it('is refused, naming the user; nothing is spawned or adopted', async (ctx) => {
    ctx.skip(python === null, 'needs Linux, root, and a Python the nobody user can run');
    const port = await getPort();
    const wsPort = await getPort();
    const sim = spawn(
      python!,
      [SIM_PATH, '--port', String(port), '--ws-port', String(wsPort), '--startup-delay', '0'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        uid: NOBODY,
        gid: NOBODY,
        cwd: '/',
      },
    );
    track(sim.pid);
    let out = '';
    sim.stdout.on('data', (d: Buffer) => (out += d.toString()));
    sim.stderr.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(
      () => /ready/i.test(out) || sim.exitCode !== null,
      'the simulator (as nobody) to be ready',
      15_000,
    );
    expect(sim.exitCode, out).toBeNull();

    expect(await checkDaemonUser(port)).toMatchObject({ refuse: expect.stringContaining('(user nobody)') });

    const dataDir = mkdtempSync(join(tmpdir(), 'luna-otheruser-'));
    dirs.push(dataDir);
    const settings = settingsSchema.parse(
      mergeSettings(defaultSettings(), {
        daemon: { profile: 'simulator', command: pythonExecutable(), port, wsPort, startTimeoutSec: 10 },
      }),
    );
    const { sup } = buildSupervisor({
      settings,
      dataDir,
      simulatorPath: SIM_PATH,
      storeCapacity: 1000,
    });
    try {
      const r = await sup.start();
      expect(r.ok).toBe(false);
      expect(sup.status).toMatchObject({ state: 'failed', kind: 'port-conflict' });
      const message = (sup.status as { message: string }).message;
      expect(message).toContain(`PID ${sim.pid} (user nobody)`);
      expect(message).toMatch(/another OS user/);
      // Still running, untouched (it is not ours to stop).
      expect(sim.exitCode).toBeNull();
    } finally {
      await sup.dispose({ keepDaemon: true });
    }
  });

  it('a daemon run by the same user passes the check', async () => {
    const server = (await import('node:net')).createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const check = await checkDaemonUser(port);
      expect(check.refuse).toBeNull();
      if (process.platform === 'linux') {
        expect(check.warning).toBeNull();
        expect(userInfo().username.length).toBeGreaterThan(0);
      }
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
