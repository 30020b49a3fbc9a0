// Webhooks against a local HTTP receiver: the documented body (docs/webhooks.md), retries after a
// 500, the timeout, the bounded queue, secrets kept out of the log, and through the core: a daemon
// crash and its recovery, ComfyUI jobs finishing and failing, and a hanging receiver that does not
// delay the restart.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

import getPort from 'get-port';
import { afterEach, describe, expect, it } from 'vitest';

import { createComfyService } from '../../../src/core/app/comfy-service.js';
import { createLunaCore } from '../../../src/core/app/luna-core.js';
import { createWebhooks, redactUrl, type WebhookBody } from '../../../src/core/notify/webhooks.js';
import { MemorySettingsStore } from '../../../src/core/settings/memory-settings-store.js';
import { defaultSettings, mergeSettings, type Settings } from '../../../src/shared/settings-schema.js';
import { startFakeComfy } from '../../fakes/fake-comfyui.js';
import { txt2imgPrompt } from '../../fakes/sample-prompt.js';
import { killAllTracked, waitFor } from '../../helpers/processes.js';
import { pythonExecutable } from '../../helpers/python.js';
import { SIM_PATH } from '../../helpers/sim.js';

interface Arrival {
  at: number;
  path: string;
  headers: IncomingMessage['headers'];
  body: WebhookBody;
  res: ServerResponse;
}

/** A receiver on a free loopback port; `answer` decides each reply (return null to never answer). */
async function receiver(answer: (n: number) => number | null = () => 200) {
  const arrivals: Arrival[] = [];
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      arrivals.push({
        at: Date.now(),
        path: req.url ?? '',
        headers: req.headers,
        body: JSON.parse(text) as WebhookBody,
        res,
      });
      const status = answer(arrivals.length);
      if (status !== null) res.writeHead(status).end('{"echo":"never logged"}');
    });
  });
  const port = await getPort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return { url: `http://127.0.0.1:${port}`, arrivals };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  killAllTracked();
});

function hooks(list: Settings['notify']['webhooks']) {
  const logs: string[] = [];
  const w = createWebhooks({
    hooks: () => list,
    version: '9.9.9',
    log: (level, m) => logs.push(`${level}: ${m}`),
    baseDelayMs: 50,
    maxDelayMs: 200,
    timeoutMs: 300,
  });
  cleanups.push(() => w.dispose());
  return { w, logs };
}

