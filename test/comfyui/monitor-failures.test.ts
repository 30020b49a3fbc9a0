import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { JsonObject } from '../../src/core/comfyui/json.js';
import { createComfyMonitor, interrupt, type ComfyInstanceError } from '../../src/core/comfyui/monitor.js';
import type { ComfyInstance } from '../../src/shared/comfy-instance.js';
import { comfyInstanceSchema } from '../../src/shared/comfy-instance.js';
import { startFakeComfy, type FakeComfy } from '../fakes/fake-comfyui.js';
import { txt2imgPrompt } from '../fakes/sample-prompt.js';
import { waitFor } from '../helpers/processes.js';

let seed = 1000;
const fresh = (steps = 1): JsonObject => txt2imgPrompt({ steps, seed: seed++, filenamePrefix: 'f' });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let fake: FakeComfy;
beforeAll(async () => {
  fake = await startFakeComfy({ stepDelayMs: 1, nodeDelayMs: 0 });
});
afterAll(async () => {
  await fake.close();
});

async function watch(f: FakeComfy): Promise<{
  latest: () => ComfyInstance | undefined;
  failures: ComfyInstanceError[];
  dismiss: (url: string) => boolean;
  dispose: () => Promise<void>;
}> {
  let latest: ComfyInstance[] = [];
  const failures: ComfyInstanceError[] = [];
  const mon = createComfyMonitor({
    instances: [f.url],
    discover: false,
    pollIntervalMs: 5_000,
    onChange: (l) => (latest = l),
    onJobFailed: (_url, e) => failures.push(e),
  });
  await waitFor(() => latest[0]?.reachable === true, 'first poll');
  await waitFor(() => mon.refresh().then(() => f.socketIds().length > 0), 'monitor socket');
  return {
    latest: () => latest[0],
    failures,
    dismiss: (url: string) => mon.dismissError(url),
    dispose: () => mon.dispose(),
  };
}

describe('the monitor reports every failed prompt exactly once', () => {
  it('five short failing prompts from another client, 0.1 s apart, give five reports; an older failure none', async () => {
    fake.behaviour.failAtNode = '3';
    const before = await fake.queuePromptFromOtherClient(fresh());
    await fake.waitForHistory(before);
    const m = await watch(fake);
    try {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        ids.push(await fake.queuePromptFromOtherClient(fresh(), { clientId: i === 4 ? null : undefined }));
        await sleep(100);
      }
      for (const id of ids) await fake.waitForHistory(id);
      await waitFor(() => m.failures.length >= 5, 'five reports', 5_000);
      await sleep(300); // a sixth report would come in this time
      expect(m.failures.map((f) => f.promptId).sort()).toEqual([...ids].sort());
      expect(m.failures.some((f) => f.promptId === before)).toBe(false);
      expect(m.latest()!.lastError).toMatchObject({ nodeId: '3', nodeType: 'KSampler' });
      // The time of the failure is the server's timestamp, not when we noticed it.
      const last = fake.history.get(m.latest()!.lastError!.promptId!)!;
      const msgs = (last['status'] as JsonObject)['messages'] as Array<[string, JsonObject]>;
      expect(m.latest()!.lastError!.at).toBe(msgs.find((x) => x[0] === 'execution_error')![1]['timestamp']);
    } finally {
      fake.behaviour.failAtNode = null;
      await m.dispose();
    }
  });

  it('an interrupted prompt is not a failure', async () => {
    const m = await watch(fake);
    try {
      fake.behaviour.stepDelayMs = 20;
      const id = await fake.queuePromptFromOtherClient(fresh(50));
      await waitFor(() => m.latest()?.progress?.promptId === id, 'running');
      await fetch(`${fake.url}/interrupt`, { method: 'POST', body: '{}' });
      await fake.waitForHistory(id);
      await sleep(300);
      expect(m.failures).toEqual([]);
    } finally {
      fake.behaviour.stepDelayMs = 1;
      await m.dispose();
    }
  });
});

