import { createServer, type AddressInfo } from 'node:net';

import { describe, expect, it, onTestFinished } from 'vitest';

import type { ExitRecord } from '../../../../src/shared/daemon-status.js';
import { defaultSettings, firstDaemon } from '../../../../src/shared/settings-schema.js';
import {
  explainEarlyExit,
  judgeUnexpectedExit,
} from '../../../../src/core/supervisor/exit-classification.js';

const policy = {
  ...firstDaemon(defaultSettings()).restart,
  initialDelayMs: 1000,
  maxQuickCrashes: 3,
  stableAfterSec: 30,
};
const exit = (code: number | null, signal: NodeJS.Signals | null = null): ExitRecord => ({
  code,
  signal,
  at: 0,
  stderrTail: [],
});

describe('judgeUnexpectedExit (the restart policy applied to an exit, as data)', () => {
  it('a crash → backoff with the policy’s delay, a warning, and a restart timer', () => {
    const v = judgeUnexpectedExit({ record: exit(1), policy, uptimeMs: 100, quickCrashes: 0, now: 5000 });
    expect(v).toMatchObject({
      event: { type: 'backoff', attempt: 1, retryAt: 6000, message: 'The daemon exited with code 1' },
      log: { level: 'warning', text: 'Restarting in 1.0 s (attempt 1).' },
      quickCrashes: 1,
      restartInMs: 1000,
    });
  });

  it('the last allowed quick crash → crash loop, no restart', () => {
    const v = judgeUnexpectedExit({
      record: exit(null, 'SIGKILL'),
      policy,
      uptimeMs: 0,
      quickCrashes: 2,
      now: 0,
    });
    expect(v.event).toMatchObject({ type: 'failed', kind: 'crash-loop' });
    expect(v.log?.level).toBe('error');
    expect(v.restartInMs).toBeNull();
    expect(v.quickCrashes).toBe(3);
  });

  it('exit 0 we did not ask for → stopped (external shutdown); restart off → failed (crashed)', () => {
    const ext = judgeUnexpectedExit({ record: exit(0), policy, uptimeMs: 60_000, quickCrashes: 1, now: 0 });
    expect(ext.event).toMatchObject({ type: 'stopped', reason: 'external-shutdown' });
    expect(ext).toMatchObject({ quickCrashes: 1, restartInMs: null });
    const off = judgeUnexpectedExit({
      record: exit(2),
      policy: { ...policy, enabled: false },
      uptimeMs: 0,
      quickCrashes: 0,
      now: 0,
    });
    expect(off.event).toMatchObject({ type: 'failed', kind: 'crashed' });
    expect(off.log).toBeNull();
  });
});

describe('explainEarlyExit', () => {
  it('names the held port through the caller’s conflict text; other exits keep the generic reason', async () => {
    const inUse = { ...exit(1), stderrTail: ['OSError: [Errno 98] Address already in use'] };
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    onTestFinished(() => void server.close());
    const port = (server.address() as AddressInfo).port;
    const held = await explainEarlyExit(inUse, {
      command: 'python',
      host: '127.0.0.1',
      ports: { port, wsPort: 0 },
      conflict: async (port, kind) => `port ${port} (${kind}) is held by X`,
    });
    expect(held).toEqual({
      kind: 'port-conflict',
      message: `The daemon exited with code 1 before it was ready: port ${port} (daemon) is held by X`,
    });
    const torch = await explainEarlyExit(
      { ...exit(1), stderrTail: ["ModuleNotFoundError: No module named 'torch'"] },
      { command: 'python', host: '127.0.0.1', ports: { port: 1, wsPort: 0 }, conflict: async () => 'x' },
    );
    expect(torch.kind).toBe('start-failed');
    expect(torch.message).toContain('PyTorch is not installed');
  });
});