describe('webhook delivery', () => {
  it('POSTs the documented body to the hooks that asked for the event, with their headers', async () => {
    const r = await receiver();
    const { w } = hooks([
      { url: `${r.url}/crashes`, events: ['crashed'], headers: { authorization: 'Bearer hook-token' } },
      { url: `${r.url}/jobs`, events: ['job-finished'], headers: {} },
    ]);
    w.send({
      event: 'crashed',
      message: 'exit code 1',
      daemon: { id: 'default', name: 'Luna daemon' },
      at: 0,
    });
    await waitFor(() => r.arrivals.length === 1, 'one arrival');
    const a = r.arrivals[0]!;
    expect(a.path).toBe('/crashes');
    expect(a.headers['content-type']).toBe('application/json');
    expect(a.headers.authorization).toBe('Bearer hook-token');
    expect(a.body).toEqual({
      event: 'crashed',
      time: '1970-01-01T00:00:00.000Z',
      daemon: { id: 'default', name: 'Luna daemon' },
      instance: null,
      message: 'exit code 1',
      host: hostname(),
      version: '9.9.9',
    });
    await waitFor(() => w.pending() === 0, 'delivered');
    expect(r.arrivals).toHaveLength(1);
  });

  it('retries after a 500 with backoff, and stops once delivered', async () => {
    const r = await receiver((n) => (n === 1 ? 500 : 200));
    const { w, logs } = hooks([{ url: r.url, events: ['job-failed'], headers: {} }]);
    w.send({ event: 'job-failed', instance: 'http://127.0.0.1:8188', message: 'OOM' });
    await waitFor(() => r.arrivals.length === 2 && w.pending() === 0, 'the retry delivered');
    expect(r.arrivals[1]!.body).toEqual(r.arrivals[0]!.body);
    expect(r.arrivals[1]!.at - r.arrivals[0]!.at).toBeGreaterThanOrEqual(45);
    expect(logs).toEqual([expect.stringMatching(/job-failed .* failed \(HTTP 500\); retry 2\/5 in 0\.1 s/)]);
  });

  it('gives up on a 4xx at once, and after maxAttempts on a receiver that never answers', async () => {
    const bad = await receiver(() => 404);
    const hang = await receiver(() => null);
    const { w, logs } = hooks([
      { url: bad.url, events: ['recovered'], headers: {} },
      { url: hang.url, events: ['recovered'], headers: {} },
    ]);
    w.send({ event: 'recovered', message: 'running again' });
    await waitFor(() => w.pending() === 0, 'both settled', 10_000);
    expect(bad.arrivals).toHaveLength(1);
    expect(hang.arrivals).toHaveLength(5);
    expect(logs.join('\n')).toContain('failed (HTTP 404) after 1 attempt; dropped');
    expect(logs.join('\n')).toContain('failed (no answer within 300 ms) after 5 attempts; dropped');
  });

  it('keeps the queue bounded while a receiver hangs', async () => {
    const hang = await receiver(() => null);
    const logs: string[] = [];
    const w = createWebhooks({
      hooks: () => [{ url: hang.url, events: ['crashed'], headers: {} }],
      version: 'x',
      log: (_l, m) => logs.push(m),
      queueLimit: 3,
      timeoutMs: 60_000,
    });
    cleanups.push(() => w.dispose());
    for (let i = 0; i < 10; i++) w.send({ event: 'crashed', message: `crash ${i}` });
    expect(w.pending()).toBe(3);
    expect(logs.filter((l) => l.includes('webhook queue full (3)'))).toHaveLength(7);
  });

  it('never writes URL userinfo, query values or header values to the log', async () => {
    const r = await receiver(() => 500);
    const { w, logs } = hooks([
      {
        url: `${r.url.replace('//', '//hookuser:url-pass-SECRET@')}/x?token=query-SECRET&ch=ops`,
        events: ['crash-loop'],
        headers: { 'x-api-key': 'header-SECRET' },
      },
    ]);
    w.send({ event: 'crash-loop', message: 'gave up' });
    await waitFor(() => w.pending() === 0, 'dropped after retries', 10_000);
    // The receiver did get the credentials (as Basic auth) and the header:
    expect(r.arrivals[0]!.headers.authorization).toBe(
      `Basic ${Buffer.from('hookuser:url-pass-SECRET').toString('base64')}`,
    );
    expect(r.arrivals[0]!.headers['x-api-key']).toBe('header-SECRET');
    expect(r.arrivals[0]!.path).toBe('/x?token=query-SECRET&ch=ops');
    const text = logs.join('\n');
    expect(text).toContain(`http://***@127.0.0.1:${new URL(r.url).port}/x?token=***&ch=***`);
    expect(text).not.toMatch(/SECRET|hookuser|never logged/);
  });

  it('redactUrl leaves a URL without secrets as it was', () => {
    expect(redactUrl('https://hooks.example.com/luna')).toBe('https://hooks.example.com/luna');
    expect(redactUrl('https://a:b@h.example/p?k=v')).toBe('https://***@h.example/p?k=***');
  });
});

