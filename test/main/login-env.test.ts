import { describe, expect, it } from 'vitest';

import { COMMANDS } from '../../src/cli/command-table.js';
import { CLI_COMMANDS, cliCommandIn, cliRefusal } from '../../src/main/flags.js';
import { demoteWindowsApps, importUserPath, loginShellPath, mergePath } from '../../src/main/login-env.js';
import type { CommandRunner } from '../../src/main/tray/tray-host.js';

const shellSays =
  (stdout: string, error: { code?: string | number } | null = null): CommandRunner =>
  async () => ({ stdout, stderr: '', error });

describe('PATH of a GUI app', () => {
  it('macOS: imports the login shell PATH ahead of launchd’s, ignoring rc-file chatter', async () => {
    const env: NodeJS.ProcessEnv = { PATH: '/usr/bin:/bin:/usr/sbin:/sbin', SHELL: '/bin/zsh' };
    const run = shellSays(
      'Welcome!\n__LUNA_TRAY_PATH__/opt/homebrew/bin:/usr/local/bin:/usr/bin:/bin__LUNA_TRAY_PATH__',
    );
    expect(await importUserPath({ platform: 'darwin', env, run })).toMatch(/login shell/);
    expect(env.PATH).toBe('/opt/homebrew/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin');
  });

  it('macOS: a shell that fails or hangs leaves PATH alone', async () => {
    const env: NodeJS.ProcessEnv = { PATH: '/usr/bin:/bin' };
    expect(
      await importUserPath({ platform: 'darwin', env, run: shellSays('', { code: 'ETIMEDOUT' }) }),
    ).toBeNull();
    expect(env.PATH).toBe('/usr/bin:/bin');
    expect(await loginShellPath(shellSays('no marker here'), '/bin/bash')).toBeNull();
  });

  it('Windows: the Store alias folder goes last, so a real python.exe wins', async () => {
    const env: NodeJS.ProcessEnv = {
      Path: 'C:\\Users\\u\\AppData\\Local\\Microsoft\\WindowsApps;C:\\Python312\\;C:\\Windows\\system32',
    };
    expect(await importUserPath({ platform: 'win32', env, run: shellSays('') })).toMatch(/alias/);
    expect(env.Path).toBe(
      'C:\\Python312\\;C:\\Windows\\system32;C:\\Users\\u\\AppData\\Local\\Microsoft\\WindowsApps',
    );
    expect(demoteWindowsApps('C:\\a;C:\\b')).toBe('C:\\a;C:\\b');
  });

  it('Linux: untouched', async () => {
    const env: NodeJS.ProcessEnv = { PATH: '/usr/bin' };
    expect(await importUserPath({ platform: 'linux', env, run: shellSays('x') })).toBeNull();
    expect(mergePath('/a:/b', '/b:/c')).toBe('/b:/c:/a');
  });
});

describe('the desktop app refuses CLI commands', () => {
  it('finds a CLI command after the executable (packaged) or the app path (unpackaged)', () => {
    expect(cliCommandIn(['/usr/bin/luna-tray', 'stop'], true)).toBe('stop');
    expect(cliCommandIn(['/usr/bin/luna-tray', '--hidden'], true)).toBeNull();
    expect(cliCommandIn(['electron', '.', '--data-dir=/x', 'status'], false)).toBe('status');
    expect(cliCommandIn(['electron', '.'], false)).toBeNull();
    expect(cliCommandIn(['electron', '--no-sandbox', '/app/out/main/index.cjs', 'stop'], false)).toBe('stop');
    // macOS Finder's -psn_ argument and unknown words are not commands.
    expect(cliCommandIn(['/Applications/Luna Tray.app/x', '-psn_0_123', 'whatever'], true)).toBeNull();
    expect(cliRefusal('stop')).toMatch(/npx luna-tray stop/);
    expect([...CLI_COMMANDS].sort()).toEqual(COMMANDS.map((c) => c.name).sort());
  });
});
