// `POST /app/quit` (what `luna-tray quit` calls): answered first, then the host's exit runs.
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import getPort from 'get-port';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { startControlServer, type ControlServer } from '../../src/core/control/control-server.js';
import { fakeCore } from '../main/helpers/fixtures.js';

const open: ControlServer[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function post(server: ControlServer, path: string, token: string) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        path,
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end('{}');
  });
}

async function start(onQuit?: () => void) {
  const dataDir = mkdtempSync(join(tmpdir(), 'luna-quit-'));
  dirs.push(dataDir);
  const server = await startControlServer({
    core: fakeCore().core,
    port: await getPort(),
    dataDir,
    staticDir: null,
    onShow: () => {},
    onQuit,
    version: 'test',
  });
  open.push(server);
  const { readFileSync } = await import('node:fs');
  return { server, token: readFileSync(join(dataDir, 'control-token'), 'utf8').trim() };
}

describe('POST /app/quit', () => {
  it('answers 202, then calls the host’s quit', async () => {
    const onQuit = vi.fn();
    const { server, token } = await start(onQuit);
    const r = await post(server, '/app/quit', token);
    expect(r.status).toBe(202);
    expect(JSON.parse(r.body)).toEqual({ status: 'ok', message: 'quitting' });
    await vi.waitFor(() => expect(onQuit).toHaveBeenCalledTimes(1));
  });

  it('needs the token, and is 404 where the host cannot quit', async () => {
    const onQuit = vi.fn();
    const a = await start(onQuit);
    expect((await post(a.server, '/app/quit', 'wrong')).status).toBe(401);
    expect(onQuit).not.toHaveBeenCalled();
    const b = await start();
    expect((await post(b.server, '/app/quit', b.token)).status).toBe(404);
  });
});
