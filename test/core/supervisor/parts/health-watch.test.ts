import { describe, expect, it } from 'vitest';

import type { LunaClient } from '../../../../src/core/daemon/luna-client.js';
import { startHealthWatch } from '../../../../src/core/supervisor/health-watch.js';
import { sleep, waitFor } from '../../../helpers/processes.js';

const health = {
  intervalSec: 0.05,
  failuresBeforeUnresponsive: 2,
  pingTimeoutMs: 100,
  infoIntervalSec: 0.05,
};

function watch(answer: () => boolean) {
  const seen: string[] = [];
  let infoPolls = 0;
  const w = startHealthWatch({
    generation: 'legacy', // no reusable connection: every ping goes through `client`
    host: '127.0.0.1',
    port: 1,
    wsPort: 0,
    health,
    pid: null,
    client: () =>
      ({
        ping: async () => {
          if (!answer()) throw new Error('refused');
          return { latencyMs: 1 };
        },
      }) as unknown as LunaClient,
    onPingOk: () => seen.push('ok'),
    onPingFailed: (n) => seen.push(`failed ${n}`),
    onInfo: () => undefined,
    refreshInfo: () => infoPolls++,
    onStats: () => undefined,
    warn: () => undefined,
  });
  return { w, seen, infoPolls: () => infoPolls };
}

describe('the health watch', () => {
  it('pings every interval and counts failures in a row; an answer resets the count', async () => {
    let up = false;
    const { w, seen } = watch(() => up);
    await waitFor(() => seen.length >= 2, 'two failed pings', 2_000);
    expect(seen.slice(0, 2)).toEqual(['failed 1', 'failed 2']);
    up = true;
    await waitFor(() => seen.includes('ok'), 'an answer', 2_000);
    up = false;
    const from = seen.length;
    await waitFor(() => seen.length > from, 'the next failure', 2_000);
    expect(seen[from]).toBe('failed 1');
    w.stop();
  });

  it('without a feed it polls get_info; after stop() nothing is reported any more', async () => {
    const { w, seen, infoPolls } = watch(() => true);
    await waitFor(() => infoPolls() >= 2, 'get_info polls', 2_000);
    w.stop();
    await sleep(30); // a ping in flight settles
    const after = { seen: seen.length, polls: infoPolls() };
    await sleep(300);
    expect({ seen: seen.length, polls: infoPolls() }).toEqual(after);
  });
});
