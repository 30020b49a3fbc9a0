// ElectronSettingsStore against a real file. electron-store is externalised by vitest (loaded by Node,
// so it would reach the REAL `electron` package, which throws without a binary); the mock below
// swaps in `conf`, the Electron-free engine electron-store extends, with the same option mapping
// electron-store performs (`name` → `configName`). Everything else (files, atomic writes) is real.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { ElectronSettingsStore } from '../../src/main/electron-settings-store.js';
import { defaultSettings, firstDaemon } from '../../src/shared/settings-schema.js';

vi.mock('electron-store', async () => {
  const { default: Conf } = await import('conf');
  class Store extends Conf {
    constructor(options: Record<string, unknown> & { name?: string }) {
      const { name, ...rest } = options;
      super({ ...rest, configName: name ?? 'config' });
    }
  }
  return { default: Store };
});

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'luna-settings-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const file = () => join(dir, 'settings.json');
const onDisk = () => JSON.parse(readFileSync(file(), 'utf8')) as Record<string, unknown>;
const backups = () => readdirSync(dir).filter((f) => f.startsWith('settings.json.'));
const at = () => new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 6));
const STAMP = '20250102T030405006Z';

describe('ElectronSettingsStore', () => {
  it('starts from defaults and writes a complete settings.json', () => {
    const s = new ElectronSettingsStore({ cwd: dir });
    expect(s.get()).toEqual(defaultSettings());
    expect(s.location).toBe(file());
    expect(onDisk()).toEqual(defaultSettings());
    expect(s.warnings).toEqual([]);
  });

  it('fills in missing keys of a partial file and keeps the user values', () => {
    writeFileSync(file(), JSON.stringify({ daemon: { port: 20000 } }));
    const s = new ElectronSettingsStore({ cwd: dir });
    expect(firstDaemon(s.get()).port).toBe(20000);
    expect(firstDaemon(s.get()).wsPort).toBe(19285);
    expect(((onDisk().daemons as Record<string, unknown>[])[0]! as { wsPort: number }).wsPort).toBe(19285);
  });

  it('update validates, persists and notifies; invalid patches change nothing', () => {
    const s = new ElectronSettingsStore({ cwd: dir });
    const seen: number[] = [];
    const off = s.onDidChange((v) => seen.push(firstDaemon(v).port));
    expect(s.update({ daemon: { port: 19300 } })).toMatchObject({ ok: true });
    expect(((onDisk().daemons as Record<string, unknown>[])[0]! as { port: number }).port).toBe(19300);
    const bad = s.update({ daemon: { port: 70000, host: '0.0.0.0' } });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.issues.map((i) => i.key).sort()).toEqual(['daemon.host', 'daemon.port']);
    expect(firstDaemon(s.get()).port).toBe(19300);
    off();
    s.update({ daemon: { port: 19301 } });
    expect(seen).toEqual([19300]);
    // A second store reads what the first wrote.
    expect(new ElectronSettingsStore({ cwd: dir }).get().daemons[0]!.port).toBe(19301);
  });

  it('an invalid value is reset key by key (others kept), the file backed up, and reported', () => {
    const v2 = { version: 2, daemons: [{ id: 'default', name: 'Luna daemon', port: 'nope', wsPort: 0 }] };
    writeFileSync(file(), JSON.stringify(v2));
    const s = new ElectronSettingsStore({ cwd: dir, now: at });
    expect(firstDaemon(s.get()).port).toBe(19283);
    expect(firstDaemon(s.get()).wsPort).toBe(0);
    expect(backups()).toEqual([`settings.json.corrupt-${STAMP}`]);
    expect(JSON.parse(readFileSync(join(dir, backups()[0]!), 'utf8'))).toEqual({
      ...v2,
    });
    expect(s.warnings).toHaveLength(1);
    expect(s.warnings[0]).toMatch(/daemons\.0\.port/);
    expect(((onDisk().daemons as Record<string, unknown>[])[0]! as { port: number }).port).toBe(19283);
  });

  it('unknown keys are dropped with a warning', () => {
    writeFileSync(
      file(),
      JSON.stringify({
        version: 2,
        daemons: [{ id: 'default', name: 'Luna daemon', port: 19290, colour: 'blue' }],
      }),
    );
    const s = new ElectronSettingsStore({ cwd: dir, now: at });
    expect(firstDaemon(s.get()).port).toBe(19290);
    expect(s.warnings.join('\n')).toMatch(/Unknown settings .*daemons\.0\.colour/);
    expect((onDisk().daemons as Record<string, unknown>[])[0]!).not.toHaveProperty('colour');
  });

  it('corrupt JSON is backed up, replaced by defaults, and reported', () => {
    writeFileSync(file(), '{"daemon": {');
    const s = new ElectronSettingsStore({ cwd: dir, now: at });
    expect(s.get()).toEqual(defaultSettings());
    expect(backups()).toEqual([`settings.json.corrupt-${STAMP}`]);
    expect(readFileSync(join(dir, backups()[0]!), 'utf8')).toBe('{"daemon": {');
    expect(s.warnings[0]).toMatch(/corrupt: not valid JSON/);
    expect(onDisk()).toEqual(defaultSettings());
    expect(existsSync(file())).toBe(true);
  });

  it('a newer settings version is used but never rewritten on load', () => {
    const newer = JSON.stringify({ version: 99, daemons: [{ id: 'default', name: 'x', port: 19555 }] });
    writeFileSync(file(), newer);
    const s = new ElectronSettingsStore({ cwd: dir, now: at });
    expect(firstDaemon(s.get()).port).toBe(19555);
    expect(readFileSync(file(), 'utf8')).toBe(newer);
    expect(s.warnings[0]).toMatch(/newer Luna Tray/);
  });

  it("runs the core's migrate() on the v0 flat layout and keeps the original", () => {
    writeFileSync(file(), JSON.stringify({ port: '19999', autoStart: 'yes' }));
    const s = new ElectronSettingsStore({ cwd: dir, now: at });
    expect(firstDaemon(s.get()).port).toBe(19999);
    expect(firstDaemon(s.get()).autoStart).toBe(true);
    expect(backups()).toEqual([`settings.json.v0-backup-${STAMP}`]);
    expect(s.warnings[0]).toMatch(/migrated from version 0 to 2/);
    expect(((onDisk().daemons as Record<string, unknown>[])[0]! as { port: number }).port).toBe(19999);
  });
});
