import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

import { afterEach, describe, expect, it } from 'vitest';

import {
  createProcessSampler,
  isDescendantOf,
  parentPid,
  processStartTime,
} from '../../../src/core/supervisor/processes.js';
import { killAllTracked, track, waitFor } from '../../helpers/processes.js';

afterEach(() => killAllTracked());

describe('process helpers', () => {
  it('walks the parent chain: a grandchild descends from us, we do not descend from it', async () => {
    const child = spawn(
      process.execPath,
      [
        '-e',
        "const c = require('child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }); console.log(c.pid); setInterval(() => {}, 1000);",
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    track(child.pid);
    const grandchild = Number(
      await waitFor(
        () => new Promise<string>((r) => child.stdout.once('data', (d: Buffer) => r(d.toString().trim()))),
        'grandchild pid',
      ),
    );
    track(grandchild);
    expect(await parentPid(grandchild)).toBe(child.pid);
    expect(await isDescendantOf(grandchild, child.pid!)).toBe(true);
    expect(await isDescendantOf(grandchild, process.pid)).toBe(true);
    expect(await isDescendantOf(process.pid, child.pid!)).toBe(false);
  });

  it('samples CPU % (as a difference) and RSS of a process', async () => {
    const sample = createProcessSampler(process.pid);
    const first = await sample();
    expect(first).not.toBeNull();
    expect(first!.cpuPercent).toBe(0);
    expect(first!.rssBytes).toBeGreaterThan(10 * 2 ** 20);
    const until = Date.now() + 300;
    let x = 0;
    while (Date.now() < until) x += Math.sqrt(x + 1);
    expect(x).toBeGreaterThan(0);
    const second = await sample();
    expect(second!.cpuPercent).toBeGreaterThan(20);
    if (process.platform === 'linux') {
      // RSS comes from /proc/<pid>/stat alone: the same figure as statm's resident pages.
      const statm = Number(readFileSync(`/proc/${process.pid}/statm`, 'utf8').split(' ')[1]) * 4096;
      const third = await sample();
      expect(Math.abs(third!.rssBytes - statm)).toBeLessThan(0.05 * statm);
    }
    expect(await createProcessSampler(2 ** 22 + 12345)()).toBeNull();
  });

  it('identifies a process by its start time (PID reuse guard)', async () => {
    const a = await processStartTime(process.pid);
    expect(a).not.toBeNull();
    expect(await processStartTime(process.pid)).toBe(a);
    expect(await processStartTime(2 ** 22 + 12345)).toBeNull();
  });
});
