/**
 * An impostor on the control port (docs/security.md §2): another program (another local user's,
 * in the report) holds the port while Luna Tray is stopped and claims to be it. The CLI's client
 * and the second-launch hand-over must not send it the token; our own server must prove itself.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import getPort from 'get-port';
import { afterEach, describe, expect, it } from 'vitest';

import { ApiClient, ApiUnavailableError } from '../../src/cli/api-client.js';
import { identityProof } from '../../src/core/control/auth.js';
import { LockHeldError, proveHolder, requestShow } from '../../src/core/control/lock.js';
import { killAllTracked, track, waitFor } from '../helpers/processes.js';
import { startMinimalServer, type MinimalServer } from './minimal-server.js';

const IMPOSTOR = fileURLToPath(new URL('../fixtures/processes/impostor-control.mjs', import.meta.url));
const TOKEN = 'A'.repeat(43);

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  killAllTracked();
  for (const c of cleanups.splice(0)) await c();
});

/** A data dir holding a known token, as the victim's would. */
function victimDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'luna-victim-'));
  writeFileSync(join(dir, 'control-token'), `${TOKEN}\n`, { mode: 0o600 });
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Start the impostor; `seen()` lists every request it received. */
async function impostor(port: number, mode = 'liar', asUid?: number) {
  const child = spawn(process.execPath, [IMPOSTOR, String(port), mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
    ...(asUid === undefined ? {} : { uid: asUid, gid: asUid }),
  });
  track(child.pid);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(() => out.includes('listening'), 'the impostor to listen');
  const seen = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { url: string; headers: Record<string, string> });
  return { pid: child.pid!, seen };
}

async function server(port?: number): Promise<MinimalServer> {
  const s = await startMinimalServer(port);
  cleanups.push(() => s.close());
  return s;
}

describe('the holder of the control port must prove it knows the token before it gets it', () => {
  it('a liar answering "I am luna-tray" is named (PID, user) and gets no token from the CLI client', async () => {
    const port = await getPort();
    const liar = await impostor(port);
    const api = await ApiClient.create(port, victimDataDir());
    const e = await api.call('GET', '/luna/daemon/status').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ApiUnavailableError);
    const message = (e as Error).message;
    expect(message).toContain(`port ${port} is held by PID ${liar.pid} (user ${userInfo().username})`);
    expect(message).toContain('which is not Luna Tray');
    // It was asked for its identity (with a nonce), and nothing else; the token never travelled.
    expect(liar.seen().map((r) => r.url.split('?')[0])).toEqual(['/app/identity']);
    expect(JSON.stringify(liar.seen())).not.toContain(TOKEN);
    // The event socket waits for the same proof.
    const closed = await new Promise<string>((resolve) => api.events(() => undefined, resolve));
    expect(closed).toContain('which is not Luna Tray');
    expect(JSON.stringify(liar.seen())).not.toContain(TOKEN);
  });

  it('the second-launch hand-over (requestShow, also used by the Electron main) sends nothing to a liar', async () => {
    const port = await getPort();
    const liar = await impostor(port);
    expect(await requestShow(port, victimDataDir())).toBe(false);
    expect(liar.seen().some((r) => r.url === '/app/show')).toBe(false);
    expect(JSON.stringify(liar.seen())).not.toContain(TOKEN);
  });

  it('a relay that forwards the nonce to a real Luna Tray on another port fails: the proof is bound to the port', async () => {
    const real = await server();
    const port = await getPort();
    const relay = await impostor(port, `relay:${real.server.port}`);
    const check = await proveHolder(port, async () => real.token);
    expect(check).toMatchObject({ kind: 'impostor', who: expect.stringContaining(`PID ${relay.pid}`) });
    // The relay did get a genuine proof for the real port, which is worthless for its own.
    const url = relay.seen()[0]!.url;
    expect(url).toMatch(/^\/app\/identity\?nonce=[A-Za-z0-9_-]{43}$/);
  });

  it('through a tunnel (--url) the proof is checked for the port the far side states, never without the token', async () => {
    // The relay is exactly what an SSH tunnel is: the user named it with --url, so the proof for the
    // far side's port counts (docs/security.md §2, "SSH tunnels")…
    const real = await server();
    const port = await getPort();
    await impostor(port, `relay:${real.server.port}`);
    expect(await proveHolder(port, async () => real.token, undefined, { tunnel: true })).toEqual({
      kind: 'luna-tray',
    });
    // …but the far side must still know OUR token: another box's token is refused.
    expect(await proveHolder(port, async () => TOKEN, undefined, { tunnel: true })).toMatchObject({
      kind: 'impostor',
    });
  });

  it('an impostor run by ANOTHER OS user is named with that user (Linux, as root: run it as nobody)', async (ctx) => {
    ctx.skip(
      process.platform !== 'linux' || process.getuid?.() !== 0,
      'needs Linux and root (to run the impostor as another user)',
    );
    const port = await getPort();
    const liar = await impostor(port, 'liar', 65534);
    const check = await proveHolder(port, async () => TOKEN);
    expect(check).toMatchObject({ kind: 'impostor', who: `PID ${liar.pid} (user nobody)` });
  });

  it('our own server proves itself, for the CLI client and for requestShow', async () => {
    const real = await server();
    expect(await proveHolder(real.server.port, async () => real.token)).toEqual({ kind: 'luna-tray' });
    const api = await ApiClient.create(real.server.port, real.dataDir);
    expect((await api.call('GET', '/luna/daemon/status')).status).not.toBe(401);
    expect(await requestShow(real.server.port, real.dataDir)).toBe(true);
    expect(real.onShow).toHaveBeenCalledTimes(1);
    // With a different data dir (another token), the same server is not ours: nothing is sent.
    const other = await ApiClient.create(real.server.port, victimDataDir());
    await expect(other.call('GET', '/luna/daemon/status')).rejects.toThrow(/which is not Luna Tray/);
  });

  it('the proof is an HMAC of the nonce keyed by the token; a malformed nonce is a 400', async () => {
    const real = await server();
    const nonce = 'n'.repeat(43);
    const res = await fetch(`http://127.0.0.1:${real.server.port}/app/identity?nonce=${nonce}`);
    const body = (await res.json()) as { app: string; proof: string };
    expect(body.app).toBe('luna-tray');
    expect(body.proof).toBe(identityProof(real.token, nonce, real.server.port));
    expect(body.proof).not.toContain(real.token);
    const bad = await fetch(`http://127.0.0.1:${real.server.port}/app/identity?nonce=short`);
    expect(bad.status).toBe(400);
  });

  it('a second server on a port held by a liar reports a foreign holder, naming it', async () => {
    const port = await getPort();
    const liar = await impostor(port);
    const e = await startMinimalServer(port).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LockHeldError);
    expect(e).toMatchObject({ holder: 'foreign', who: expect.stringContaining(`PID ${liar.pid}`) });
    expect((e as Error).message).toContain('which is not Luna Tray');
    expect(liar.seen().every((r) => r.url.startsWith('/app/identity?nonce='))).toBe(true);
  });
});