describe('the monitor against a real-shaped server', () => {
  it('a CPU-only server: one cpu device, index null, system RAM as its memory', async () => {
    const cpu = await startFakeComfy({ cpu: true });
    const m = await watch(cpu);
    try {
      const i = m.latest()!;
      comfyInstanceSchema.parse(i);
      expect(i.devices).toEqual([
        { name: 'cpu', type: 'cpu', index: null, vramTotal: 134000000000, vramFree: 120000000000 },
      ]);
    } finally {
      await m.dispose();
      await cpu.close();
    }
  });

  it('control sequences and newlines in a failure never reach the snapshot (nor what is logged from it)', async () => {
    const m = await watch(fake);
    try {
      fake.behaviour.failAtNode = '3';
      fake.behaviour.failure = {
        type: 'RuntimeError\x1b[2J',
        message:
          'boom\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\x1b]0;pwned\x07\n[luna-tray] CRITICAL daemon: fake line\r\nend',
      };
      const id = await fake.queuePromptFromOtherClient(fresh());
      await waitFor(() => m.failures.length === 1, 'report', 5_000);
      const e = m.failures[0]!;
      expect(e.promptId).toBe(id);
      expect(e.exceptionType).toBe('RuntimeError');
      expect(e.message).toBe('boom [luna-tray] CRITICAL daemon: fake line end');
      expect(JSON.stringify(m.latest())).not.toMatch(/\\u001b|\\n|\\r|\\u0007/);
    } finally {
      fake.behaviour.failAtNode = null;
      fake.behaviour.failure = { type: 'torch.OutOfMemoryError', message: 'out of memory' };
      await m.dispose();
    }
  });

  it("another client's prompt shows as running with no step figures; a prompt without client id has live steps", async () => {
    const m = await watch(fake);
    try {
      fake.behaviour.stepDelayMs = 20;
      const other = await fake.queuePromptFromOtherClient(fresh(30));
      const p = await waitFor(
        () => m.latest()?.progress?.promptId === other && m.latest()!.progress,
        'other progress',
      );
      expect(p).toMatchObject({ stepsVisible: false, max: 0 });
      await fake.waitForHistory(other);
      const anon = await fake.queuePromptFromOtherClient(fresh(30), { clientId: null });
      const q = await waitFor(() => {
        const x = m.latest()?.progress;
        return x?.promptId === anon && x.max === 30 && x;
      }, 'anon steps');
      expect(q).toMatchObject({ stepsVisible: true, node: '3' });
      await fake.waitForHistory(anon);
    } finally {
      fake.behaviour.stepDelayMs = 1;
      await m.dispose();
    }
  });
});

describe('panel actions hit their target', () => {
  it('Interrupt names the prompt on screen: a prompt that already ended is not confused with the next one, even on a server that ignores prompt_id', async () => {
    fake.behaviour.stepDelayMs = 20;
    fake.behaviour.interruptIgnoresPromptId = true;
    try {
      const first = await fake.queuePromptFromOtherClient(fresh(1));
      await fake.waitForHistory(first);
      const next = await fake.queuePromptFromOtherClient(fresh(40));
      await waitFor(
        async () => (await (await fetch(`${fake.url}/queue`)).json()).queue_running.length === 1,
        'next runs',
      );
      const stale = await interrupt(fake.url, first);
      expect(stale).toMatchObject({ ok: true, message: expect.stringContaining('no longer running') });
      const h = await fake.waitForHistory(next);
      expect(h['status']).toMatchObject({ status_str: 'success' });

      const third = await fake.queuePromptFromOtherClient(fresh(40));
      await waitFor(
        async () => (await (await fetch(`${fake.url}/queue`)).json()).queue_running.length === 1,
        'third runs',
      );
      expect(await interrupt(fake.url, third)).toMatchObject({
        ok: true,
        message: expect.stringContaining('interrupt sent'),
      });
      const h3 = await fake.waitForHistory(third);
      expect(h3['status']).toMatchObject({ status_str: 'error', completed: false });
    } finally {
      fake.behaviour.stepDelayMs = 1;
      fake.behaviour.interruptIgnoresPromptId = false;
    }
  });

  it('the last error can be dismissed; a new failure shows again', async () => {
    const m = await watch(fake);
    try {
      fake.behaviour.failAtNode = '3';
      await fake.queuePromptFromOtherClient(fresh());
      await waitFor(() => m.latest()?.lastError, 'error');
      expect(m.dismiss(fake.url)).toBe(true);
      await waitFor(() => m.latest()?.lastError === null, 'dismissed');
      expect(m.dismiss('http://127.0.0.1:1')).toBe(false);
      const again = await fake.queuePromptFromOtherClient(fresh());
      await waitFor(() => m.latest()?.lastError?.promptId === again, 'new error');
    } finally {
      fake.behaviour.failAtNode = null;
      await m.dispose();
    }
  });
});
