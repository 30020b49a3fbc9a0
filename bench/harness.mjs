// An in-process Supervisor built by the tests' fixture (test/helpers/supervisor-fixture.ts: LogStore +
// rotating file + capture, as src/core/app/luna-core.ts wires them), on the `simulator` profile with
// free ports, for crash-detection, start-stop and soak.
import { getPort, importTs, isAlive, SIM, tempDir, track } from './lib.mjs';

const { buildSupervisor } = await importTs('test/helpers/supervisor-fixture.ts');
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
  // The tests' fixture (test/helpers/supervisor-fixture.ts), with the log file as the product writes it.
  const rig = buildSupervisor({ settings, dataDir, simulatorPath: SIM, logFile: true, onPid: track });
  const sup = rig.sup;
  async function dispose() {
    const pid = sup.pid;
    await rig.dispose();
    if (pid && isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  return {
    sup,
    store: rig.store,
    settings,
    dataDir,
    events: rig.events,
    nextStatus: rig.nextStatus,
    dispose,
  };
}
