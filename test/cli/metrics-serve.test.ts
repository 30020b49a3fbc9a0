import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import getPort from 'get-port';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { exited, killAllTracked, sleep, track, waitFor } from '../helpers/processes.js';
import { serveEnv, startServe, runningDaemonPid, type ServeEnv } from '../helpers/serve.js';

/**
 * Issue 19 §1: `GET /metrics` of a real `serve`, and a REAL Prometheus (Debian's `prometheus`
 * package, installed by .ci/run) scraping it with the token file, read back through Prometheus's
 * HTTP query API.
 */

let env: ServeEnv;
let token: string;
let prometheus: ChildProcess | undefined;
let promDir: string | undefined;

beforeAll(async () => {
  env = await serveEnv();
  const s = await startServe(env);
  token = s.token();
  await runningDaemonPid(env);
}, 90_000);

afterAll(async () => {
  if (prometheus?.pid && prometheus.exitCode === null && prometheus.signalCode === null) {
    prometheus.kill('SIGTERM');
    await Promise.race([exited(prometheus), sleep(10_000)]);
    if (prometheus.exitCode === null && prometheus.signalCode === null) prometheus.kill('SIGKILL');
  }
  killAllTracked();
  env?.cleanup();
  if (promDir) rmSync(promDir, { recursive: true, force: true });
}, 60_000);

const metrics = (headers: Record<string, string> = {}) =>
  fetch(`http://127.0.0.1:${env.port}/metrics`, { headers });

describe('GET /metrics on a real serve', () => {
  it('needs the token (401 without it), then answers the text format with the daemon labelled by id', async () => {
    expect((await metrics()).status).toBe(401);
    expect((await metrics({ authorization: 'Bearer wrong' })).status).toBe(401);
    const res = await metrics({ authorization: `Bearer ${token}` });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    expect(text).toContain('# TYPE luna_daemon_up gauge');
    expect(text).toMatch(/^luna_daemon_up\{daemon="default"\} 1$/m);
    expect(text).toMatch(/^luna_daemon_state\{daemon="default",state="running"\} 1$/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+$/m);
    // The token never appears in what a scraper stores.
    expect(text).not.toContain(token);
  });

  it('passes promtool check metrics as served', async (ctx) => {
    const have = spawnSync('promtool', ['--version']).status === 0;
    ctx.skip(
      !have,
      'promtool not installed (Debian: apt-get install -y prometheus) — promtool check NOT RUN',
    );
    const text = await (await metrics({ authorization: `Bearer ${token}` })).text();
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(r.status).toBe(0);
  });
});

interface QueryReply {
  status: string;
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

describe('a real Prometheus scraping serve', () => {
  it('scrapes with authorization.credentials_file and luna_daemon_up reads back as 1 through the query API; without the token the target is down', async (ctx) => {
    const have = spawnSync('prometheus', ['--version']).status === 0;
    ctx.skip(
      !have,
      'prometheus not installed (Debian: apt-get install -y prometheus) — real-Prometheus test NOT RUN',
    );
    promDir = mkdtempSync(join(tmpdir(), 'luna-prometheus-'));
    const promPort = await getPort();
    const config = join(promDir, 'prometheus.yml');
    // YAML is a superset of JSON: the config is written as JSON, paths quoted safely.
    writeFileSync(
      config,
      JSON.stringify({
        global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
        scrape_configs: [
          {
            job_name: 'luna-tray',
            authorization: { credentials_file: join(env.dataDir, 'control-token') },
            static_configs: [{ targets: [`127.0.0.1:${env.port}`] }],
          },
          { job_name: 'no-token', static_configs: [{ targets: [`127.0.0.1:${env.port}`] }] },
        ],
      }),
    );
    const child = spawn(
      'prometheus',
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(promDir, 'data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus = child;
    track(child.pid);
    let log = '';
    child.stdout.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));

    const query = async (q: string): Promise<QueryReply['data']['result']> => {
      if (child.exitCode !== null) throw new Error(`prometheus exited ${child.exitCode}:\n${log}`);
      const r = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`).catch(
        () => null,
      );
      if (!r || r.status !== 200) return [];
      return ((await r.json()) as QueryReply).data.result;
    };
    /** The first non-empty answer to `q` (the first scrapes take a second or two to land). */
    const queryUntilFound = (q: string) =>
      waitFor(
        async () => {
          const rows = await query(q);
          return rows.length > 0 ? rows : undefined;
        },
        `${q} in Prometheus`,
        60_000,
        250,
      ).catch((e: unknown) => {
        throw new Error(`${String(e)}\nprometheus log:\n${log}`);
      });
    const up = await queryUntilFound('luna_daemon_up');
    expect(up).toHaveLength(1);
    expect(up[0]!.metric).toMatchObject({
      __name__: 'luna_daemon_up',
      daemon: 'default',
      job: 'luna-tray',
      instance: `127.0.0.1:${env.port}`,
    });
    expect(up[0]!.value[1]).toBe('1');
    const running = await query('luna_daemon_state{state="running"}');
    expect(running.map((r) => r.value[1])).toEqual(['1']);
    // The same target scraped without the token: 401, so Prometheus marks it down.
    const noToken = await queryUntilFound('up{job="no-token"}');
    expect(noToken[0]!.value[1]).toBe('0');
    const withToken = await query('up{job="luna-tray"}');
    expect(withToken[0]!.value[1]).toBe('1');
  }, 120_000);
});
