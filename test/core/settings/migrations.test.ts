import { describe, expect, it } from 'vitest';

import { detectVersion, migrate } from '../../../src/core/settings/migrations.js';
import { settingsSchema, firstDaemon } from '../../../src/shared/settings-schema.js';

describe('detectVersion', () => {
  it.each([
    [{ version: 1, daemon: {} }, 1],
    [{ version: 7 }, 7],
    [{ pythonPath: '/usr/bin/python3' }, 0],
    [{ port: 19283 }, 0],
    [{ daemon: { port: 1 } }, 1],
    [{}, 2],
    [{ daemons: [] }, 2],
    [{ version: 'one' }, null],
    [{ version: -1 }, null],
    [[1, 2], null],
    ['text', null],
  ])('%j → %s', (raw, expected) => {
    expect(detectVersion(raw)).toBe(expected);
  });
});

/** The v1 layout a v0 step produces, as the v1→v2 step then turns it into v2. */
function asV2(v1: Record<string, unknown>): Record<string, unknown> {
  const { daemon, ...rest } = v1;
  return {
    ...rest,
    version: 2,
    daemons: [{ ...(daemon as object), id: 'default', name: 'Luna daemon', enabled: true }],
  };
}

describe('migrate', () => {
  it.each([
    [
      'full v0 file with a ComfyUI folder → comfyui profile',
      {
        pythonPath: 'D:\\AI\\ComfyUI\\venv\\Scripts\\python.exe',
        daemonScript: 'D:\\AI\\ComfyUI\\custom_nodes\\ComfyUI-Luna-Collection\\luna_daemon\\daemon_server.py',
        comfyuiPath: 'D:\\AI\\ComfyUI',
        port: 19283,
        autoStart: true,
      },
      {
        version: 1,
        daemon: {
          command: 'D:\\AI\\ComfyUI\\venv\\Scripts\\python.exe',
          args: ['D:\\AI\\ComfyUI\\custom_nodes\\ComfyUI-Luna-Collection\\luna_daemon\\daemon_server.py'],
          port: 19283,
          autoStart: true,
          profile: 'comfyui',
        },
        comfyui: { path: 'D:\\AI\\ComfyUI' },
      },
    ],
    [
      'interpreter + script without ComfyUI → custom profile',
      { pythonPath: '/usr/bin/python3', daemonScript: '/opt/luna/daemon_server.py' },
      {
        version: 1,
        daemon: { command: '/usr/bin/python3', args: ['/opt/luna/daemon_server.py'], profile: 'custom' },
        comfyui: {},
      },
    ],
    [
      'string port and autoStart are converted',
      { comfyuiPath: '/x/ComfyUI', port: '19300', autoStart: 'false' },
      {
        version: 1,
        daemon: { port: 19300, autoStart: false, profile: 'comfyui' },
        comfyui: { path: '/x/ComfyUI' },
      },
    ],
    [
      'unknown v0 keys are carried over (the store warns about them)',
      { comfyuiPath: '/x', theme: 'dark' },
      { theme: 'dark', version: 1, daemon: { profile: 'comfyui' }, comfyui: { path: '/x' } },
    ],
  ])('%s', (_name, raw, expected) => {
    const before = JSON.stringify(raw);
    const result = migrate(raw);
    expect(result.value).toEqual(asV2(expected));
    expect(result.fromVersion).toBe(0);
    expect(result.applied).toHaveLength(2);
    expect(result.isNewer).toBe(false);
    // Pure: the input is untouched.
    expect(JSON.stringify(raw)).toBe(before);
  });

  it('produces a value the v1 schema accepts', () => {
    const { value } = migrate({
      pythonPath: '/p',
      daemonScript: '/s.py',
      comfyuiPath: '/c',
      port: 19283,
      autoStart: true,
    });
    const parsed = settingsSchema.parse(value);
    expect(firstDaemon(parsed)).toMatchObject({
      command: '/p',
      args: ['/s.py'],
      port: 19283,
      autoStart: true,
    });
    expect(parsed.comfyui.path).toBe('/c');
  });

  it('leaves a current file alone', () => {
    const raw = { version: 2, daemons: [{ id: 'default', name: 'x', port: 1234 }] };
    expect(migrate(raw)).toEqual({ value: raw, fromVersion: 2, applied: [], isNewer: false });
  });

  it('v1 → v2: the single daemon block becomes the entry "default" of daemons, everything kept', () => {
    const raw = {
      version: 1,
      daemon: { port: 19300, profile: 'simulator', env: { A: '1' }, restart: { maxQuickCrashes: 2 } },
      comfyui: { path: '/c' },
    };
    const before = JSON.stringify(raw);
    const result = migrate(raw);
    expect(result).toMatchObject({ fromVersion: 1, isNewer: false });
    expect(result.applied).toEqual(['v1→v2: daemon → daemons[0] (id "default")']);
    expect(result.value).toEqual({
      version: 2,
      comfyui: { path: '/c' },
      daemons: [
        {
          id: 'default',
          name: 'Luna daemon',
          enabled: true,
          port: 19300,
          profile: 'simulator',
          env: { A: '1' },
          restart: { maxQuickCrashes: 2 },
        },
      ],
    });
    expect(JSON.stringify(raw)).toBe(before);
    const parsed = settingsSchema.parse(result.value);
    expect(parsed.daemons).toHaveLength(1);
    expect(firstDaemon(parsed)).toMatchObject({ id: 'default', port: 19300, wsPort: 19285 });
    // A v1 file written without a version field is read as v1 too.
    expect(migrate({ daemon: { port: 19300 } }).applied).toHaveLength(1);
  });

  it('flags a file from a newer version and does not touch it', () => {
    const raw = { version: 3, daemons: [], future: { x: 1 } };
    expect(migrate(raw)).toEqual({ value: raw, fromVersion: 3, applied: [], isNewer: true });
  });

  it('passes non-objects through with fromVersion null', () => {
    expect(migrate([1])).toEqual({ value: [1], fromVersion: null, applied: [], isNewer: false });
  });
});
