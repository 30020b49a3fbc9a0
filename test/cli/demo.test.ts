// `npm run demo`, as a person runs it: its own free ports (never a real daemon's, never adopted),
// and one Ctrl+C — the terminal's SIGINT to the whole process group, plus the copies npm and the
// demo script forward — always stops gracefully: daemon gone, PID file removed, exit 0.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

import { isAlive, killAllTracked, track, waitFor, waitForPidGone } from '../helpers/processes.js';
import { cli, killRecordedDaemon } from '../helpers/serve.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dirs: string[] = [];

afterAll(async () => {
  for (const d of dirs) {
    killRecordedDaemon(d);
    await rm(d, { recursive: true, force: true });
  }
  killAllTracked();
});

async function demoOnce(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'luna-demo-'));
  dirs.push(dataDir);
  // detached: a process group of its own, like a terminal's foreground job.
  const npm = spawn('npm', ['run', 'demo', '--', '--no-open'], {
    cwd: root,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LUNA_TRAY_DATA_DIR: dataDir, LUNA_TRAY_SKIP_BUILD: '1', NO_COLOR: '1' },
  });
  track(npm.pid);
  let out = '';
  npm.stdout.on('data', (d: Buffer) => (out += d.toString()));
  npm.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<{ code: number | null; signal: string | null }>((r) =>
    npm.on('exit', (code, signal) => r({ code, signal })),
  );
  try {
    const port = Number(await waitFor(() => /--port (\d+) status/.exec(out)?.[1], 'the demo banner', 30_000));
    const daemonPort = Number(/simulator on 127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
    // Its own free ports: not the defaults a real installation uses.
    expect(port).not.toBe(19299);
    expect([19283, 19285]).not.toContain(daemonPort);
    const env = { dataDir, port };
    const status = await waitFor(
      () => {
        const s = JSON.parse(cli(env, ['status', '--json']).stdout) as {
          state: string;
          pid: number | null;
          adopted: boolean;
        };
        return s.state === 'running' ? s : undefined;
      },
      'the simulator running',
      30_000,
    );
    expect(status.adopted).toBe(false);
    expect(existsSync(join(dataDir, 'daemon.pid.json'))).toBe(true);

    process.kill(-npm.pid!, 'SIGINT'); // what Ctrl+C in a terminal does
    // npm re-raises the SIGINT on itself once its script ended, as a shell expects of Ctrl+C.
    const ended = await exit;
    expect(ended.code === 0 || ended.signal === 'SIGINT', JSON.stringify(ended)).toBe(true);
    await waitForPidGone(status.pid!, 10_000);
    await waitFor(() => !existsSync(join(dataDir, 'daemon.pid.json')), 'the PID file removed', 10_000);
    await waitFor(() => out.includes('SIGINT: stopping…'), 'the graceful stop');
    expect(out).not.toContain('exiting now');
  } finally {
    if (npm.exitCode === null && isAlive(npm.pid!)) process.kill(-npm.pid!, 'SIGKILL');
  }
}

describe('npm run demo', () => {
  it('uses its own ports and stops gracefully on one Ctrl+C to the process group (3 tries)', async () => {
    for (let i = 0; i < 3; i++) await demoOnce();
  }, 180_000);
});
