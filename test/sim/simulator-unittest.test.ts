import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { pythonExecutable } from '../helpers/python.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('Luna daemon simulator (its own stdlib unittest suite)', () => {
  it('passes python3 -m unittest sim/test_luna_daemon_sim.py', () => {
    const r = spawnSync(pythonExecutable(), ['-m', 'unittest', 'sim/test_luna_daemon_sim.py'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
    });
    const tail = `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-15).join('\n');
    expect(r.status, tail).toBe(0);
    expect(r.stderr).toMatch(/Ran \d+ tests/);
    expect(r.stderr).toMatch(/\nOK/);
  }, 130_000);
});
