import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import {
  checkPython,
  detectFromComfyUI,
  findOnPath,
  resolveLaunchProfile,
} from '../../../src/core/settings/launch-profile.js';
import {
  defaultSettings,
  mergeSettings,
  settingsForDaemon,
  settingsSchema,
  type OneDaemonSettings,
} from '../../../src/shared/settings-schema.js';
import { pythonExecutable } from '../../helpers/python.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'luna-launch-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** `patch` (with the single-daemon `daemon` block) as the first daemon's supervisor sees it. */
function settings(patch: Record<string, unknown>): OneDaemonSettings {
  return settingsForDaemon(settingsSchema.parse(mergeSettings(defaultSettings(), patch)))!;
}

/** The real python3 as an absolute path (for venv symlinks). */
function realPython(): string {
  const p = findOnPath(pythonExecutable(), process.env);
  if (!p) throw new Error('python3 not found on PATH');
  return p;
}

/** A fake ComfyUI tree: optional venv python (a symlink to the real one) and Luna collection. */
function fakeComfy(
  opts: { venv?: string; collection?: string; script?: 'daemon_server.py' | 'tray_app.py' | null } = {},
) {
  const root = join(tempDir(), 'ComfyUI');
  mkdirSync(join(root, 'custom_nodes'), { recursive: true });
  if (opts.venv) {
    const py = join(root, ...opts.venv.split('/'));
    mkdirSync(join(py, '..'), { recursive: true });
    symlinkSync(realPython(), py);
  }
  if (opts.script !== null) {
    const dir = join(root, 'custom_nodes', opts.collection ?? 'ComfyUI-Luna-Collection', 'luna_daemon');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, opts.script ?? 'daemon_server.py'), 'print("daemon")\n');
  }
  return root;
}

/** An env whose PATH has no python at all (an empty bin dir). */
function envWithoutPython(): NodeJS.ProcessEnv {
  const bin = tempDir();
  return { PATH: bin, HOME: '/home/x', PYTHONPATH: '/existing' };
}

const base = { dataDir: '/data/luna', simulatorPath: '' };

