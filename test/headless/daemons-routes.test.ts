import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import getPort from 'get-port';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createLunaCore } from '../../src/core/app/luna-core.js';
import { loadOrCreateToken } from '../../src/core/control/auth.js';
import { startControlServer, type ControlServer } from '../../src/core/control/control-server.js';
import { MemorySettingsStore } from '../../src/core/settings/memory-settings-store.js';
import { SIM_PATH } from '../helpers/sim.js';

/** `GET /luna/daemons` and `/luna/daemons/<id>/…` beside the original `/luna/daemon/*` (no daemon runs). */
let dataDir: string;
let core: Awaited<ReturnType<typeof createLunaCore>>;
let server: ControlServer;
let token: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'luna-daemons-routes-'));
  const port = await getPort();
  core = await createLunaCore({
    dataDir,
    settingsStore: new MemorySettingsStore({ daemon: { profile: 'simulator', port, wsPort: 0 } }),
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

async function call(method: string, path: string) {
  const res = await fetch(`${server.origin}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
    },
    ...(method === 'POST' ? { body: '{}' } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('per-daemon control routes', () => {
  it('GET /luna/daemons lists each daemon with id, name, state, colour, PID, ports, models, VRAM', async () => {
    const r = await call('GET', '/luna/daemons');
    expect(r.status).toBe(200);
    const [d] = r.body.daemons as Record<string, unknown>[];
    expect(d).toMatchObject({
      id: 'default',
      state: 'stopped',
      color: 'gray',
      pid: null,
      models: [],
      vram: [],
    });
    expect(typeof d!.port).toBe('number');
    expect(d).toHaveProperty('wsPort', 0);
  });

  it('GET /luna/daemons/<id>/status has the original status shape plus the id', async () => {
    const one = await call('GET', '/luna/daemon/status');
    const per = await call('GET', '/luna/daemons/default/status');
    expect(per.status).toBe(200);
    expect(per.body).toMatchObject({ id: 'default', running: false, state: one.body.state });
  });

  it('an unknown id is a 404 that names the daemons that exist', async () => {
    for (const [method, path] of [
      ['GET', '/luna/daemons/nope/status'],
      ['POST', '/luna/daemons/nope/start'],
      ['GET', '/luna/daemons/nope/devices'],
    ] as const) {
      const r = await call(method, path);
      expect(r.status, path).toBe(404);
      // The device routes keep their original error shape {success: false, error} (docs/devices.md).
      const text = path.endsWith('/devices') ? r.body.error : r.body.message;
      expect(String(text)).toMatch(/no daemon "nope".*default/);
      if (path.endsWith('/devices')) expect(r.body.success).toBe(false);
    }
  });

  it('GET /luna/daemons/<id>/status of a disabled daemon answers 200: stopped, as the list shows it', async () => {
    const current = await core.handlers['settings:get']({});
    if (!current.ok) throw new Error(current.error.message);
    const daemons = current.value.settings.daemons;
    const spare = {
      ...daemons[0]!,
      id: 'spare',
      name: 'Spare',
      enabled: false,
      port: await getPort(),
      wsPort: 0,
    };
    const r = await core.handlers['settings:update']({ patch: { daemons: [...daemons, spare] } });
    expect(r.ok, JSON.stringify(r)).toBe(true);
    try {
      const per = await call('GET', '/luna/daemons/spare/status');
      expect(per.status).toBe(200);
      expect(per.body).toMatchObject({ id: 'spare', running: false, state: 'stopped', pid: null });
      // Its actions still say it is disabled and how to enable it.
      const start = await call('POST', '/luna/daemons/spare/start');
      expect(start.status).toBe(400);
      expect(String(start.body.message)).toContain('disabled');
    } finally {
      await core.handlers['settings:update']({ patch: { daemons } });
    }
  });

  it('POST /luna/daemons/<id>/stop on a stopped daemon keeps the original {status, message} shape', async () => {
    const r = await call('POST', '/luna/daemons/default/stop');
    expect(r.body).toHaveProperty('status');
    expect(typeof r.body.message).toBe('string');
  });
});
