import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { startFakeComfy, type FakeComfy } from '../fakes/fake-comfyui.js';
import { txt2imgPrompt } from '../fakes/sample-prompt.js';
import { killAllTracked, waitFor } from '../helpers/processes.js';
import { cliAsync, serveEnv, startServe, type ServeEnv } from '../helpers/serve.js';

const slowPrompt = txt2imgPrompt({ steps: 400, samplerTitle: 'Main sampler', filenamePrefix: 'm' });

let a: FakeComfy;
let b: FakeComfy;
const envs: ServeEnv[] = [];
beforeAll(async () => {
  a = await startFakeComfy({ stepDelayMs: 20 });
  b = await startFakeComfy({ comfyuiVersion: '0.3.64' });
});
afterAll(async () => {
  await a.close();
  await b.close();
});
afterEach(() => {
  killAllTracked();
  for (const e of envs.splice(0)) e.cleanup();
});

interface Instances {
  instances: {
    url: string;
    reachable: boolean;
    version: string | null;
    queue: { running: number };
    progress: {
      promptId: string;
      stepsVisible: boolean;
      value: number;
      max: number;
      nodeTitle: string | null;
    } | null;
  }[];
}

// The fake ComfyUI servers run in THIS process: every CLI call here is asynchronous, because a
// synchronous one (spawnSync) would stop this event loop and the fakes could not answer.
describe('ComfyUI through luna-tray serve (real processes, fake ComfyUI servers)', () => {
  it('watches every instance, shows another client’s prompt, and Free VRAM reaches the daemon and every instance', async () => {
    const e = await serveEnv([
      ['comfyui.instances', JSON.stringify([a.url, b.url])],
      ['comfyui.pollIntervalSec', '0.5'],
    ]);
    envs.push(e);
    await startServe(e);
    await waitFor(
      async () => JSON.parse((await cliAsync(e, ['status', '--json'])).stdout).models.length > 0,
      'daemon models',
      20_000,
    );

    const listed = await waitFor(
      async () => {
        const r = JSON.parse((await cliAsync(e, ['comfy', '--json'])).stdout) as Instances;
        return r.instances.every((i) => i.reachable) ? r : null;
      },
      'both instances reachable',
      15_000,
    );
    expect(listed.instances.map((i) => i.url)).toEqual([a.url, b.url]);
    expect(listed.instances[1]!.version).toBe('0.3.64');

    const promptId = await a.queuePromptFromOtherClient(slowPrompt);
    const running = await waitFor(
      async () => {
        const r = JSON.parse((await cliAsync(e, ['comfy', '--json'])).stdout) as Instances;
        const i = r.instances.find((x) => x.url === a.url)!;
        return i.progress?.promptId === promptId ? i : null;
      },
      'the other client’s prompt to show',
      15_000,
    );
    expect(running.queue.running).toBe(1);
    const human = await cliAsync(e, ['comfy']);
    expect(human.stdout).toContain(`running ${promptId.slice(0, 8)}`);

    const before = { a: a.calls.length, b: b.calls.length };
    const free = await cliAsync(e, ['free']);
    expect(free.status, free.stdout + free.stderr).toBe(0);
    expect(free.stdout).toContain('Luna daemon: Unloaded: CLIP');
    for (const fake of [a, b]) {
      const frees = fake.calls
        .slice(fake === a ? before.a : before.b)
        .filter((c) => c.method === 'POST' && c.path === '/free');
      expect(frees).toHaveLength(1);
      expect(frees[0]!.body).toEqual({ unload_models: true, free_memory: true });
    }
    await waitFor(
      async () => JSON.parse((await cliAsync(e, ['status', '--json'])).stdout).models.length === 0,
      'daemon models gone',
      10_000,
    );

    // Interrupt through the API reaches the instance.
    const token = (await import('node:fs')).readFileSync(`${e.dataDir}/control-token`, 'utf8').trim();
    const res = await fetch(`http://127.0.0.1:${e.port}/comfyui/interrupt`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: a.url }),
    });
    expect(res.status).toBe(200);
    expect(a.calls.some((c) => c.method === 'POST' && c.path === '/interrupt')).toBe(true);
  });

  it('an unreachable instance is reported, not fatal; Free VRAM skips it and still succeeds', async () => {
    const e = await serveEnv([
      ['comfyui.instances', JSON.stringify(['http://127.0.0.1:9', a.url])],
      ['comfyui.pollIntervalSec', '0.5'],
    ]);
    envs.push(e);
    await startServe(e, ['--no-open']);
    const r = await waitFor(
      async () => {
        const x = JSON.parse((await cliAsync(e, ['comfy', '--json'])).stdout) as Instances & {
          instances: { problem: string | null }[];
        };
        return x.instances[1]?.reachable ? x : null;
      },
      'instances polled',
      15_000,
    );
    expect(r.instances[0]).toMatchObject({ url: 'http://127.0.0.1:9', reachable: false });
    expect((r.instances[0] as unknown as { problem: string }).problem).toBeTruthy();
    const free = await cliAsync(e, ['free']);
    expect(free.status, free.stdout + free.stderr).toBe(0);
    expect(free.stdout).toContain('not running: nothing to unload');
    expect(free.stdout).toMatch(/http:\/\/127\.0\.0\.1:9: not reachable/);
  });

  it('a prompt queued by `luna-tray run` shows its node, step and percentage in the panel', async () => {
    const e = await serveEnv([
      ['comfyui.instances', JSON.stringify([a.url])],
      ['comfyui.pollIntervalSec', '0.5'],
    ]);
    envs.push(e);
    await startServe(e);
    await waitFor(
      async () =>
        (JSON.parse((await cliAsync(e, ['comfy', '--json'])).stdout) as Instances).instances[0]?.reachable,
      'instance reachable',
      15_000,
    );
    const dir = mkdtempSync(join(tmpdir(), 'comfy-run-panel-'));
    const wf = join(dir, 'wf.json');
    writeFileSync(
      wf,
      JSON.stringify(txt2imgPrompt({ steps: 150, seed: 31337, samplerTitle: 'Main sampler' })),
    );
    const run = cliAsync(e, ['run', wf, '--instance', a.url, '--out', join(dir, 'out')]);
    const seen = await waitFor(
      async () => {
        const r = JSON.parse((await cliAsync(e, ['comfy', '--json'])).stdout) as Instances;
        const p = r.instances[0]?.progress;
        return p && p.stepsVisible && p.max === 150 && p.value > 0 ? p : null;
      },
      'the run prompt with live steps',
      20_000,
    );
    expect(seen.nodeTitle).toBe('Main sampler');
    const done = await run;
    expect(done.status, done.stderr).toBe(0);
  });
});
