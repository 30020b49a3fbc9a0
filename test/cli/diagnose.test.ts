// `luna-tray diagnose --out DIR`: one .tar.gz (unpacked here with the system's tar) holding logs,
// redacted settings, versions, a GPU snapshot, port and PID state and the status history — with
// and without a running serve — and no secret anywhere in it: not the control token, not an env
// value, not a webhook credential, query value or header value.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import getPort from 'get-port';
import { afterEach, describe, expect, it } from 'vitest';

import { killAllTracked } from '../helpers/processes.js';
import { cli, runningDaemonPid, serveEnv, startServe, type ServeEnv } from '../helpers/serve.js';

const ENV_SECRET = 'env-value-SECRET-7f3a';
const WEBHOOK_PASS = 'webhook-pass-SECRET-91c2';
const WEBHOOK_QUERY = 'webhook-query-SECRET-55d0';
const HEADER_SECRET = 'header-SECRET-0b77';
const WEBHOOK_URL = `https://hookuser:${WEBHOOK_PASS}@hooks.example.com/luna?token=${WEBHOOK_QUERY}`;

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  killAllTracked();
});

/** Settings with every kind of secret, and a rotated log in which the daemon printed some of them. */
function plantSecrets(env: Pick<ServeEnv, 'dataDir' | 'port'>): string {
  for (const [k, v] of [
    ['daemon.env', JSON.stringify({ HF_TOKEN: ENV_SECRET, CUDA_VISIBLE_DEVICES: '0' })],
    [
      'notify.webhooks',
      JSON.stringify([
        { url: WEBHOOK_URL, events: ['crashed'], headers: { authorization: `Bearer ${HEADER_SECRET}` } },
      ]),
    ],
  ]) {
    const r = cli(env, ['config', 'set', k!, v!]);
    if (r.status !== 0) throw new Error(`config set ${k}: ${r.stderr}`);
  }
  const token = 'control-token-SECRET-c0ffee-0123456789abcdef';
  writeFileSync(join(env.dataDir, 'control-token'), token, { mode: 0o600 });
  mkdirSync(join(env.dataDir, 'logs'), { recursive: true });
  writeFileSync(
    join(env.dataDir, 'logs', 'daemon.log.1'),
    `INFO HF_TOKEN=${ENV_SECRET}\nINFO posting to ${WEBHOOK_URL}\nINFO token ${token}\nINFO an ordinary line\n`,
  );
  return token;
}

/** Unpack with the system's tar (a real reader checks our writer) and return every file's text. */
function unpack(archive: string): Map<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'luna-diag-unpacked-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const r = spawnSync('tar', ['-xzf', archive, '-C', dir], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const files = new Map<string, string>();
  const walk = (d: string, rel: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p, `${rel}${name}/`);
      else files.set(`${rel}${name}`, readFileSync(p, 'utf8'));
    }
  };
  walk(dir, '');
  return files;
}

function diagnose(env: Pick<ServeEnv, 'dataDir' | 'port'>): { archive: string; stdout: string } {
  const out = mkdtempSync(join(tmpdir(), 'luna-diag-out-'));
  cleanups.push(() => rmSync(out, { recursive: true, force: true }));
  const r = cli(env, ['diagnose', '--out', out]);
  expect(r.status, r.stderr).toBe(0);
  const names = readdirSync(out);
  expect(names).toHaveLength(1);
  expect(names[0]).toMatch(/^luna-tray-diagnostics-[\dT-]+Z\.tar\.gz$/);
  return { archive: join(out, names[0]!), stdout: r.stdout };
}

function expectNoSecret(files: Map<string, string>, token: string): void {
  for (const [name, text] of files) {
    for (const secret of [token, ENV_SECRET, WEBHOOK_PASS, WEBHOOK_QUERY, HEADER_SECRET]) {
      expect(text.includes(secret), `${secret} in ${name}`).toBe(false);
    }
  }
}

/** The files under the archive's one top-level folder, by their names inside it. */
function contents(files: Map<string, string>): Map<string, string> {
  const roots = new Set([...files.keys()].map((k) => k.split('/')[0]));
  expect(roots.size).toBe(1);
  return new Map([...files].map(([k, v]) => [k.slice(k.indexOf('/') + 1), v]));
}