describe('resolveLaunchProfile: comfyui', () => {
  it('finds venv/bin/python and daemon_server.py, sets PYTHONPATH, PYTHONUNBUFFERED and cwd', () => {
    const root = fakeComfy({ venv: 'venv/bin/python' });
    const r = resolveLaunchProfile(
      settings({ comfyui: { path: root }, daemon: { attentionMode: 'flash', env: { EXTRA: '1' } } }),
      { ...base, env: { PATH: '/usr/bin', PYTHONPATH: '/existing' }, platform: 'linux' },
    );
    expect(r).toMatchObject({
      ok: true,
      command: join(root, 'venv', 'bin', 'python'),
      args: [join(root, 'custom_nodes', 'ComfyUI-Luna-Collection', 'luna_daemon', 'daemon_server.py')],
      cwd: root,
      // Which interpreter was chosen is reported (PyTorch must be installed in that one).
      notes: [`Using ComfyUI's own Python (venv): ${join(root, 'venv', 'bin', 'python')}`],
    });
    if (!r.ok) return;
    expect(r.env).toMatchObject({
      PYTHONPATH: `${root}:/existing`,
      PYTHONUNBUFFERED: '1',
      LUNA_ATTENTION_MODE: 'flash',
      EXTRA: '1',
      PATH: '/usr/bin',
    });
    expect(r.description).toContain('daemon_server.py');
  });

  it('prefers .venv after venv, and finds a case-variant collection folder', () => {
    const root = fakeComfy({ venv: '.venv/bin/python', collection: 'comfyui-luna-collection-main' });
    const r = resolveLaunchProfile(settings({ comfyui: { path: root } }), {
      ...base,
      env: envWithoutPython(),
      platform: 'linux',
    });
    expect(r.ok && r.command).toBe(join(root, '.venv', 'bin', 'python'));
    expect(r.ok && r.notes).toContain(
      `Using ComfyUI's own Python (.venv): ${join(root, '.venv', 'bin', 'python')}`,
    );
    expect(r.ok && r.args[0]).toContain('comfyui-luna-collection-main');
  });

  it('finds the portable build python_embeded\\python.exe with Windows rules', () => {
    const root = fakeComfy({ venv: 'python_embeded/python.exe' });
    const r = resolveLaunchProfile(settings({ comfyui: { path: root } }), {
      ...base,
      env: { Path: 'C:\\nothing', PYTHONPATH: 'C:\\old' },
      platform: 'win32',
    });
    expect(r).toMatchObject({ ok: true, command: join(root, 'python_embeded', 'python.exe') });
    // Windows separator, prepended to the existing variable.
    expect(r.ok && r.env.PYTHONPATH).toBe(`${root};C:\\old`);
  });

  it('falls back to python3 on PATH with a note', () => {
    const root = fakeComfy();
    const bin = tempDir();
    symlinkSync(realPython(), join(bin, 'python3'));
    const r = resolveLaunchProfile(settings({ comfyui: { path: root } }), {
      ...base,
      env: { PATH: bin },
      platform: 'linux',
    });
    expect(r).toMatchObject({ ok: true, command: join(bin, 'python3') });
    expect(r.ok && r.notes.join()).toMatch(/using .*python3 from PATH/);
  });

  it('falls back to tray_app.py with a note about GUI mode', () => {
    const root = fakeComfy({ venv: 'venv/bin/python', script: 'tray_app.py' });
    const r = resolveLaunchProfile(settings({ comfyui: { path: root } }), {
      ...base,
      env: envWithoutPython(),
      platform: 'linux',
    });
    expect(r.ok && r.args[0]).toMatch(/tray_app\.py$/);
    expect(r.ok && r.notes.join()).toMatch(/keeps running after a shutdown/);
  });

  it('prefers daemon_server.py in any collection folder over tray_app.py in an earlier one', () => {
    // The canonical folder (searched first) has only the tray app; a second copy has the daemon.
    const root = fakeComfy({ venv: 'venv/bin/python', script: 'tray_app.py' });
    const other = join(root, 'custom_nodes', 'my-luna-collection-fork', 'luna_daemon');
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, 'daemon_server.py'), 'print("daemon")\n');
    const r = resolveLaunchProfile(settings({ comfyui: { path: root } }), {
      ...base,
      env: envWithoutPython(),
      platform: 'linux',
    });
    expect(r.ok && r.args[0]).toBe(join(other, 'daemon_server.py'));
    expect(r.ok && r.notes.join()).not.toMatch(/tray app/);
  });

  it('uses daemon.command / daemon.args / daemon.cwd when set', () => {
    const root = fakeComfy();
    const r = resolveLaunchProfile(
      settings({ comfyui: { path: root }, daemon: { command: '/opt/py', cwd: '/work' } }),
      { ...base, env: envWithoutPython(), platform: 'linux' },
    );
    expect(r).toMatchObject({ ok: true, command: '/opt/py', cwd: '/work' });
    expect(r.ok && r.args[0]).toMatch(/daemon_server\.py$/);
    const r2 = resolveLaunchProfile(
      settings({ comfyui: { path: root }, daemon: { command: '/opt/py', args: ['-m', 'luna_daemon'] } }),
      { ...base, env: envWithoutPython(), platform: 'linux' },
    );
    expect(r2).toMatchObject({ ok: true, command: '/opt/py', args: ['-m', 'luna_daemon'] });
  });

  it.each([
    [
      'no comfyui.path',
      () => settings({}),
      'not-configured',
      'comfyui.path is not set — enter it in Settings → ComfyUI → "ComfyUI folder", or run `luna-tray config set comfyui.path /path/to/ComfyUI` (or choose the simulator profile)',
    ],
    [
      'a comfyui.path that does not exist',
      () => settings({ comfyui: { path: '/definitely/not/here' } }),
      'not-configured',
      /does not exist/,
    ],
  ])('%s → %s', (_name, make, kind, message) => {
    const r = resolveLaunchProfile(make(), { ...base, env: envWithoutPython(), platform: 'linux' });
    expect(r).toMatchObject({ ok: false, kind });
    if (!r.ok) expect(r.message).toMatch(message);
  });

  it('missing Python: names the folder and what was looked for', () => {
    const root = fakeComfy();
    const r = resolveLaunchProfile(settings({ comfyui: { path: root } }), {
      ...base,
      env: envWithoutPython(),
      platform: 'linux',
    });
    expect(r).toMatchObject({ ok: false, kind: 'missing-python' });
    if (!r.ok) {
      expect(r.message).toContain(
        `No Python found in ${root} (looked for venv/bin/python, .venv/bin/python, python_embeded/python.exe) and none on PATH`,
      );
    }
  });

  it('missing daemon: names the expected path and the fix', () => {
    const root = fakeComfy({ venv: 'venv/bin/python', script: null });
    const r = resolveLaunchProfile(settings({ comfyui: { path: root } }), {
      ...base,
      env: envWithoutPython(),
      platform: 'linux',
    });
    expect(r).toMatchObject({ ok: false, kind: 'missing-script' });
    if (!r.ok) {
      expect(r.message).toBe(
        `Luna daemon not found: ${join(root, 'custom_nodes', '*Luna-Collection*', 'luna_daemon', 'daemon_server.py')} is missing — install ComfyUI-Luna-Collection`,
      );
    }
  });
});

