import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import getPort from 'get-port';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';

import { INVOKE_CHANNELS } from '../../src/shared/contract/invoke.js';
import { ok, err } from '../../src/shared/contract/result.js';
import type { InvokeHandlers } from '../../src/shared/contract/renderer-api.js';
import { EVENT_CHANNELS, type EventChannel } from '../../src/shared/contract/events.js';
import { defaultSettings } from '../../src/shared/settings-schema.js';
import type { DaemonSnapshot } from '../../src/shared/snapshot.js';
import type { LunaCore } from '../../src/core/app/luna-core.types.js';
import { startControlServer, type ControlServer } from '../../src/core/control/control-server.js';
import { LockHeldError } from '../../src/core/control/lock.js';
import { killAllTracked, track, waitFor } from '../helpers/processes.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/processes/', import.meta.url));

function snapshot(): DaemonSnapshot {
  return {
    status: {
      state: 'running',
      at: 1,
      pid: 4242,
      since: Date.now() - 5000,
      adopted: false,
      generation: 'current',
    },
    info: {
      generation: 'current',
      status: 'running',
      uptimeSec: 12.7,
      requestCount: 3,
      clipRequestCount: 2,
      vaeRequestCount: 0,
      serviceType: 'FULL',
      attentionMode: 'auto',
      devices: { clip: 'cuda:1', vae: 'cuda:0', llm: 'cuda:1' },
      vram: [
        { device: 'cuda:0', usedGb: 2.5, totalGb: 24 },
        { device: 'cuda:1', usedGb: 3.611, totalGb: 12 },
      ],
      models: [
        { name: 'clip_l.safetensors', source: 'clip_pool', type: 'clip' },
        { name: 'sdxl_vae', source: 'weight_registry', type: 'vae', memoryGb: 0.3 },
      ],
      clipPool: { activeWorkers: 1, queueDepth: 0, totalRequests: 2, workersCount: 1 },
      raw: { weight_registry_models: [{ key: 'sdxl_vae' }] },
    },
    infoAt: 1,
    restarts: 2,
    lastExit: { code: 1, signal: null, at: 1, stderrTail: [] },
    process: { cpuPercent: 1.5, rssBytes: 1000 },
    warnings: [],
    logSeq: 7,
  };
}

interface Fixture {
  server: ControlServer;
  token: string;
  dataDir: string;
  core: LunaCore;
  fire: (channel: EventChannel, data: unknown) => void;
  /** How many listeners the server has on the core's `channel`. */
  listeners: (channel: EventChannel) => number;
  onShow: ReturnType<typeof vi.fn>;
}

const servers: ControlServer[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  killAllTracked();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function start(port?: number, dataDir?: string): Promise<Fixture> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'luna-ctl-'));
  if (!dataDir) dirs.push(dir);
  const staticDir = join(dir, 'static');
  mkdirSync(staticDir, { recursive: true });
  writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>panel</title>');
  writeFileSync(join(staticDir, 'main.js'), 'console.log(1)');
  writeFileSync(join(staticDir, 'styles.css'), 'body{}');
  const listeners = new Map<string, Set<(d: unknown) => void>>();
  const handlers = Object.fromEntries(
    INVOKE_CHANNELS.map((c) => [c, vi.fn(async () => ok({ message: `${c} done` }))]),
  ) as unknown as InvokeHandlers;
  handlers['daemon:get-snapshot'] = vi.fn(async () => ok(snapshot()));
  handlers['daemon:unload'] = vi.fn(async () =>
    err('operation-failed', 'Unload failed: CLIP pool not available'),
  );
  handlers['daemon:stop'] = vi.fn(async () => err('not-running', 'The Luna daemon is not running.'));
  handlers['settings:update'] = vi.fn(async ({ patch }) =>
    (patch as { daemon?: { port?: number } }).daemon?.port === 70000
      ? err('invalid-input', 'Invalid settings: daemon.port: must be a port number 1–65535', [
          { key: 'daemon.port', message: 'must be a port number 1–65535' },
        ])
      : ok({ settings: defaultSettings(), path: '/x/settings.json' }),
  );
  const core: LunaCore = {
    handlers,
    events: {
      on(channel, listener) {
        let set = listeners.get(channel);
        if (!set) listeners.set(channel, (set = new Set()));
        set.add(listener as (d: unknown) => void);
        return () => set.delete(listener as (d: unknown) => void);
      },
    },
    snapshot,
    settings: defaultSettings,
    navigate: vi.fn(),
    autoStart: vi.fn(),
    dispose: vi.fn(async () => undefined),
  };
  const onShow = vi.fn();
  const server = await startControlServer({
    core,
    port: port ?? (await getPort()),
    dataDir: dir,
    staticDir,
    onShow,
    version: 'test',
    maxBodyBytes: 1024,
  });
  servers.push(server);
  const token = readFileSync(join(dir, 'control-token'), 'utf8').trim();
  return {
    server,
    token,
    dataDir: dir,
    core,
    onShow,
    fire: (channel, data) => listeners.get(channel)?.forEach((l) => l(data)),
    listeners: (channel) => listeners.get(channel)?.size ?? 0,
  };
}

