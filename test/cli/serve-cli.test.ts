import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { isAlive, killAllTracked, waitFor, waitForPidGone } from '../helpers/processes.js';
import { cli, cliAsync, serveEnv, startServe, type ServeEnv } from '../helpers/serve.js';

const envs: ServeEnv[] = [];
afterEach(() => {
  // Serve processes first (SIGKILL), then the daemons they spawned (recorded in each PID file).
  killAllTracked();
  for (const e of envs.splice(0)) e.cleanup();
});

async function env(extra: [string, string][] = []): Promise<ServeEnv> {
  const e = await serveEnv(extra);
  envs.push(e);
  return e;
}

async function http(
  e: ServeEnv,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await fetch(`http://127.0.0.1:${e.port}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { status: res.status, body: json as Record<string, unknown> };
}

/** `serve` started, and its daemon running: the serve handle and the daemon PID. */
async function serveWithRunningDaemon(e: ServeEnv) {
  const s = await startServe(e);
  await waitFor(() => JSON.parse(cli(e, ['status', '--json']).stdout).state === 'running', 'running', 20_000);
  return { s, pid: daemonPid(e)! };
}

const daemonPid = (e: ServeEnv) => JSON.parse(cli(e, ['status', '--json']).stdout).pid as number | null;

describe('luna-tray serve + CLI (real processes)', () => {
  it('full lifecycle through the CLI, with the status JSON the scripts rely on', async () => {
    const e = await env();
    await startServe(e);
    await waitFor(
      () => JSON.parse(cli(e, ['status', '--json']).stdout).state === 'running',
      'running',
      20_000,
    );
    const status = JSON.parse(cli(e, ['status', '--json']).stdout);
    for (const key of [
      'state',
      'color',
      'pid',
      'adopted',
      'restarts',
      'uptimeSec',
      'generation',
      'models',
      'vram',
      'lastError',
      'lastExitCode',
    ]) {
      expect(status, key).toHaveProperty(key);
    }
    expect(status).toMatchObject({
      state: 'running',
      color: 'green',
      adopted: false,
      generation: 'current',
      restarts: 0,
      lastError: null,
    });
    expect(Array.isArray(status.models)).toBe(true);
    const pid = status.pid as number;
    expect(isAlive(pid)).toBe(true);

    const human = cli(e, ['status']);
    expect(human.status).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`● running \\(PID ${pid}, spawned, current protocol\\)`));

    await waitFor(
      () => JSON.parse(cli(e, ['status', '--json']).stdout).models.length > 0,
      'models to load',
      15_000,
    );
    const unload = cli(e, ['unload']);
    expect(unload.status).toBe(0);
    expect(unload.stdout).toContain('Unloaded: CLIP');

    const stop = cli(e, ['stop']);
    expect(stop.status, stop.stderr).toBe(0);
    expect(stop.stdout).toContain('stopped gracefully');
    expect(isAlive(pid)).toBe(false);
    const stopped = JSON.parse(cli(e, ['status', '--json']).stdout);
    expect(stopped).toMatchObject({ state: 'stopped', color: 'gray', pid: null, lastExitCode: 0 });

    const notRunning = cli(e, ['unload']);
    expect(notRunning.status).toBe(1);
    expect(notRunning.stderr).toContain('not running');

    expect(cli(e, ['start']).status).toBe(0);
    const restarted = cli(e, ['restart']);
    expect(restarted.status).toBe(0);
    expect(JSON.parse(cli(e, ['status', '--json']).stdout).state).toBe('running');

    const logs = cli(e, ['logs', '-n', '500', '--json']);
    expect(logs.status).toBe(0);
    const entries = logs.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { seq: number; text: string });
    expect(entries.some((x) => x.text.includes('Luna Daemon Ready!'))).toBe(true);
    const seqs = entries.map((x) => x.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    const warnOnly = cli(e, ['logs', '-n', '1', '--level', 'warning']);
    expect(warnOnly.stdout.trim().split('\n')).toHaveLength(1);
    expect(warnOnly.stdout).toMatch(/ (WARNING|ERROR|CRITICAL) /);
  });

  it('full lifecycle through HTTP, with honest codes and the security rules', async () => {
    const e = await env([['daemon.profile', 'simulator']]);
    const s = await startServe(e, ['--no-open']);
    const token = s.token();
    expect((await http(e, 'wrong', 'GET', '/luna/daemon/status')).status).toBe(401);
    expect(
      (await http(e, token, 'GET', '/luna/daemon/status', undefined, { origin: 'http://evil.example' }))
        .status,
    ).toBe(403);
    // fetch() refuses to forge Host; node:http does not.
    const rebinding = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: e.port,
          path: '/luna/daemon/status',
          headers: { host: `rebind.example:${e.port}`, authorization: `Bearer ${token}` },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(rebinding).toBe(403);
    expect((await http(e, token, 'PUT', '/settings', '{"daemon": ')).status).toBe(400);
    const invalid = await http(e, token, 'PUT', '/settings', { daemon: { port: 'nope' } });
    expect(invalid.status).toBe(400);
    expect(JSON.stringify(invalid.body)).toContain('daemon.port');
    expect((await http(e, token, 'PUT', '/settings', { x: 'y'.repeat(200_000) })).status).toBe(413);

    const before = await http(e, token, 'GET', '/luna/daemon/status');
    expect(before.body).toMatchObject({ running: false, state: 'stopped', color: 'gray' });
    const start = await http(e, token, 'POST', '/luna/daemon/start', {});
    expect(start).toMatchObject({ status: 200, body: { status: 'ok' } });
    const justStarted = await http(e, token, 'GET', '/luna/daemon/status');
    expect(justStarted.body).toMatchObject({ running: true, state: 'running', color: 'green' });
    // The info fields follow with the first get_info (asynchronous after readiness).
    const running = await waitFor(async () => {
      const r = await http(e, token, 'GET', '/luna/daemon/status');
      return 'device' in r.body ? r : null;
    }, 'the first daemon info');
    expect(running.body).toMatchObject({ running: true, state: 'running', color: 'green', device: 'cuda:1' });
    for (const key of [
      'vram_used_gb',
      'vram_total_gb',
      'vram_percent',
      'request_count',
      'uptime_seconds',
      'models_loaded',
      'gpus',
    ]) {
      expect(running.body, key).toHaveProperty(key);
    }
    const stop = await http(e, token, 'POST', '/luna/daemon/stop', {});
    expect(stop).toMatchObject({ status: 200, body: { status: 'ok' } });
    const unload = await http(e, token, 'POST', '/luna/daemon/unload', {});
    expect(unload).toMatchObject({ status: 409, body: { status: 'error' } });
    const settings = await http(e, token, 'PUT', '/settings', {
      comfyui: { discover: false },
      logs: { bufferSize: 20000 },
    });
    expect(settings.status).toBe(200);
    expect(cli(e, ['config', 'get', 'logs.bufferSize']).stdout.trim()).toBe('20000');
    const page = await http(e, token, 'GET', '/logs?since=0&limit=5');
    expect(page.body).toMatchObject({ ok: true });
    expect((page.body.value as { entries: unknown[] }).entries.length).toBeLessThanOrEqual(5);
  });

  it('a second serve hands over to the first (show) and exits 0', async () => {
    const e = await env();
    const first = await startServe(e, ['--no-open']);
    const second = await cliAsync(e, ['serve', '--no-open']);
    expect(second.status).toBe(0);
    expect(second.stdout).toContain(`Luna Tray is already running on 127.0.0.1:${e.port}`);
    await waitFor(
      () => first.output().includes('Another launch asked for the panel'),
      'show on the first instance',
    );
    expect(isAlive(first.pid)).toBe(true);
  });

  it('SIGINT stops the daemon gracefully and leaves no orphan', async () => {
    const e = await env();
    const { s, pid } = await serveWithRunningDaemon(e);
    s.child.kill('SIGINT');
    const exit = await s.exited;
    expect(exit.code).toBe(0);
    await waitForPidGone(pid, 5_000);
    expect(readFileSync(join(e.dataDir, 'logs', 'daemon.log'), 'utf8')).toContain(
      'The Luna daemon stopped gracefully.',
    );
    expect(cli(e, ['status']).status).toBe(3);
  });

  it('`luna-tray quit` stops serve and its daemon, and returns once both are gone', async () => {
    const e = await env();
    const { s, pid } = await serveWithRunningDaemon(e);
    const q = await cliAsync(e, ['quit']);
    expect(q.status, q.stderr).toBe(0);
    expect(q.stdout).toContain('Luna Tray quit.');
    expect((await s.exited).code).toBe(0);
    await waitForPidGone(pid, 5_000);
    expect(cli(e, ['quit']).status).toBe(3);
  });

  it('serve killed with SIGKILL → the next serve adopts its daemon through the PID file', async () => {
    const e = await env([['app.keepDaemonOnExit', 'false']]);
    const { s, pid } = await serveWithRunningDaemon(e);
    s.child.kill('SIGKILL');
    await s.exited;
    expect(isAlive(pid)).toBe(true);
    expect(JSON.parse(readFileSync(join(e.dataDir, 'daemon.pid.json'), 'utf8')).pid).toBe(pid);
    await startServe(e);
    await waitFor(
      () => JSON.parse(cli(e, ['status', '--json']).stdout).state === 'running',
      'running again',
      20_000,
    );
    const status = JSON.parse(cli(e, ['status', '--json']).stdout);
    expect(status).toMatchObject({ adopted: true, pid });
    expect(cli(e, ['stop']).status).toBe(0);
    await waitForPidGone(pid, 5_000);
  });

  it('CLI errors are actionable, with documented exit codes', async () => {
    const e = await env();
    const down = cli(e, ['status']);
    expect(down.status).toBe(3);
    expect(down.stderr).toContain('Luna Tray is not running');
    expect(down.stderr).toContain('luna-tray serve');
    const unknown = cli(e, ['frobnicate']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    const badKey = cli(e, ['config', 'set', 'daemon.nope', '1']);
    expect(badKey.status).toBe(2);
    expect(badKey.stderr).toContain('unknown settings key "daemon.nope"');
    const badValue = cli(e, ['config', 'set', 'daemon.port', '70000']);
    expect(badValue.status).toBe(1);
    expect(badValue.stderr).toContain('daemon.port: must be a port number 1–65535');
    expect(cli(e, ['config', 'get', 'daemon.port']).stdout.trim()).toBe(String(e.daemonPort));
    expect(cli(e, ['config', 'set', 'daemon.args', '["--log-rate","5"]']).status).toBe(0);
    expect(JSON.parse(cli(e, ['config', 'get', 'daemon.args']).stdout)).toEqual(['--log-rate', '5']);
    expect(cli(e, ['config', 'path']).stdout.trim()).toBe(join(e.dataDir, 'settings.json'));
    const help = cli(e, ['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Exit codes: 0 success');
    expect(cli(e, ['logs', '-n', 'x']).status).toBe(2);
  });
});
