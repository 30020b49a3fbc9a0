// `luna-tray logs` against a stand-in control server. `-f` while Luna Tray goes away and comes back: one reconnect timer with capped
// backoff (the old code retried from both `error` and `close`, doubling the attempts every
// second), "waiting for Luna Tray…" once, and the log resumed by sequence number with nothing lost
// or repeated.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import getPort from 'get-port';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';

import { identityProof } from '../../src/core/control/auth.js';
import type { LogEntry } from '../../src/shared/log-entry.js';
import { killAllTracked, sleep, track, waitFor } from '../helpers/processes.js';
import { CLI } from '../helpers/serve.js';

const TOKEN = 'follow-test-token';

/** Just enough of the control server for `logs`: the log page route and the event socket. */
function fakeControlServer(log: LogEntry[]) {
  const clients = new Set<WebSocket>();
  const wss = new WebSocketServer({ noServer: true });
  const server: Server = createHttpServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/app/identity') {
      // The CLI sends the token only to a holder that proves it knows it.
      const port = (server.address() as AddressInfo).port;
      const proof = identityProof(TOKEN, url.searchParams.get('nonce') ?? '', port);
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ proof }));
    }
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return void res.writeHead(401).end();
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (req.url !== '/api/logs/get-since') return void res.writeHead(404).end();
      const { seq, limit } = JSON.parse(body) as { seq: number; limit?: number };
      const entries = log.filter((e) => e.seq > seq).slice(0, limit ?? 3);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          ok: true,
          value: { entries, firstSeq: log[0]?.seq ?? 1, lastSeq: log.at(-1)?.seq ?? 0 },
        }),
      );
    });
  });
  server.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      clients.add(ws);
      ws.on('close', () => clients.delete(ws));
    });
  });
  return {
    server,
    push(...entries: LogEntry[]) {
      log.push(...entries);
      for (const c of clients) c.send(JSON.stringify({ type: 'logs:appended', data: { entries } }));
    },
    async close() {
      for (const c of clients) c.terminate();
      await new Promise((r) => server.close(r));
    },
  };
}

const entry = (seq: number): LogEntry => ({
  seq,
  ts: Date.now(),
  level: 'info',
  source: 'stdout',
  text: `line ${seq}`,
});

let child: ChildProcess | undefined;
afterAll(() => {
  child?.kill('SIGKILL');
  killAllTracked();
});

describe('logs -f across an outage', () => {
  it('retries on one capped timer, says it waits once, and resumes by seq with nothing lost or repeated', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'luna-follow-'));
    await writeFile(join(dataDir, 'control-token'), TOKEN, { mode: 0o600 });
    const port = await getPort();
    const log = [1, 2, 3, 4, 5].map(entry);
    let fake = fakeControlServer(log);
    await new Promise<void>((r) => fake.server.listen(port, '127.0.0.1', r));

    child = spawn(
      process.execPath,
      [CLI, '--data-dir', dataDir, '--port', String(port), 'logs', '-f', '-n', '2', '--json'],
      { env: { ...process.env, NO_COLOR: '1' } },
    );
    track(child.pid);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const seqs = () =>
      out
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as LogEntry).seq);

    await waitFor(() => seqs().length === 2, 'the last 2 entries', 10_000);
    await sleep(300); // the socket is open
    fake.push(entry(6), entry(7));
    await waitFor(() => seqs().at(-1) === 7, 'pushed entries', 5_000);

    // The server goes away; a bare listener counts the reconnect attempts and drops them all.
    await fake.close();
    let attempts = 0;
    const tcp: TcpServer = createTcpServer((s) => {
      attempts++;
      s.destroy();
    });
    await new Promise<void>((r) => tcp.listen(port, '127.0.0.1', r));
    log.push(...[8, 9, 10, 11, 12, 13, 14].map(entry)); // written while nobody could see them
    await sleep(6_000);
    await new Promise((r) => tcp.close(r));
    // Backoff 250 ms doubling to a 5 s cap: 4 tries in 6 s. Retrying from both `error` and `close`
    // doubles every round (31 tries by then, thousands a few seconds later).
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(attempts).toBeLessThanOrEqual(6);
    expect(err.match(/waiting for Luna Tray…/g)).toHaveLength(1);

    // It comes back with the same log: the gap is fetched page by page (3 per page here), then live.
    fake = fakeControlServer(log);
    await new Promise<void>((r) => fake.server.listen(port, '127.0.0.1', r));
    await waitFor(() => seqs().at(-1) === 14, 'the gap after reconnecting', 15_000);
    fake.push(entry(15));
    await waitFor(() => seqs().at(-1) === 15, 'live again', 5_000);
    expect(seqs()).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    expect(err).toContain('reconnected to Luna Tray.');

    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child!.on('exit', (c) => r(c)));
    expect(code).toBe(0);
    await fake.close();
    await rm(dataDir, { recursive: true, force: true });
  }, 60_000);
});

describe('output is complete when piped', () => {
  it('logs -n 3000 --json into a pipe that is read only after a second: every line arrives, exit 0', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'luna-pipe-'));
    await writeFile(join(dataDir, 'control-token'), TOKEN, { mode: 0o600 });
    const port = await getPort();
    const log = Array.from({ length: 3000 }, (_, i) => ({
      ...entry(i + 1),
      text: `line ${i + 1} ${'x'.repeat(200)}`,
    }));
    const fake = fakeControlServer(log);
    await new Promise<void>((r) => fake.server.listen(port, '127.0.0.1', r));
    const c = spawn(
      process.execPath,
      [CLI, '--data-dir', dataDir, '--port', String(port), 'logs', '-n', '3000', '--json'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    track(c.pid);
    // A slow reader: nothing is read for a second, so the CLI finishes long before its output drains.
    c.stdout.pause();
    const exit = new Promise<number | null>((r) => c.on('exit', (code) => r(code)));
    await sleep(1_000);
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stdout.resume();
    await new Promise((r) => c.stdout.on('end', r));
    expect(await exit).toBe(0);
    const lines = out.split('\n').filter(Boolean);
    expect(lines).toHaveLength(3000);
    expect((JSON.parse(lines.at(-1)!) as LogEntry).seq).toBe(3000);
    await fake.close();
    await rm(dataDir, { recursive: true, force: true });
  });
});
