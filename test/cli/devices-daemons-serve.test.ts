import { afterEach, describe, expect, it } from 'vitest';

import getPort from 'get-port';

import { killAllTracked, track, waitFor } from '../helpers/processes.js';
import { cliAsync, controlCall, serveEnv, startServe, type ServeEnv } from '../helpers/serve.js';

const envs: ServeEnv[] = [];
afterEach(() => {
  killAllTracked();
  for (const e of envs.splice(0)) e.cleanup();
});

interface Listed {
  id: string;
  state: string;
  pid: number | null;
}

/**
 * The original device routes per daemon (`/luna/daemons/<id>/devices`, `…/set-clip-device` …)
 * through `luna-tray serve` with two simulators: a change reaches one daemon only, is saved in that
 * entry, comes back after that daemon's restart, and errors keep the original shapes (docs/devices.md).
 */
describe('per-daemon device routes through serve (two simulators)', () => {
  it('one daemon changed, saved in its entry, re-applied after its restart; original error shapes', async () => {
    const ports = [await getPort(), await getPort(), await getPort(), await getPort()];
    const entry = (id: string, port: number, wsPort: number) => ({
      id,
      name: id.toUpperCase(),
      profile: 'simulator',
      port,
      wsPort,
      args: ['--startup-delay', '0'],
      restart: { initialDelayMs: 200 },
      health: { intervalSec: 0.5 },
    });
    const e = await serveEnv([
      ['daemons', JSON.stringify([entry('gpu0', ports[0]!, ports[1]!), entry('gpu1', ports[2]!, ports[3]!)])],
    ]);
    envs.push(e);
    const serve = await startServe(e, ['--no-open']);
    const call = (method: string, path: string, body?: unknown) => controlCall(e, serve, method, path, body);
    const listed = async () => ((await call('GET', '/luna/daemons')).body.daemons as Listed[]) ?? [];
    const runningPid = (id: string, notPid?: number) =>
      waitFor(
        async () => {
          const d = (await listed()).find((x) => x.id === id);
          return d?.state === 'running' && d.pid !== null && d.pid !== notPid ? d.pid : undefined;
        },
        `${id} running`,
        30_000,
      );
    const clipOf = async (path: string) =>
      ((await call('GET', path)).body.devices as { clip: string } | undefined)?.clip;

    for (const id of ['gpu0', 'gpu1']) {
      expect((await call('POST', `/luna/daemons/${id}/start`, {})).status).toBe(200);
    }
    const pid0 = await runningPid('gpu0');
    const pid1 = await runningPid('gpu1');
    track(pid0);
    track(pid1);

    // Both start on the simulator's config.py default, cuda:1.
    expect(await call('GET', '/luna/daemons/gpu1/devices')).toMatchObject({
      status: 200,
      body: { success: true, devices: { clip: 'cuda:1' }, available_gpus: ['cuda:0', 'cuda:1'] },
    });
    expect(await call('POST', '/luna/daemons/gpu1/set-clip-device', { device: 'cpu' })).toMatchObject({
      status: 200,
      body: { success: true, old_device: 'cuda:1', new_device: 'cpu' },
    });
    // Applied to gpu1 only: gpu0 (also what the original /luna/daemon/* routes address) is untouched.
    expect(await clipOf('/luna/daemons/gpu1/devices')).toBe('cpu');
    expect(await clipOf('/luna/daemons/gpu0/devices')).toBe('cuda:1');
    expect(await clipOf('/luna/daemon/devices')).toBe('cuda:1');
    // Saved in gpu1's entry, not in gpu0's.
    const saved = async (i: number) =>
      JSON.parse(
        (await cliAsync(e, ['config', 'get', `daemons.${i}.devices.clip`, '--json'])).stdout,
      ) as unknown;
    expect(await saved(1)).toBe('cpu');
    expect(await saved(0)).toBe('');

    // Errors keep the original shapes, per daemon.
    expect(await call('POST', '/luna/daemons/gpu1/set-vae-device', {})).toEqual({
      status: 400,
      body: { success: false, error: 'device parameter required' },
    });
    expect(await call('POST', '/luna/daemons/gpu1/set-llm-device', { device: 'cuda:7' })).toEqual({
      status: 400,
      body: { error: 'Invalid CUDA device: cuda:7. Available: 0-1' },
    });
    const unknown = await call('GET', '/luna/daemons/gpu9/devices');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ success: false, error: expect.stringContaining('gpu0, gpu1') as string });
    expect(await saved(1)).toBe('cpu'); // a refusal is never saved

    // Restarting gpu1 re-applies its saved device; gpu0 keeps its PID and its device.
    expect((await call('POST', '/luna/daemons/gpu1/restart', {})).status).toBe(200);
    const pid1b = await runningPid('gpu1', pid1);
    track(pid1b);
    await waitFor(
      async () => (await clipOf('/luna/daemons/gpu1/devices')) === 'cpu',
      'gpu1 CLIP re-applied',
      15_000,
    );
    expect((await listed()).find((d) => d.id === 'gpu0')?.pid).toBe(pid0);
    expect(await clipOf('/luna/daemons/gpu0/devices')).toBe('cuda:1');

    // A stopped daemon answers in the original shape while the other one still works.
    expect((await call('POST', '/luna/daemons/gpu0/stop', {})).status).toBe(200);
    expect(await call('POST', '/luna/daemons/gpu0/set-clip-device', { device: 'cpu' })).toEqual({
      status: 409,
      body: { success: false, error: 'The Luna daemon is not running.' },
    });
    expect(await clipOf('/luna/daemons/gpu1/devices')).toBe('cpu');
    expect(await saved(0)).toBe('');
  });
});
