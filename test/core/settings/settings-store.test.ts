import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it, vi } from 'vitest';

import { JsonFileSettingsStore } from '../../../src/core/settings/json-file-settings-store.js';
import { MemorySettingsStore } from '../../../src/core/settings/memory-settings-store.js';
import type { SettingsStore } from '../../../src/core/settings/settings-store.js';
import { defaultSettings, patchForKey, firstDaemon } from '../../../src/shared/settings-schema.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'luna-settings-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) {
    chmodSync(d, 0o700);
    rmSync(d, { recursive: true, force: true });
  }
});
const NOW = () => new Date('2026-11-21T05:41:00.123Z');
const backups = (dir: string) =>
  readdirSync(dir).filter((f) => f.includes('.corrupt-') || f.includes('-backup-') || f.includes('.from-v'));

describe.each([
  ['MemorySettingsStore', (): SettingsStore => new MemorySettingsStore()],
  ['JsonFileSettingsStore', (): SettingsStore => new JsonFileSettingsStore(join(tempDir(), 'settings.json'))],
])('%s: the SettingsStore contract', (_name, make) => {
  it('starts with the defaults', () => {
    expect(make().get()).toEqual(defaultSettings());
  });

  it('merges a deep-partial patch and notifies once', () => {
    const store = make();
    const listener = vi.fn();
    const dispose = store.onDidChange(listener);
    const result = store.update({ daemon: { port: 19300, restart: { maxQuickCrashes: 3 } } });
    expect(result.ok).toBe(true);
    expect(firstDaemon(store.get()).port).toBe(19300);
    expect(firstDaemon(store.get()).restart).toMatchObject({ maxQuickCrashes: 3, enabled: true });
    expect(firstDaemon(store.get()).host).toBe('127.0.0.1');
    expect(listener).toHaveBeenCalledTimes(1);
    expect(listener.mock.calls[0]![1].daemons[0].port).toBe(19283);
    // No change → no event.
    store.update({ daemon: { port: 19300 } });
    expect(listener).toHaveBeenCalledTimes(1);
    dispose();
    store.update(patchForKey('app.notifications', false));
    expect(listener).toHaveBeenCalledTimes(1);
    expect(store.get().app.notifications).toBe(false);
  });

  it('rejects invalid values with dotted keys and changes nothing', () => {
    const store = make();
    const before = store.get();
    const result = store.update({ daemon: { port: 70000, host: '0.0.0.0' }, logs: { bufferSize: 'big' } });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((i) => i.key).sort()).toEqual(['daemon.host', 'daemon.port', 'logs.bufferSize']);
    expect(store.get()).toBe(before);
  });

  it('rejects unknown keys (typos) instead of dropping them silently', () => {
    const store = make();
    const result = store.update({ daemon: { prot: 1 } });
    expect(result).toEqual({ ok: false, issues: [{ key: 'daemon.prot', message: 'unknown setting' }] });
    expect(store.update('nope').ok).toBe(false);
  });

  it('replaces env as a whole', () => {
    const store = make();
    store.update({ daemon: { env: { A: '1', B: '2' } } });
    store.update({ daemon: { env: { C: '3' } } });
    expect(firstDaemon(store.get()).env).toEqual({ C: '3' });
  });
});