/** A raw HTTP request (node:http lets us forge Host and Origin headers). */
function raw(
  port: number,
  opts: { method?: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path, headers: opts.headers ?? {} },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

const auth = (f: Fixture) => ({ authorization: `Bearer ${f.token}` });
const json = { 'content-type': 'application/json' };

describe('control server', () => {
  it('stores a random token with owner-only permissions and keeps it across restarts', async () => {
    const f = await start();
    expect(f.token).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(statSync(join(f.dataDir, 'control-token')).mode & 0o777).toBe(0o600);
    await f.server.close();
    servers.splice(servers.indexOf(f.server), 1);
    const g = await start(undefined, f.dataDir);
    expect(g.token).toBe(f.token);
  });

  it('401 without a token or with a wrong one; 200 with it', async () => {
    const f = await start();
    const p = f.server.port;
    expect((await raw(p, { path: '/luna/daemon/status' })).status).toBe(401);
    expect(
      (await raw(p, { path: '/luna/daemon/status', headers: { authorization: 'Bearer nope' } })).status,
    ).toBe(401);
    expect(
      (await raw(p, { path: '/luna/daemon/status', headers: { authorization: `Bearer ${f.token}x` } }))
        .status,
    ).toBe(401);
    expect((await raw(p, { path: '/luna/daemon/status', headers: auth(f) })).status).toBe(200);
  });

  it('403 on a foreign Origin and on a rebinding Host, even with the token', async () => {
    const f = await start();
    const p = f.server.port;
    const foreign = await raw(p, {
      path: '/luna/daemon/status',
      headers: { ...auth(f), origin: 'http://evil.example' },
    });
    expect(foreign.status).toBe(403);
    const nullOrigin = await raw(p, { path: '/luna/daemon/status', headers: { ...auth(f), origin: 'null' } });
    expect(nullOrigin.status).toBe(403);
    const rebinding = await raw(p, {
      path: '/luna/daemon/status',
      headers: { ...auth(f), host: `evil.example:${p}` },
    });
    expect(rebinding.status).toBe(403);
    // A loopback name on another port is an SSH tunnel's local end (issue 19 §3): accepted; a
    // page on another loopback port (Origin) is still refused, since it must match the Host.
    const otherPort = await raw(p, { path: '/', headers: { host: `127.0.0.1:1` } });
    expect(otherPort.status).toBe(200);
    const otherOrigin = await raw(p, {
      path: '/luna/daemon/status',
      headers: { ...auth(f), origin: `http://127.0.0.1:${p + 1}` },
    });
    expect(otherOrigin.status).toBe(403);
    const own = await raw(p, {
      path: '/luna/daemon/status',
      headers: { ...auth(f), origin: `http://localhost:${p}`, host: `localhost:${p}` },
    });
    expect(own.status).toBe(200);
    // No CORS headers, ever.
    expect(own.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('400 on invalid JSON and on a body that fails its schema; 413 when oversized; 415 when not JSON', async () => {
    const f = await start();
    const p = f.server.port;
    const bad = await raw(p, {
      method: 'POST',
      path: '/api/logs/get-since',
      headers: { ...auth(f), ...json },
      body: '{"seq":',
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toContain('invalid JSON');
    const schema = await raw(p, {
      method: 'POST',
      path: '/api/logs/get-since',
      headers: { ...auth(f), ...json },
      body: '{"seq": -3}',
    });
    expect(schema.status).toBe(400);
    expect(JSON.parse(schema.body)).toMatchObject({
      ok: false,
      error: { code: 'invalid-input', issues: [{ key: 'seq' }] },
    });
    const big = await raw(p, {
      method: 'PUT',
      path: '/settings',
      headers: { ...auth(f), ...json },
      body: JSON.stringify({ x: 'a'.repeat(5000) }),
    });
    expect(big.status).toBe(413);
    const form = await raw(p, {
      method: 'POST',
      path: '/luna/daemon/start',
      headers: { ...auth(f), 'content-type': 'text/plain' },
      body: 'x=1',
    });
    expect(form.status).toBe(415);
    const invalidSetting = await raw(p, {
      method: 'PUT',
      path: '/settings',
      headers: { ...auth(f), ...json },
      body: JSON.stringify({ daemon: { port: 70000 } }),
    });
    expect(invalidSetting.status).toBe(400);
    expect(JSON.parse(invalidSetting.body).error.issues).toEqual([
      { key: 'daemon.port', message: 'must be a port number 1–65535' },
    ]);
  });

  it('GET /luna/daemon/status carries the original route field names plus ours', async () => {
    const f = await start();
    const r = await raw(f.server.port, { path: '/luna/daemon/status', headers: auth(f) });
    const s = JSON.parse(r.body);
    expect(s).toMatchObject({
      running: true,
      device: 'cuda:1',
      vram_used_gb: 6.11,
      vram_allocated_gb: 6.11,
      vram_total_gb: 36,
      vram_percent: 17,
      request_count: 3,
      clip_request_count: 2,
      vae_request_count: 0,
      uptime_seconds: 12,
      models_loaded: ['CLIP: clip_l.safetensors'],
      checkpoints: [],
      vae_loaded: false,
      clip_loaded: true,
      weight_registry_models: [{ key: 'sdxl_vae' }],
      state: 'running',
      color: 'green',
      pid: 4242,
      adopted: false,
      restarts: 2,
      generation: 'current',
      lastError: null,
      lastExitCode: 1,
      models: ['clip_l.safetensors', 'sdxl_vae'],
      vram: [
        { device: 'cuda:0', usedGb: 2.5, totalGb: 24 },
        { device: 'cuda:1', usedGb: 3.611, totalGb: 12 },
      ],
    });
    expect(s.gpus[1]).toEqual({
      id: '1',
      name: 'GPU 1',
      used_gb: 3.611,
      reserved_gb: 3.611,
      total_gb: 12,
      percent: 30.1,
      is_daemon_device: true,
    });
  });

  it('the /luna/daemon actions answer {status, message} with honest HTTP codes', async () => {
    const f = await start();
    const p = f.server.port;
    const post = (a: string) => raw(p, { method: 'POST', path: `/luna/daemon/${a}`, headers: auth(f) });
    const started = await post('start');
    expect(started.status).toBe(200);
    expect(JSON.parse(started.body)).toEqual({ status: 'ok', message: 'daemon:start done' });
    const unload = await post('unload');
    expect(unload.status).toBe(500);
    expect(JSON.parse(unload.body)).toEqual({
      status: 'error',
      message: 'Unload failed: CLIP pool not available',
    });
    const stop = await post('stop');
    expect(stop.status).toBe(409);
    expect(JSON.parse((await post('reconnect')).body)).toMatchObject({ status: 'ok' });
    expect((await post('explode')).status).toBe(404);
  });

  it('serves the panel without a token, with a strict CSP, and only its own files', async () => {
    const f = await start();
    const p = f.server.port;
    const page = await raw(p, { path: '/' });
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['x-frame-options']).toBe('DENY');
    // connect-src is this server only (docs/security.md §1): no bare `ws:` scheme (any host).
    const connect = /connect-src ([^;]*)/.exec(String(page.headers['content-security-policy']))![1]!;
    expect(connect.trim().split(/\s+/).sort()).toEqual(
      ["'self'", `ws://127.0.0.1:${p}`, `ws://localhost:${p}`].sort(),
    );
    const meta = readFileSync(
      fileURLToPath(new URL('../../src/renderer/index.html', import.meta.url)),
      'utf8',
    );
    expect(/connect-src ([^;"]*)/.exec(meta)![1]!.trim()).toBe("'self'");
    for (const path of [
      '/../control-token',
      '/%2e%2e/control-token',
      '/static/../control-token',
      '/control-token',
      '/..%2fcontrol-token',
    ]) {
      const r = await raw(p, { path });
      expect(r.status, path).not.toBe(200);
      expect(r.body).not.toContain(f.token);
    }
  });

  it('a one-time code becomes an HttpOnly SameSite=Strict cookie, once', async () => {
    const f = await start();
    const p = f.server.port;
    const url = new URL(f.server.panelUrl());
    const first = await raw(p, { path: `${url.pathname}${url.search}` });
    expect(first.status).toBe(302);
    const cookie = String(first.headers['set-cookie']);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    // A session value, not the master token: the cookie cannot be replayed after a restart.
    expect(cookie).not.toContain(f.token);
    expect(cookie).not.toContain(encodeURIComponent(f.token));
    const again = await raw(p, { path: `${url.pathname}${url.search}` });
    expect(again.status).toBe(401);
    const withCookie = await raw(p, {
      method: 'POST',
      path: '/api/daemon/get-snapshot',
      headers: { cookie: cookie.split(';')[0]!, ...json },
      body: '{}',
    });
    expect(withCookie.status).toBe(200);
    expect(JSON.parse(withCookie.body)).toMatchObject({ ok: true, value: { restarts: 2 } });
  });

  it('the event WebSocket needs the token and the right Origin, then pushes events', async () => {
    const f = await start();
    const p = f.server.port;
    const refused = (headers: Record<string, string>) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${p}/api/events`, { headers });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => resolve(101));
        ws.on('error', () => undefined);
      });
    expect(await refused({})).toBe(401);
    expect(await refused({ ...auth(f), origin: 'http://evil.example' })).toBe(403);
    const ws = new WebSocket(`ws://127.0.0.1:${p}/api/events`, { headers: auth(f) });
    await new Promise((r) => ws.once('open', r));
    const got = new Promise<unknown>((r) =>
      ws.once('message', (d: WebSocket.RawData) => r(JSON.parse((d as Buffer).toString('utf8')))),
    );
    f.fire('app:navigate', { view: 'logs' });
    expect(await got).toEqual({ type: 'app:navigate', data: { view: 'logs' } });
    ws.close();
  });

  it('follows the core events only while an event client is connected', async () => {
    const f = await start();
    const p = f.server.port;
    // Nobody connected: the core sees no listener, so it builds no payloads for nobody.
    expect(EVENT_CHANNELS.map((c) => f.listeners(c))).toEqual(EVENT_CHANNELS.map(() => 0));
    const connect = async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${p}/api/events`, { headers: auth(f) });
      await new Promise((r) => ws.once('open', r));
      return ws;
    };
    const a = await connect();
    const b = await connect();
    // One subscription per channel, however many clients.
    expect(EVENT_CHANNELS.map((c) => f.listeners(c))).toEqual(EVENT_CHANNELS.map(() => 1));
    const got = new Promise<unknown>((r) =>
      b.once('message', (d: WebSocket.RawData) => r(JSON.parse((d as Buffer).toString('utf8')))),
    );
    a.close();
    await new Promise((r) => a.once('close', r));
    // One client left: still followed.
    expect(f.listeners('daemon:status-changed')).toBe(1);
    f.fire('daemon:status-changed', snapshot());
    expect(await got).toMatchObject({ type: 'daemon:status-changed', data: { restarts: 2 } });
    b.terminate();
    await waitFor(() => EVENT_CHANNELS.every((c) => f.listeners(c) === 0), 'no listener left');
    // A new client is followed again.
    const c = await connect();
    expect(f.listeners('logs:appended')).toBe(1);
    c.close();
  });

  it('POST /app/show calls the host; /app/identity says who holds the port', async () => {
    const f = await start();
    const p = f.server.port;
    expect((await raw(p, { method: 'POST', path: '/app/show', headers: auth(f) })).status).toBe(200);
    expect(f.onShow).toHaveBeenCalledTimes(1);
    expect(JSON.parse((await raw(p, { path: '/app/identity' })).body)).toEqual({
      app: 'luna-tray',
      version: 'test',
    });
  });

  it('binding the port is the lock: a second Luna Tray and a foreign holder are told apart', async () => {
    const f = await start();
    // A second launch with the same data dir (the same token) recognises the first one…
    await expect(start(f.server.port, f.dataDir)).rejects.toMatchObject({
      name: 'LockHeldError',
      holder: 'luna-tray',
    });
    // …one with another data dir cannot verify it, so it is not treated as ours (no token is sent).
    await expect(start(f.server.port)).rejects.toMatchObject({ name: 'LockHeldError', holder: 'foreign' });
    const port = await getPort();
    const foreign = spawn(process.execPath, [join(FIXTURES, 'foreign-listener.mjs'), String(port)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    track(foreign.pid);
    await new Promise((r) => foreign.stdout.once('data', r));
    const e = await start(port).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LockHeldError);
    expect(e).toMatchObject({ holder: 'foreign', port });
    expect((e as Error).message).toContain(`127.0.0.1:${port}`);
  });

  it('survives 200 concurrent connections', async () => {
    const f = await start();
    const results = await Promise.all(
      Array.from({ length: 200 }, () =>
        raw(f.server.port, { path: '/luna/daemon/status', headers: auth(f) }).then((r) => r.status),
      ),
    );
    expect(results.every((s) => s === 200)).toBe(true);
  });
});
