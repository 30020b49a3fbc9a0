// `npm run package:check` as a test: electron-builder packages `--linux --dir` against a stand-in
// Electron (nothing downloaded) and scripts/package-check.mjs checks the layout, the packaged
// package.json, every app-paths.ts path and the fuses. Uses out/ from the test run's build.
import { spawn } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import { exited, track } from '../helpers/processes.js';

describe('package:check', () => {
  it('packages offline and every check passes', async () => {
    const child = spawn(process.execPath, ['scripts/package-check.mjs'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    track(child.pid);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const { code } = await exited(child);
    expect(out).not.toMatch(/^FAIL/m);
    expect(out).toContain('ok   fuse RunAsNode off');
    expect(out).toContain('ok   app-paths simulator → resources/sim/luna_daemon_sim.py');
    expect(code, out).toBe(0);
  }, 90_000);
});