describe('JsonFileSettingsStore', () => {
  it('a missing file gives defaults, no warning and no file until the first change', () => {
    const dir = tempDir();
    const path = join(dir, 'sub', 'settings.json');
    const store = new JsonFileSettingsStore(path);
    expect(store.warnings).toEqual([]);
    expect(store.location).toBe(path);
    expect(existsSync(path)).toBe(false);
    store.update({ comfyui: { path: '/x/ComfyUI' } });
    const onDisk = JSON.parse(readFileSync(path, 'utf8'));
    expect(onDisk.comfyui.path).toBe('/x/ComfyUI');
    expect(onDisk.version).toBe(2);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    // Atomic write: no temporary file left behind.
    expect(readdirSync(join(dir, 'sub'))).toEqual(['settings.json']);
    expect(new JsonFileSettingsStore(path).get().comfyui.path).toBe('/x/ComfyUI');
  });

  it.each([
    ['not JSON', '{ this is not json'],
    ['truncated', '{"version": 1, "daemon": {"port": 19'],
    ['empty', ''],
    ['not an object', '[1, 2, 3]'],
    // Deeper than any valid settings (3,000 levels, ~15 KB): it used to overflow the stack and crash
    // `serve` and every CLI command with "Maximum call stack size exceeded".
    ['3,000-level deep', `{"version": 1, "x": ${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}}`],
    ['3,000-level deep array', `{"version": 1, "daemon": {"args": ${'['.repeat(3000)}${']'.repeat(3000)}}}`],
  ])('a %s file is backed up, defaults are used, and a warning names the backup', (_name, content) => {
    const dir = tempDir();
    const path = join(dir, 'settings.json');
    writeFileSync(path, content);
    const store = new JsonFileSettingsStore(path, { now: NOW });
    expect(store.get()).toEqual(defaultSettings());
    const backup = `${path}.corrupt-20261121T054100123Z`;
    expect(readFileSync(backup, 'utf8')).toBe(content);
    expect(store.warnings).toHaveLength(1);
    expect(store.warnings[0]).toContain(backup);
    expect(store.warnings[0]).toMatch(/corrupt/);
    // The file was repaired, so the next start is clean.
    expect(new JsonFileSettingsStore(path).warnings).toEqual([]);
  });

  it('keeps every valid key of an invalid file and resets only the invalid ones', () => {
    const dir = tempDir();
    const path = join(dir, 'settings.json');
    const content = JSON.stringify({
      version: 2,
      daemons: [
        {
          id: 'default',
          name: 'Luna daemon',
          port: 'nineteen',
          host: '0.0.0.0',
          autoStart: true,
          args: ['a.py'],
        },
      ],
      comfyui: { path: '/x/ComfyUI', instances: ['http://127.0.0.1:8188', 'ftp://nope'] },
      logs: { bufferSize: 5000 },
    });
    writeFileSync(path, content);
    const store = new JsonFileSettingsStore(path, { now: NOW });
    const s = store.get();
    expect(firstDaemon(s).port).toBe(19283);
    expect(firstDaemon(s).host).toBe('127.0.0.1');
    expect(firstDaemon(s).autoStart).toBe(true);
    expect(firstDaemon(s).args).toEqual(['a.py']);
    expect(s.comfyui.path).toBe('/x/ComfyUI');
    expect(s.comfyui.instances).toEqual(['http://127.0.0.1:8188']);
    expect(s.logs.bufferSize).toBe(5000);
    expect(store.warnings).toHaveLength(1);
    expect(store.warnings[0]).toContain('daemons.0.port');
    expect(store.warnings[0]).toContain('daemons.0.host');
    expect(store.warnings[0]).toContain('comfyui.instances');
    expect(store.warnings[0]).toContain(`${path}.corrupt-20261121T054100123Z`);
    expect(readFileSync(`${path}.corrupt-20261121T054100123Z`, 'utf8')).toBe(content);
  });

  it('drops unknown keys with a warning (the backup keeps them)', () => {
    const path = join(tempDir(), 'settings.json');
    writeFileSync(
      path,
      JSON.stringify({
        version: 2,
        daemons: [{ id: 'default', name: 'Luna daemon', port: 19290, colour: 'red' }],
        extra: 1,
      }),
    );
    const store = new JsonFileSettingsStore(path, { now: NOW });
    expect(firstDaemon(store.get()).port).toBe(19290);
    expect(store.warnings.join('\n')).toMatch(/Unknown settings .* ignored: daemons\.0\.colour, extra/);
    expect(JSON.parse(readFileSync(path, 'utf8'))).not.toHaveProperty('extra');
  });

  it('migrates a v0 file, backs it up and writes v1', () => {
    const dir = tempDir();
    const path = join(dir, 'settings.json');
    const v0 = { pythonPath: '/venv/bin/python', comfyuiPath: '/x/ComfyUI', port: 19283, autoStart: true };
    writeFileSync(path, JSON.stringify(v0));
    const store = new JsonFileSettingsStore(path, { now: NOW });
    expect(firstDaemon(store.get())).toMatchObject({
      command: '/venv/bin/python',
      profile: 'comfyui',
      autoStart: true,
    });
    expect(store.get().comfyui.path).toBe('/x/ComfyUI');
    expect(store.warnings.join('\n')).toMatch(/migrated from version 0 to 2/);
    expect(JSON.parse(readFileSync(`${path}.v0-backup-20261121T054100123Z`, 'utf8'))).toEqual(v0);
    expect(JSON.parse(readFileSync(path, 'utf8')).version).toBe(2);
  });

  it('does not silently downgrade a file from a newer version', () => {
    const dir = tempDir();
    const path = join(dir, 'settings.json');
    const v2 = JSON.stringify({
      version: 3,
      daemons: [{ id: 'default', name: 'Luna daemon', port: 19299 }],
      brandNew: { a: 1 },
    });
    writeFileSync(path, v2);
    const store = new JsonFileSettingsStore(path, { now: NOW });
    expect(firstDaemon(store.get()).port).toBe(19299);
    expect(store.warnings.join('\n')).toMatch(/newer Luna Tray \(settings version 3/);
    expect(readFileSync(`${path}.from-v3-20261121T054100123Z`, 'utf8')).toBe(v2);
    // Untouched until the user changes something.
    expect(readFileSync(path, 'utf8')).toBe(v2);
    store.update({ daemon: { autoStart: true } });
    expect(JSON.parse(readFileSync(path, 'utf8')).version).toBe(2);
  });

  it('reports a failed save as an issue and keeps the old settings', () => {
    const dir = tempDir();
    // The "directory" is a regular file: writes fail even as root.
    writeFileSync(join(dir, 'blocker'), '');
    const store = new JsonFileSettingsStore(join(dir, 'blocker', 'settings.json'));
    const result = store.update({ daemon: { port: 19300 } });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues[0]!.message).toMatch(/could not save settings/);
    expect(firstDaemon(store.get()).port).toBe(19283);
  });

  it('reload() picks up external edits and notifies', () => {
    const path = join(tempDir(), 'settings.json');
    const store = new JsonFileSettingsStore(path);
    store.update({ daemon: { port: 19300 } });
    const listener = vi.fn();
    store.onDidChange(listener);
    const onDisk = JSON.parse(readFileSync(path, 'utf8'));
    firstDaemon(onDisk).port = 19400;
    writeFileSync(path, JSON.stringify(onDisk));
    expect(store.reload()).toEqual({ changed: true, warnings: [] });
    expect(firstDaemon(store.get()).port).toBe(19400);
    expect(listener).toHaveBeenCalledTimes(1);
    expect(store.reload().changed).toBe(false);
  });

  it('two corrupt loads in the same millisecond get distinct backups', () => {
    const dir = tempDir();
    const path = join(dir, 'settings.json');
    writeFileSync(path, 'garbage 1');
    new JsonFileSettingsStore(path, { now: NOW });
    writeFileSync(path, 'garbage 2');
    new JsonFileSettingsStore(path, { now: NOW });
    expect(backups(dir).sort()).toEqual([
      'settings.json.corrupt-20261121T054100123Z',
      'settings.json.corrupt-20261121T054100123Z-2',
    ]);
  });
});

describe('MemorySettingsStore', () => {
  it('accepts initial values and rejects invalid ones', () => {
    expect(new MemorySettingsStore({ daemon: { profile: 'simulator' } }).get().daemons[0]!.profile).toBe(
      'simulator',
    );
    expect(() => new MemorySettingsStore({ daemon: { port: 0 } })).toThrow(/daemon\.port/);
  });
});
