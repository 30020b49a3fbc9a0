import { describe, expect, it } from 'vitest';

import {
  defaultSettings,
  settingsForDaemon,
  type DaemonConfig,
  type OneDaemonSettings,
} from '../../../../src/shared/settings-schema.js';
import { preflightReport, runPreflight } from '../../../../src/core/supervisor/preflight.js';
import { pythonExecutable } from '../../../helpers/python.js';
import { SIM_PATH } from '../../../helpers/sim.js';

function settings(daemon: Partial<DaemonConfig> = {}): OneDaemonSettings {
  const s = settingsForDaemon(defaultSettings())!;
  return { ...s, daemon: { ...s.daemon, profile: 'simulator', command: pythonExecutable(), ...daemon } };
}
const paths = { dataDir: '/tmp', simulatorPath: SIM_PATH };
const base = {
  host: '127.0.0.1',
  port: 19283,
  ...paths,
  checkPython: async () => ({ ok: true, message: 'Python 3' }),
};

describe('the one pre-flight (Test launch profile and Start)', () => {
  it('all clear: profile, python, both ports; the report carries the resolved command', async () => {
    const s = settings();
    const r = await runPreflight({ ...base, settings: s, probed: 'none', isPortFree: async () => true });
    expect(r.failure).toBeNull();
    expect(r.checks.map((c) => [c.name, c.ok])).toEqual([
      ['launch profile', true],
      ['python', true],
      ['port 19283', true],
      ['port 19285', true],
    ]);
    const report = preflightReport(r, s.daemon);
    expect(report.ok).toBe(true);
    expect(report.args).toContain(SIM_PATH);
  });

  it('a busy WebSocket port is a port conflict; the report goes on, Start stops at the first failure', async () => {
    const s = settings();
    const busyWs = async (p: number) => p !== 19285;
    const all = await runPreflight({
      ...base,
      settings: s,
      probed: 'none',
      isPortFree: busyWs,
      checkPython: async () => ({ ok: false, message: 'no python' }),
    });
    expect(all.failure).toEqual({ kind: 'missing-python', message: 'no python' });
    expect(all.checks.map((c) => c.ok)).toEqual([true, false, true, false]);
    expect(all.checks[3]!.message).toContain('Port 19285 (the WebSocket monitor port) is in use');

    const start = await runPreflight({
      ...base,
      settings: s,
      probed: 'none',
      isPortFree: busyWs,
      stopAtFirstFailure: true,
    });
    expect(start.failure?.kind).toBe('port-conflict');
    const first = await runPreflight({
      ...base,
      settings: s,
      probed: 'none',
      isPortFree: busyWs,
      stopAtFirstFailure: true,
      checkPython: async () => ({ ok: false, message: 'no python' }),
    });
    expect(first.checks).toHaveLength(2);
  });

  it('something that is not a Luna daemon on the port → port conflict; a Luna daemon → would be adopted', async () => {
    const s = settings();
    const notLuna = await runPreflight({
      ...base,
      settings: s,
      probed: 'not-luna',
      isPortFree: async () => true,
    });
    expect(notLuna.failure?.kind).toBe('port-conflict');
    expect(notLuna.failure?.message).toContain('which is not a Luna daemon');
    const luna = await runPreflight({
      ...base,
      settings: s,
      probed: 'current',
      isPortFree: async () => false,
    });
    expect(luna.failure).toBeNull();
    expect(luna.checks.at(-1)!.message).toContain('it would be adopted');
  });

  it('an unresolvable profile ends the pre-flight with its own kind', async () => {
    const s = {
      ...settings({ profile: 'comfyui', command: '' }),
      comfyui: { ...defaultSettings().comfyui, path: '' },
    };
    const r = await runPreflight({ ...base, settings: s, probed: 'none' });
    expect(r.checks).toHaveLength(1);
    expect(r.failure?.kind).toBe('not-configured');
    expect(preflightReport(r, s.daemon)).toMatchObject({ ok: false, command: '' });
  });
});
