import { describe, expect, it } from 'vitest';

import { detectVersion, migrate } from '../../../src/core/settings/migrations.js';
import { settingsSchema } from '../../../src/shared/settings-schema.js';

describe('detectVersion', () => {
  it.each([
    [{ version: 1, daemon: {} }, 1],
    [{ version: 7 }, 7],
    [{ pythonPath: '/usr/bin/python3' }, 0],
    [{ port: 19283 }, 0],
    [{ daemon: { port: 1 } }, 1],
    [{}, 1],
    [{ version: 'one' }, null],
    [{ version: -1 }, null],
    [[1, 2], null],
    ['text', null],
  ])('%j → %s', (raw, expected) => {
    expect(detectVersion(raw)).toBe(expected);
  });
});

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
    expect(result.value).toEqual(expected);
    expect(result.fromVersion).toBe(0);
    expect(result.applied).toHaveLength(1);
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
    expect(parsed.daemon).toMatchObject({ command: '/p', args: ['/s.py'], port: 19283, autoStart: true });
    expect(parsed.comfyui.path).toBe('/c');
  });

  it('leaves a current file alone', () => {
    const raw = { version: 1, daemon: { port: 1234 } };
    expect(migrate(raw)).toEqual({ value: raw, fromVersion: 1, applied: [], isNewer: false });
  });

  it('flags a file from a newer version and does not touch it', () => {
    const raw = { version: 2, daemon: { port: 1234 }, future: { x: 1 } };
    expect(migrate(raw)).toEqual({ value: raw, fromVersion: 2, applied: [], isNewer: true });
  });

  it('passes non-objects through with fromVersion null', () => {
    expect(migrate([1])).toEqual({ value: [1], fromVersion: null, applied: [], isNewer: false });
  });
});
