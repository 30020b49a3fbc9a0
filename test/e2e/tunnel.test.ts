import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import getPort from 'get-port';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { killAllTracked, waitFor } from '../helpers/processes.js';
import { cli, runCli, serveEnv, startServe, type ServeEnv } from '../helpers/serve.js';

/**
 * Issue 19 §3: a headless box reached through `ssh -L 29299:127.0.0.1:19299 gpu-box`. A tiny TCP
 * forwarder stands in for ssh: it listens on a free local port and pipes every connection to the
 * real control port, bytes untouched, so the server sees the tunnel's port in `Host` exactly as it
 * does behind ssh. The CLI (`--url`, `--token-file`, and their environment variables) and a real
 * Chromium go through it.
 */

const CHROMIUM = '/usr/bin/chromium';

let env: ServeEnv;
let forwarder: Server;
let tunnelPort: number;
let browser: Browser | undefined;
/** A data dir of the "laptop": no token of its own; the box's token is copied next to it. */
let laptopDir: string;
let tokenCopy: string;
const sockets = new Set<Socket>();
let forwarded = 0;

/** `ssh -L tunnelPort:127.0.0.1:<control port>`, in-process. */
async function startForwarder(target: number): Promise<Server> {
  const server = createServer((inbound) => {
    forwarded++;
    const outbound = connect({ host: '127.0.0.1', port: target });
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
  });
  await new Promise<void>((resolve) => server.listen(tunnelPort, '127.0.0.1', resolve));
  return server;
}

/** The CLI on the "laptop": no --port, no data dir token; `args` carry --url etc. */
function laptopCli(args: string[], extraEnv: Record<string, string> = {}) {
  return runCli(['--data-dir', laptopDir, ...args], {
    LUNA_TRAY_URL: '',
    LUNA_TRAY_TOKEN_FILE: '',
    ...extraEnv,
  });
}

/** `luna-tray open --print` through the tunnel: the panel link. */
async function tunnelPanelLink(): Promise<string> {
  const open = await laptopCli([
    '--url',
    `http://127.0.0.1:${tunnelPort}`,
    '--token-file',
    tokenCopy,
    'open',
    '--print',
  ]);
  expect(open.status, open.stderr).toBe(0);
  return open.stdout.trim();
}

/** A raw request straight to the control port, with chosen Host and Origin headers. */
async function direct(path: string, headers: Record<string, string>): Promise<number> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: env.port, path, headers, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: the tunnel e2e needs it. Install it with \`apt-get install -y chromium\`.`,
    );
  }
  env = await serveEnv();
  await startServe(env);
  tunnelPort = await getPort({ exclude: [env.port] });
  forwarder = await startForwarder(env.port);
  laptopDir = mkdtempSync(join(tmpdir(), 'luna-laptop-'));
  tokenCopy = join(laptopDir, 'gpu-box.token');
  copyFileSync(join(env.dataDir, 'control-token'), tokenCopy);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => (forwarder ? forwarder.close(() => r()) : r()));
  killAllTracked();
  env?.cleanup();
  if (laptopDir) rmSync(laptopDir, { recursive: true, force: true });
}, 60_000);

