import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';

import { describe, expect, it, onTestFinished } from 'vitest';

import {
  confirmPortReleased,
  stopSpawned,
  type StopContext,
} from '../../../../src/core/supervisor/stop-sequence.js';
import { isAlive, track } from '../../../helpers/processes.js';
import { pythonExecutable } from '../../../helpers/python.js';

/** A running child (it ignores SIGTERM when `stubborn`); `exit` settles when it exited. */
async function child(stubborn: boolean) {
  const ignore = stubborn ? 'signal.signal(signal.SIGTERM, signal.SIG_IGN)\n' : '';
  const code = `import signal, time\n${ignore}print('up', flush=True)\ntime.sleep(30)`;
  const p = spawn(pythonExecutable(), ['-c', code], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  track(p.pid);
  const exit = new Promise((r) => p.once('exit', r));
  await new Promise((r) => p.stdout.once('data', r));
  return { pid: p.pid!, exit };
}

function ctx(over: Partial<StopContext> = {}) {
  const steps: string[] = [];
  const c: StopContext = {
    host: '127.0.0.1',
    port: 1,
    graceMs: 100,
    killTimeoutMs: 300,
    shutdown: async () => {
      steps.push('shutdown');
    },
    onEscalate: (s) => steps.push(s),
    log: () => undefined,
    ...over,
  };
  return { c, steps };
}

describe('the stop sequence', () => {
  it('shutdown ignored → SIGTERM ends it: forced, one escalation', async (t) => {
    t.skip(process.platform === 'win32', 'Windows has no SIGTERM');
    const p = await child(false);
    const { c, steps } = ctx();
    expect(await stopSpawned(c, p, true)).toBe(true);
    expect(steps).toEqual(['shutdown', 'terminating']);
    expect(isAlive(p.pid)).toBe(false);
  });

  it('SIGTERM ignored too → the tree kill', async (t) => {
    t.skip(process.platform === 'win32', 'Windows has no SIGTERM');
    const p = await child(true);
    const { c, steps } = ctx();
    expect(await stopSpawned(c, p, true)).toBe(true);
    expect(steps).toEqual(['shutdown', 'terminating', 'killing']);
    expect(isAlive(p.pid)).toBe(false);
  });

  it('an exit within the grace is graceful: no escalation', async () => {
    const p = await child(false);
    const { c, steps } = ctx({
      graceMs: 5_000,
      shutdown: async () => {
        steps.push('shutdown');
        process.kill(p.pid, 'SIGKILL');
      },
    });
    expect(await stopSpawned(c, p, true)).toBe(false);
    expect(steps).toEqual(['shutdown']);
  });

  it('the port released: at once when nobody answers; a listener that is not a Luna daemon does not hold it', async () => {
    const server = createServer((s) => s.end('HTTP/1.1 400 Bad\r\n\r\n'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    onTestFinished(() => void server.close());
    const port = (server.address() as AddressInfo).port;
    expect(await confirmPortReleased('127.0.0.1', port, null)).toEqual({ released: true });
  });
});