describe('luna-tray diagnose', () => {
  it('without a running Luna Tray: builds the archive from the data directory, with no secret in it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'luna-diag-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const env = { dataDir, port: await getPort() };
    const token = plantSecrets(env);
    const { archive, stdout } = diagnose(env);
    expect(stdout).toContain('Luna Tray is not running');
    const files = contents(unpack(archive));
    expect([...files.keys()].sort()).toEqual([
      'gpu.json',
      'logs/daemon.log.1',
      'settings.json',
      'state.json',
      'status-history.json',
      'summary.json',
      'versions.json',
    ]);
    expectNoSecret(files, token);
    // Redacted by structure: the keys stay, so the settings still tell what was configured.
    const settings = JSON.parse(files.get('settings.json')!) as {
      daemons: { env: Record<string, string> }[];
      notify: { webhooks: { url: string; headers: Record<string, string> }[] };
    };
    // Saved as settings v2: the single daemon is entry 0 of the daemon list.
    expect(settings.daemons[0]!.env).toEqual({ HF_TOKEN: '***', CUDA_VISIBLE_DEVICES: '***' });
    expect(settings.notify.webhooks[0]).toMatchObject({
      url: 'https://***@hooks.example.com/luna?token=***',
      headers: { authorization: '***' },
    });
    expect(files.get('logs/daemon.log.1')).toContain('INFO an ordinary line');
    expect(files.get('logs/daemon.log.1')).toContain('HF_TOKEN=***');
    const versions = JSON.parse(files.get('versions.json')!) as {
      node: string;
      python: { version: string } | null;
      os: { platform: string };
    };
    expect(versions.node).toBe(process.version);
    expect(versions.os.platform).toBe(process.platform);
    const state = JSON.parse(files.get('state.json')!) as {
      serve: { running: boolean; controlPort: { port: number; listening: boolean } };
      daemons: { id: string; protocolPort: { port: number } }[];
    };
    expect(state.serve).toMatchObject({ running: false, controlPort: { port: env.port, listening: false } });
    expect(state.daemons[0]).toMatchObject({ id: 'default', protocolPort: { port: 19283 } });
  });

  it('with serve running: the server builds it, with the live status history, and no secret in it', async () => {
    const env = await serveEnv();
    cleanups.push(() => env.cleanup());
    const token = plantSecrets(env);
    const serve = await startServe(env);
    cleanups.push(async () => {
      serve.child.kill('SIGTERM');
      await serve.exited;
    });
    const pid = await runningDaemonPid(env);
    const { archive, stdout } = diagnose(env);
    expect(stdout).toContain('from the running Luna Tray');
    const files = contents(unpack(archive));
    expectNoSecret(files, serve.token());
    expectNoSecret(files, token);
    const history = JSON.parse(files.get('status-history.json')!) as {
      snapshot: { status: { state: string; pid: number } };
      transitions: { daemon: string; state: string }[];
    };
    expect(history.snapshot.status).toMatchObject({ state: 'running', pid });
    expect(history.transitions.map((t) => t.state)).toEqual(expect.arrayContaining(['starting', 'running']));
    expect(history.transitions.every((t) => t.daemon === 'default')).toBe(true);
    const state = JSON.parse(files.get('state.json')!) as {
      serve: { running: boolean; pid: number; controlPort: number };
      daemons: {
        protocolPort: { port: number; listening: boolean; holder: { pid: number } | null };
        pidFile: { pid: number; alive: boolean };
      }[];
    };
    expect(state.serve).toEqual({ running: true, pid: serve.pid, controlPort: env.port });
    expect(state.daemons[0]!.protocolPort).toMatchObject({ port: env.daemonPort, listening: true });
    expect(state.daemons[0]!.pidFile).toMatchObject({ pid, alive: true });
    expect(files.has('logs/daemon.log')).toBe(true);
    // The route behind the bridge is token-protected like every other.
    const res = await fetch(`http://127.0.0.1:${env.port}/api/app/diagnostics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(401);
  });
});