describe('an SSH tunnel to a headless box (a TCP forwarder on another local port)', () => {
  it('the CLI drives the box with --url and --token-file, and with LUNA_TRAY_URL / LUNA_TRAY_TOKEN_FILE', async () => {
    const url = `http://127.0.0.1:${tunnelPort}`;
    const before = forwarded;
    const status = await waitFor(
      async () => {
        const r = await laptopCli(['--url', url, '--token-file', tokenCopy, 'status', '--json']);
        if (r.status !== 0) throw new Error(`status through the tunnel: exit ${r.status}\n${r.stderr}`);
        const s = JSON.parse(r.stdout) as { running: boolean; pid: number };
        return s.running ? s : undefined;
      },
      'the daemon running, seen through the tunnel',
      30_000,
    );
    expect(status.pid).toBeGreaterThan(0);
    // It really went through the forwarder (identity proof, then the call).
    expect(forwarded).toBeGreaterThan(before);

    const viaEnv = await laptopCli(['status', '--json'], {
      LUNA_TRAY_URL: `http://localhost:${tunnelPort}/`,
      LUNA_TRAY_TOKEN_FILE: tokenCopy,
    });
    expect(viaEnv.status, viaEnv.stderr).toBe(0);
    expect((JSON.parse(viaEnv.stdout) as { pid: number }).pid).toBe(status.pid);

    // An action, not only a read: `check` pings the daemon on the box.
    const check = await laptopCli(['--url', url, '--token-file', tokenCopy, 'check']);
    expect(check.status, check.stderr).toBe(0);
  });

  it('without the box token the CLI sends nothing it should not and exits 3; a non-loopback --url is a usage error', async () => {
    // The laptop's data dir has no token: the identity proof cannot be checked, nothing is sent.
    const noToken = await laptopCli(['--url', `http://127.0.0.1:${tunnelPort}`, 'status']);
    expect(noToken.status).toBe(3);
    // A wrong token file: the box's proof does not match it, so it is refused before any call.
    const wrong = join(laptopDir, 'wrong.token');
    copyFileSync(tokenCopy, wrong);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(wrong, `${'x'.repeat(43)}\n`);
    const refused = await laptopCli([
      '--url',
      `http://127.0.0.1:${tunnelPort}`,
      '--token-file',
      wrong,
      'status',
    ]);
    expect(refused.status).toBe(3);
    expect(refused.stderr).toMatch(/not Luna Tray|could not prove/);
    // The token travels in clear HTTP: only loopback URLs (the tunnel's local end) are accepted.
    const remote = await laptopCli(['--url', 'http://gpu-box:19299', '--token-file', tokenCopy, 'status']);
    expect(remote.status).toBe(2);
    expect(remote.stderr).toContain('SSH tunnel');
    // Nothing listening there (the tunnel is down): exit 3 with a tunnel hint.
    const down = await laptopCli([
      '--url',
      `http://127.0.0.1:${await getPort({ exclude: [tunnelPort, env.port] })}`,
      '--token-file',
      tokenCopy,
      'status',
    ]);
    expect(down.status).toBe(3);
    expect(down.stderr).toContain('SSH tunnel');
  });

  it('the Host check takes loopback names on any port, refuses foreign names, and the Origin must match the Host', async () => {
    const other = tunnelPort;
    for (const host of [`127.0.0.1:${other}`, `localhost:${other}`, `[::1]:${other}`, 'localhost']) {
      expect(await direct('/app/identity', { host }), host).toBe(200);
    }
    for (const host of [`evil.example:${other}`, `evil.example:${env.port}`, `127.0.0.1.nip.io:${other}`]) {
      expect(await direct('/app/identity', { host }), host).toBe(403);
    }
    // Same-origin through the tunnel is fine; a page on another loopback port (same-site!) is not.
    expect(
      await direct('/app/identity', { host: `127.0.0.1:${other}`, origin: `http://127.0.0.1:${other}` }),
    ).toBe(200);
    expect(
      await direct('/app/identity', { host: `127.0.0.1:${other}`, origin: `http://127.0.0.1:${env.port}` }),
    ).toBe(403);
    expect(
      await direct('/app/identity', { host: `127.0.0.1:${other}`, origin: 'http://127.0.0.1:8188' }),
    ).toBe(403);
  });

  it('`luna-tray open --print` through the tunnel gives a link on the tunnel port, and the panel works in Chromium', async () => {
    const link = await tunnelPanelLink();
    expect(link).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${tunnelPort}/\\?code=[A-Za-z0-9_-]+$`));

    browser ??= await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    const page = await (await browser.newContext()).newPage();
    const errors: string[] = [];
    const foreign: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    // Every console error counts (a CSP violation or a directive the page's policy gets wrong, too).
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('request', (r) => {
      if (
        !r.url().startsWith(`http://127.0.0.1:${tunnelPort}/`) &&
        !r.url().startsWith(`ws://127.0.0.1:${tunnelPort}/`)
      )
        foreign.push(r.url());
    });
    let frames = 0;
    page.on('websocket', (ws) => {
      if (!ws.url().startsWith(`ws://127.0.0.1:${tunnelPort}/`)) foreign.push(ws.url());
      ws.on('framereceived', () => frames++);
    });
    await page.goto(link);
    // The code was exchanged for the cookie and the panel loaded on the tunnel's origin.
    expect(new URL(page.url()).port).toBe(String(tunnelPort));
    await page.waitForSelector('#app[data-loaded="true"]', { timeout: 30_000 });
    // Live data arrives over the event WebSocket through the tunnel: the daemon's PID is shown.
    const pid = await waitFor(
      async () => {
        const t = await page.$eval('[data-fact="pid"]', (el) => el.textContent ?? '').catch(() => '');
        return /^\d+$/.test(t.trim()) ? Number(t.trim()) : undefined;
      },
      'the daemon PID in the panel',
      30_000,
    );
    expect(pid).toBeGreaterThan(0);
    // The event WebSocket (cookie, Host and Origin of the tunnel's port) delivers pushes.
    await waitFor(() => frames > 0 || undefined, 'a push on the event WebSocket', 15_000);
    // A panel action through the tunnel: the panel's own API call with its session cookie.
    const ping = await page.evaluate(async () => {
      const r = await fetch('/api/daemon/check', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      return { status: r.status, body: (await r.json()) as { ok: boolean } };
    });
    expect(ping.status).toBe(200);
    expect(ping.body.ok).toBe(true);
    expect(foreign).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('a local panel and a tunnelled one in the same browser keep separate session cookies (cookies ignore ports)', async () => {
    browser ??= await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    const context = await browser.newContext();
    const local = cli(env, ['open', '--print']);
    expect(local.status, local.stderr).toBe(0);
    const pages = [];
    for (const link of [local.stdout.trim(), await tunnelPanelLink()]) {
      const page = await context.newPage();
      await page.goto(link);
      await page.waitForSelector('#app[data-loaded="true"]', { timeout: 30_000 });
      pages.push(page);
    }
    // One cookie per port: the tunnelled panel's did not replace the local one's.
    const names = (await context.cookies('http://127.0.0.1')).map((c) => c.name).sort();
    expect(names).toEqual(['luna_tray_token', `luna_tray_token_${tunnelPort}`]);
    for (const page of pages) {
      const status = await page.evaluate(async () => (await fetch('/luna/daemon/status')).status);
      expect(status, page.url()).toBe(200);
    }
    await context.close();
  });
});
