import { afterEach, describe, expect, it } from 'vitest';

import { LunaClient } from '../../src/core/daemon/luna-client.js';
import { killAllTracked, waitFor } from '../helpers/processes.js';
import { cli, serveEnv, startServe, type ServeEnv } from '../helpers/serve.js';

const envs: ServeEnv[] = [];
afterEach(() => {
  killAllTracked();
  for (const e of envs.splice(0)) e.cleanup();
});

describe('luna-tray status wording (real serve)', () => {
  it('a shutdown from outside: "shut down from outside" in text and JSON, as the panel says it', async () => {
    const e = await serveEnv();
    envs.push(e);
    await startServe(e);
    await waitFor(
      () => JSON.parse(cli(e, ['status', '--json']).stdout).state === 'running',
      'running',
      20_000,
    );
    await new LunaClient({ port: e.daemonPort }).shutdown();
    await waitFor(
      () => JSON.parse(cli(e, ['status', '--json']).stdout).stoppedReason === 'external-shutdown',
      'the external shutdown',
      10_000,
    );
    const json = JSON.parse(cli(e, ['status', '--json']).stdout);
    expect(json).toMatchObject({
      state: 'stopped',
      stateText: 'stopped (shut down from outside)',
      lastExitCode: 0,
    });
    const text = cli(e, ['status']).stdout;
    expect(text).toContain('stopped (shut down from outside)');
    expect(text).toMatch(/last exit: code 0 at /);
  }, 40_000);
});