describe('webhooks through the core', () => {
  async function core(webhooks: Settings['notify']['webhooks'], comfyUrl?: string) {
    const dataDir = mkdtempSync(join(tmpdir(), 'luna-webhooks-'));
    const settingsStore = new MemorySettingsStore(
      mergeSettings(defaultSettings(), {
        daemon: {
          profile: 'simulator',
          command: pythonExecutable(),
          args: ['--startup-delay', '0', '--models-after', '-1'],
          port: await getPort(),
          wsPort: await getPort(),
          restart: { initialDelayMs: 100 },
        },
        comfyui: { instances: comfyUrl ? [comfyUrl] : [], pollIntervalSec: 0.5 },
        notify: { webhooks },
      }),
    );
    const comfy = comfyUrl ? createComfyService({ readGpus: async () => [] }) : undefined;
    const c = await createLunaCore({
      dataDir,
      settingsStore,
      simulatorPath: SIM_PATH,
      version: '1.2.3',
      ...(comfy ? { comfy } : {}),
    });
    cleanups.push(async () => {
      await c.dispose({ keepDaemon: false });
      rmSync(dataDir, { recursive: true, force: true });
    });
    return c;
  }

  it('a crash and the recovery arrive; a receiver that never answers does not delay the restart', async () => {
    const hang = await receiver(() => null);
    const c = await core([{ url: hang.url, events: ['crashed', 'recovered'], headers: {} }]);
    await c.supervisor.start();
    const first = c.snapshot().status;
    if (first.state !== 'running' || first.pid === null) throw new Error(`not running: ${first.state}`);
    const killedAt = Date.now();
    process.kill(first.pid, 'SIGKILL');
    await waitFor(() => hang.arrivals.length >= 1, 'the crash webhook');
    await waitFor(() => {
      const s = c.snapshot().status;
      return s.state === 'running' && s.pid !== first.pid;
    }, 'restarted');
    const restartedIn = Date.now() - killedAt;
    await waitFor(() => hang.arrivals.length >= 2, 'the recovery webhook');
    // Neither request has been answered, and the restart took what it takes without webhooks.
    expect(hang.arrivals.every((a) => !a.res.headersSent)).toBe(true);
    expect(restartedIn).toBeLessThan(4_000);
    expect(hang.arrivals.map((a) => a.body.event)).toEqual(['crashed', 'recovered']);
    expect(hang.arrivals[0]!.body).toMatchObject({
      daemon: { id: 'default', name: 'Luna daemon' },
      instance: null,
      version: '1.2.3',
    });
    expect(hang.arrivals[1]!.body.message).toMatch(/running again \(PID \d+\)/);
  });

  it('a ComfyUI job finishing and one failing arrive with the instance URL', async () => {
    const fake = await startFakeComfy({ stepDelayMs: 1, nodeDelayMs: 0 });
    cleanups.push(() => fake.close());
    const r = await receiver();
    const c = await core([{ url: r.url, events: ['job-finished', 'job-failed'], headers: {} }], fake.url);
    // The first /history read is the baseline: wait until the monitor watches the instance.
    await waitFor(
      async () => (await c.handlers['comfy:list-instances']({})).ok && fake.socketIds().length > 0,
      'watched',
    );
    await new Promise((res) => setTimeout(res, 700));
    const ok = await fake.queuePromptFromOtherClient(
      txt2imgPrompt({ steps: 1, seed: 1, filenamePrefix: 'w' }),
    );
    await fake.waitForHistory(ok);
    await waitFor(() => r.arrivals.some((a) => a.body.event === 'job-finished'), 'job-finished', 15_000);
    fake.behaviour.failAtNode = '3';
    const bad = await fake.queuePromptFromOtherClient(
      txt2imgPrompt({ steps: 1, seed: 2, filenamePrefix: 'w' }),
    );
    await fake.waitForHistory(bad);
    await waitFor(() => r.arrivals.some((a) => a.body.event === 'job-failed'), 'job-failed', 15_000);
    const finished = r.arrivals.find((a) => a.body.event === 'job-finished')!.body;
    expect(finished).toMatchObject({ instance: fake.url, daemon: null });
    expect(finished.message).toContain(`Prompt ${ok} finished`);
    const failed = r.arrivals.find((a) => a.body.event === 'job-failed')!.body;
    expect(failed).toMatchObject({ instance: fake.url, daemon: null });
    expect(failed.message).toContain('KSampler');
  });
});
