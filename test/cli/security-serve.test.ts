/**
 * Security regressions against REAL `luna-tray serve` processes (docs/security.md): pre-auth input
 * that used to end the process, an impostor on the control port, disk faults while saving. Every
 * process is killed by PID at the end.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import getPort from 'get-port';
import { afterEach, describe, expect, it } from 'vitest';

import { SETTINGS_VERSION } from '../../src/shared/settings-schema.js';
import { exited, killAllTracked, sleep, track, waitFor } from '../helpers/processes.js';
import { cliAsync, spawnServe, startServe, type ServeEnv } from '../helpers/serve.js';

const IMPOSTOR = fileURLToPath(new URL('../fixtures/processes/impostor-control.mjs', import.meta.url));

const dirs: string[] = [];
afterEach(() => {
  killAllTracked();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A data dir whose settings start no daemon (nothing to supervise: the control server is the subject). */
async function quietEnv(): Promise<ServeEnv> {
  const dataDir = mkdtempSync(join(tmpdir(), 'luna-sec-'));
  dirs.push(dataDir);
  writeFileSync(
    join(dataDir, 'settings.json'),
    JSON.stringify({ version: SETTINGS_VERSION, daemon: { autoStart: false, port: await getPort() } }),
  );
  return { dataDir, port: await getPort(), daemonPort: 0, daemonWsPort: 0, cleanup: () => undefined };
}

/** Raw request bytes; the status of the answer's first line (0 when the connection closed without one). */
function rawStatus(port: number, text: string): Promise<number> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let got = '';
    const done = () => {
      socket.destroy();
      resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? 0));
    };
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes('\r\n')) done();
    });
    socket.on('close', done);
    socket.on('error', done);
    socket.write(text);
  });
}

describe('pre-authentication crashes (real serve)', () => {
  it('an upgrade to //evil:99999/api/events and a cookie luna_tray_token=%E0%A4%A → 400/401, serve keeps running', async () => {
    const e = await quietEnv();
    const s = await startServe(e, ['--no-open']);
    const upgrade = `Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n`;
    const host = `Host: 127.0.0.1:${e.port}\r\n`;
    expect(await rawStatus(e.port, `GET //evil:99999/api/events HTTP/1.1\r\n${host}${upgrade}\r\n`)).toBe(
      400,
    );
    expect(
      await rawStatus(
        e.port,
        `GET /api/events HTTP/1.1\r\n${host}${upgrade}Cookie: luna_tray_token=%E0%A4%A\r\n\r\n`,
      ),
    ).toBe(401);
    expect(
      await rawStatus(
        e.port,
        `GET /settings HTTP/1.1\r\n${host}Cookie: luna_tray_token=%E0%A4%A\r\nConnection: close\r\n\r\n`,
      ),
    ).toBe(401);
    await sleep(200);
    expect(s.child.exitCode, s.output()).toBeNull();
    const ok = await rawStatus(
      e.port,
      `GET /luna/daemon/status HTTP/1.1\r\n${host}Authorization: Bearer ${s.token()}\r\nConnection: close\r\n\r\n`,
    );
    expect(ok).toBe(200);
  });
});

describe('an impostor on the control port (real CLI processes)', () => {
  /** The victim's data dir has a token; a liar holds the port and claims to be Luna Tray. */
  async function victimAndLiar() {
    const e = await quietEnv();
    const token = 'V'.repeat(43);
    writeFileSync(join(e.dataDir, 'control-token'), `${token}\n`, { mode: 0o600 });
    const liar = spawn(process.execPath, [IMPOSTOR, String(e.port), 'liar'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    track(liar.pid);
    let seen = '';
    liar.stdout.on('data', (d: Buffer) => (seen += d.toString()));
    await waitFor(() => seen.includes('listening'), 'the impostor to listen');
    return { e, token, liarPid: liar.pid!, seen: () => seen };
  }

  it('`luna-tray status` exits 3, names the holder (PID, user) and never sends the token', async () => {
    const { e, token, liarPid, seen } = await victimAndLiar();
    const r = await cliAsync(e, ['status']);
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toContain(
      `port ${e.port} is held by PID ${liarPid} (user ${userInfo().username}), which is not Luna Tray`,
    );
    expect(seen()).not.toContain(token);
    expect(seen()).not.toMatch(/authorization/i);
  });

  it('a second launch (`serve`) finds the liar, names it and sends it nothing', async () => {
    const { e, token, liarPid, seen } = await victimAndLiar();
    const { child, output } = spawnServe(e, ['--no-open']);
    const { code } = await exited(child);
    expect(code, output()).not.toBe(0);
    expect(output()).toContain(`held by PID ${liarPid}`);
    expect(output()).toContain('which is not Luna Tray');
    expect(output()).not.toMatch(/already running/);
    expect(seen()).not.toContain(token);
    expect(seen()).not.toContain('/app/show');
  });
});

describe('settings on a full disk (real serve under a file-size limit)', () => {
  // RLIMIT_FSIZE gives real short writes from the kernel (Node ignores SIGXFSZ): what a nearly full
  // disk does. bash's `ulimit -f` counts KiB. Not on Windows (no ulimit there).
  it('PUT /settings that does not fit → 500 naming the disk error, settings.json intact; a small change still saves', async (ctx) => {
    ctx.skip(process.platform === 'win32', 'no ulimit on Windows');
    const e = await quietEnv();
    const path = join(e.dataDir, 'settings.json');
    const before = readFileSync(path, 'utf8');
    const { child, output } = spawnServe(e, ['--no-open'], ['bash', '-c', 'ulimit -f 8 && exec "$0" "$@"']);
    await waitFor(() => /Panel: http/.test(output()) || child.exitCode !== null, 'serve to start', 20_000);
    expect(child.exitCode, output()).toBeNull();
    const token = readFileSync(join(e.dataDir, 'control-token'), 'utf8').trim();
    const body = JSON.stringify({ daemon: { env: { BIG: 'x'.repeat(12_000) } } });
    const res = await fetch(`http://127.0.0.1:${e.port}/settings`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body,
    });
    const reply = (await res.json()) as { ok: boolean; error?: { code: string; message: string } };
    expect(res.status, JSON.stringify(reply).slice(0, 300)).toBe(500);
    expect(reply.error?.code).not.toBe('invalid-input');
    expect(reply.error?.message).toMatch(/not saved|could not/i);
    expect(readFileSync(path, 'utf8')).toBe(before);
    // A small change still fits and is saved.
    const small = await fetch(`http://127.0.0.1:${e.port}/settings`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ daemon: { env: { SMALL: '1' } } }),
    });
    expect(small.status).toBe(200);
    // The single-daemon form still addresses entry 0 of the saved daemon list (settings v2).
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ daemons: [{ env: { SMALL: '1' } }] });
    child.kill('SIGTERM');
    await exited(child);
  });
});