describe('resolveLaunchProfile: simulator and custom', () => {
  it('simulator: python3 <sim> --port --ws-port + daemon.args, cwd = dataDir', () => {
    const sim = join(tempDir(), 'luna_daemon_sim.py');
    writeFileSync(sim, '');
    const bin = tempDir();
    symlinkSync(realPython(), join(bin, 'python3'));
    const r = resolveLaunchProfile(
      settings({
        daemon: { profile: 'simulator', port: 20001, wsPort: 0, args: ['--legacy'], env: { X: 'y' } },
      }),
      { dataDir: '/data/luna', simulatorPath: sim, env: { PATH: bin }, platform: 'linux' },
    );
    expect(r).toMatchObject({
      ok: true,
      command: join(bin, 'python3'),
      args: [sim, '--port', '20001', '--ws-port', '0', '--legacy'],
      cwd: '/data/luna',
      env: { PATH: bin, PYTHONUNBUFFERED: '1', X: 'y' },
    });
  });

  it('simulator: a missing simulator script is reported', () => {
    const bin = tempDir();
    symlinkSync(realPython(), join(bin, 'python3'));
    const r = resolveLaunchProfile(settings({ daemon: { profile: 'simulator' } }), {
      dataDir: '/d',
      simulatorPath: '/nope/sim.py',
      env: { PATH: bin },
      platform: 'linux',
    });
    expect(r).toMatchObject({ ok: false, kind: 'missing-script' });
  });

  it('custom: command + args as given; unset command is not-configured', () => {
    const r = resolveLaunchProfile(
      settings({ daemon: { profile: 'custom', command: '/usr/bin/env', args: ['python3', 'x.py'] } }),
      {
        ...base,
        env: {},
        platform: 'linux',
      },
    );
    expect(r).toMatchObject({
      ok: true,
      command: '/usr/bin/env',
      args: ['python3', 'x.py'],
      cwd: '/data/luna',
    });
    const r2 = resolveLaunchProfile(settings({ daemon: { profile: 'custom' } }), {
      ...base,
      env: {},
      platform: 'linux',
    });
    expect(r2).toMatchObject({ ok: false, kind: 'not-configured' });
    if (!r2.ok) expect(r2.message).toMatch(/daemon\.command is not set/);
  });
});

describe('detectFromComfyUI', () => {
  it('reports what it found', () => {
    const root = fakeComfy({ venv: 'venv/bin/python' });
    const d = detectFromComfyUI(root, { platform: 'linux', env: envWithoutPython() });
    expect(d).toMatchObject({
      root,
      python: join(root, 'venv', 'bin', 'python'),
      pythonSource: 'venv',
      collectionDir: join(root, 'custom_nodes', 'ComfyUI-Luna-Collection'),
      scriptKind: 'daemon_server',
    });
  });

  it('ignores a non-executable venv python', () => {
    const root = fakeComfy();
    mkdirSync(join(root, 'venv', 'bin'), { recursive: true });
    writeFileSync(join(root, 'venv', 'bin', 'python'), '#!/bin/sh\n');
    chmodSync(join(root, 'venv', 'bin', 'python'), 0o644);
    const d = detectFromComfyUI(root, { platform: 'linux', env: envWithoutPython() });
    // As root, X_OK succeeds for any file with at least one execute bit; 0644 has none.
    expect(d.python).toBeNull();
  });
});

describe('checkPython', () => {
  it('reports the version of a working Python 3', async () => {
    const r = await checkPython(pythonExecutable());
    expect(r.ok).toBe(true);
    expect(r.version).toMatch(/^3\.\d+/);
  });

  it('explains a missing interpreter', async () => {
    expect(await checkPython('/no/such/python')).toEqual({
      ok: false,
      message: 'Python not found: /no/such/python',
    });
  });

  it('rejects something that is not Python 3, and times out a hanging one', async () => {
    const dir = tempDir();
    const fake = join(dir, 'python');
    writeFileSync(fake, '#!/bin/sh\necho "2.7.18 (default)"\n');
    chmodSync(fake, 0o755);
    expect(await checkPython(fake)).toMatchObject({ ok: false, version: '2.7.18 (default)' });
    // Exit 0 with nothing printed (a shim that never reached Python): asked twice, then named as such.
    const silent = join(dir, 'silent');
    const calls = join(dir, 'calls');
    writeFileSync(silent, `#!/bin/sh\necho x >> '${calls}'\necho 'pyenv: no python' >&2\n`);
    chmodSync(silent, 0o755);
    const s = await checkPython(silent);
    expect(s.ok).toBe(false);
    expect(s.message).toMatch(/exited 0 but printed no version \(it said: pyenv: no python\)/);
    expect(readFileSync(calls, 'utf8').trim().split('\n')).toHaveLength(2);
    const hang = join(dir, 'hang');
    writeFileSync(hang, '#!/bin/sh\nexec sleep 5\n');
    chmodSync(hang, 0o755);
    const r = await checkPython(hang, { timeoutMs: 200 });
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(/did not answer within 200 ms/);
  });
});
