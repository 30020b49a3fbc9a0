import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import getPort from 'get-port';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createLunaCore } from '../../../src/core/app/luna-core.js';
import { loadOrCreateToken } from '../../../src/core/control/auth.js';
import { startControlServer, type ControlServer } from '../../../src/core/control/control-server.js';
import { MemorySettingsStore } from '../../../src/core/settings/memory-settings-store.js';
import { waitFor } from '../../helpers/processes.js';
import { pythonExecutable } from '../../helpers/python.js';
import { SIM_PATH } from '../../helpers/sim.js';
import { firstDaemon } from '../../../src/shared/settings-schema.js';

/**
 * The original device routes through the real control server, against the simulator: the daemon's
 * replies passed through, the original error shapes, a successful change saved in the settings and
 * re-applied by the supervisor after a restart.
 */
let dataDir: string;
let core: Awaited<ReturnType<typeof createLunaCore>>;
let server: ControlServer;
let token: string;
let store: MemorySettingsStore;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'luna-devices-'));
  const port = await getPort();
  store = new MemorySettingsStore({
    daemon: {
      profile: 'custom',
      command: pythonExecutable(),
      args: [
        SIM_PATH,
        '--port',
        String(port),
        '--ws-port',
        '0',
        '--models-after',
        '-1',
        '--startup-delay',
        '0',
      ],
      port,
      wsPort: 0,
      startTimeoutSec: 15,
      stopGraceSec: 1,
      restart: { enabled: false },
    },
  });
  core = await createLunaCore({
    dataDir,
    settingsStore: store,
    simulatorPath: SIM_PATH,
    gpu: { nvidiaSmi: '/nonexistent/nvidia-smi', sysfsRoot: dataDir },
  });
  server = await startControlServer({
    core,
    port: 0,
    dataDir,
    staticDir: null,
    onShow: () => undefined,
    version: 'test',
  });
  token = await loadOrCreateToken(dataDir);
});

afterAll(async () => {
  await server?.close();
  await core?.dispose({ keepDaemon: false });
  rmSync(dataDir, { recursive: true, force: true });
});

async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(`${server.origin}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('original device routes', () => {
  it('answer "not running" in the original shape while the daemon is stopped', async () => {
    expect(await call('GET', '/luna/daemon/devices')).toEqual({
      status: 409,
      body: { success: false, error: 'The Luna daemon is not running.' },
    });
    const r = await core.handlers['devices:get']({});
    expect(r).toEqual({
      ok: false,
      error: { code: 'not-running', message: 'The Luna daemon is not running.' },
    });
  });

  it('GET /luna/daemon/devices passes the get_devices reply through', async () => {
    expect((await core.handlers['daemon:start']({})).ok).toBe(true);
    expect(await call('GET', '/luna/daemon/devices')).toEqual({
      status: 200,
      body: {
        success: true,
        devices: { clip: 'cuda:1', vae: 'cuda:0', llm: 'cuda:1' },
        available_gpus: ['cuda:0', 'cuda:1'],
        has_cuda: true,
      },
    });
  });

  it('a successful set-*-device is the daemon reply, applied live and saved', async () => {
    const r = await call('POST', '/luna/daemon/set-clip-device', { device: 'cpu' });
    expect(r).toEqual({
      status: 200,
      body: {
        success: true,
        old_device: 'cuda:1',
        new_device: 'cpu',
        message: expect.stringMatching(/^CLIP device (set|changed) to cpu/) as string,
      },
    });
    expect(firstDaemon(store.get()).devices.clip).toBe('cpu');
    const live = await call('GET', '/luna/daemon/devices');
    expect((live.body.devices as Record<string, string>).clip).toBe('cpu');
  });

  it("refusals keep the daemon's words and are not saved", async () => {
    expect(await call('POST', '/luna/daemon/set-vae-device', { device: 'cuda:7' })).toEqual({
      status: 400,
      body: { error: 'Invalid CUDA device: cuda:7. Available: 0-1' },
    });
    expect(await call('POST', '/luna/daemon/set-llm-device', { device: 'tpu' })).toEqual({
      status: 400,
      body: { error: "Invalid device: tpu. Use 'cpu' or 'cuda:N'" },
    });
    expect(firstDaemon(store.get()).devices.vae).toBe('');
    expect(firstDaemon(store.get()).devices.llm).toBe('');
  });

  it("a missing device is the original route's own error", async () => {
    for (const body of [{}, { device: '' }, { device: 3 }]) {
      expect(await call('POST', '/luna/daemon/set-llm-device', body)).toEqual({
        status: 400,
        body: { success: false, error: 'device parameter required' },
      });
    }
    expect((await call('GET', '/luna/daemon/set-vae-device')).status).toBe(405);
    expect((await call('POST', '/luna/daemon/devices', {})).status).toBe(405);
  });

  it('the typed contract: set-device, attention mode (refusal worded by the daemon), both saved', async () => {
    const set = await core.handlers['devices:set-device']({ component: 'vae', device: 'cuda:1' });
    expect(set).toEqual({
      ok: true,
      value: {
        oldDevice: 'cuda:0',
        newDevice: 'cuda:1',
        message: expect.stringContaining('cuda:1') as string,
      },
    });
    const sage = await core.handlers['devices:set-attention-mode']({ mode: 'sage' });
    expect(sage.ok).toBe(false);
    if (!sage.ok) {
      expect(sage.error.code).toBe('invalid-input');
      expect(sage.error.message).toMatch(/^Invalid mode 'sage'\. Valid modes: /);
    }
    expect(firstDaemon(store.get()).attentionMode).toBe('');
    const flash = await core.handlers['devices:set-attention-mode']({ mode: 'flash' });
    expect(flash).toEqual({ ok: true, value: { mode: 'flash', message: expect.any(String) as string } });
    expect(firstDaemon(store.get()).attentionMode).toBe('flash');
    expect(firstDaemon(store.get()).devices).toEqual({ clip: 'cpu', vae: 'cuda:1', llm: '' });
  });

  it('after a restart the saved devices and attention mode are re-applied', async () => {
    expect((await core.handlers['daemon:restart']({})).ok).toBe(true);
    await waitFor(
      () =>
        core.snapshot().info?.devices.clip === 'cpu' &&
        core.snapshot().info?.devices.vae === 'cuda:1' &&
        core.snapshot().info?.attentionMode === 'flash',
      'the fresh daemon reports the saved devices',
      10_000,
    );
    const r = await core.handlers['devices:get']({});
    expect(r).toEqual({
      ok: true,
      value: {
        devices: { clip: 'cpu', vae: 'cuda:1', llm: 'cuda:1' },
        availableGpus: ['cuda:0', 'cuda:1'],
        hasCuda: true,
        attentionMode: 'flash',
      },
    });
  });
});
