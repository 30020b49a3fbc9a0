import { afterEach, describe, expect, it } from 'vitest';

import { killAllTracked, waitFor } from '../helpers/processes.js';
import {
  cliAsync,
  controlCall,
  runningDaemonPid,
  serveEnv,
  startServe,
  type ServeEnv,
} from '../helpers/serve.js';

const envs: ServeEnv[] = [];
afterEach(() => {
  killAllTracked();
  for (const e of envs.splice(0)) e.cleanup();
});

/** The original device routes through `luna-tray serve --demo` (the simulator), over real HTTP. */
describe('device routes through serve', () => {
  it('passthrough, original error shape, saved, and re-applied after `luna-tray restart`', async () => {
    const e = await serveEnv();
    envs.push(e);
    const serve = await startServe(e);
    const call = (method: string, path: string, body?: unknown) => controlCall(e, serve, method, path, body);
    const firstPid = await runningDaemonPid(e);
    const before = await call('GET', '/luna/daemon/devices');
    expect(before).toMatchObject({ status: 200, body: { success: true, devices: { clip: 'cuda:1' } } });
    expect(await call('POST', '/luna/daemon/set-clip-device', {})).toEqual({
      status: 400,
      body: { success: false, error: 'device parameter required' },
    });
    const set = await call('POST', '/luna/daemon/set-clip-device', { device: 'cpu' });
    expect(set).toMatchObject({
      status: 200,
      body: { success: true, old_device: 'cuda:1', new_device: 'cpu' },
    });
    expect((await cliAsync(e, ['config', 'get', 'daemon.devices.clip'])).stdout.trim()).toMatch(/^"?cpu"?$/);

    expect((await cliAsync(e, ['restart'])).status).toBe(0);
    await runningDaemonPid(e, 30_000, firstPid);
    // The new daemon starts on its config.py default (cuda:1); the supervisor re-applies "cpu".
    await waitFor(
      async () =>
        ((await call('GET', '/luna/daemon/devices')).body.devices as { clip: string }).clip === 'cpu',
      'the saved CLIP device re-applied',
      15_000,
    );
  });
});
