// An in-process Supervisor wired like src/core/app/luna-core.ts does it (LogStore + rotating file +
// capture), on the `simulator` profile with free ports, for crash-detection and start-stop.
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { getPort, importTs, isAlive, SIM, tempDir, track } from './lib.mjs';

const { Supervisor } = await importTs('src/core/supervisor/supervisor.ts');
const logs = await importTs('src/core/logs/index.ts');
const { defaultSettings } = await importTs('src/shared/settings-schema.ts');
export const { LunaClient } = await importTs('src/core/daemon/luna-client.ts');

/**
 * A Supervisor on the simulator profile. `tweak(settings)` edits the defaults (restart policy,
 * health). Every `status` event is timestamped with performance.now() into `events`.
 */
export async function makeSupervisor(tweak = () => {}) {
  const dataDir = tempDir('luna-bench-sup-');
  const settings = defaultSettings();
  settings.daemon.profile = 'simulator';
  settings.daemon.port = await getPort();
  settings.daemon.wsPort = await getPort();
  settings.daemon.generation = 'current';
  tweak(settings);
  const store = new logs.LogStore({ capacity: settings.logs.bufferSize });
  const file = logs.createRotatingFile({
    path: join(dataDir, 'logs', 'daemon.log'),
    maxBytes: settings.logs.fileMaxBytes,
    count: settings.logs.fileCount,
  });
  const capture = logs.createLogCapture({ store, file, maxLineLength: settings.logs.maxLineLength });
  const sup = new Supervisor({
    id: 'default',
    config: () => settings.daemon,
    settings: () => settings,
    dataDir,
    simulatorPath: SIM,
    store,
    capture,
  });
  const events = [];
  const waiters = new Set();
  sup.on('status', (s) => {
    const at = performance.now();
    events.push({ at, status: s });
    if (s.pid) track(s.pid);
    for (const w of [...waiters]) {
      if (w.pred(s)) {
        waiters.delete(w);
        w.resolve({ at, status: s });
      }
    }
  });
  /** Resolves with {at, status} at the next status event matching `pred`. */
  function nextStatus(pred, timeoutMs = 30_000) {
    return new Promise((resolve, reject) => {
      const w = { pred, resolve };
      waiters.add(w);
      setTimeout(() => {
        if (waiters.delete(w))
          reject(new Error(`no matching status within ${timeoutMs} ms (now ${sup.status.state})`));
      }, timeoutMs).unref();
    });
  }
  async function dispose() {
    const pid = sup.pid;
    await sup.dispose({ keepDaemon: false });
    capture.dispose();
    await file.close();
    if (pid && isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  return { sup, store, settings, dataDir, events, nextStatus, dispose };
}
