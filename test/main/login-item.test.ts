import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
  autostartIcon,
  createLoginItem,
  quoteExecArg,
  syncLoginItemWithSettings,
} from '../../src/main/login-item.js';
import { app, fakeEnv, resetElectronFake } from '../mocks/electron.js';
import { memorySettingsStore, settings } from './helpers/fixtures.js';

let home: string;
beforeEach(() => {
  resetElectronFake();
  home = mkdtempSync(join(tmpdir(), 'luna-login-'));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

const entryPath = () => join(home, '.config', 'autostart', 'luna-tray.desktop');
const execLine = (text: string) => /^Exec=(.*)$/m.exec(text)?.[1];

describe('Linux XDG autostart', () => {
  it('writes a valid entry running the binary with --hidden, and removes it', () => {
    const item = createLoginItem({
      platform: 'linux',
      app,
      homeDir: home,
      execPath: '/opt/luna-tray/luna-tray',
    });
    expect(item.isEnabled()).toBe(false);
    item.setEnabled(true);
    const text = readFileSync(entryPath(), 'utf8');
    expect(text.split('\n')[0]).toBe('[Desktop Entry]');
    expect(text).toMatch(/^Type=Application$/m);
    expect(text).toMatch(/^Name=Luna Tray$/m);
    expect(text).toMatch(/^X-GNOME-Autostart-enabled=true$/m);
    expect(text).toMatch(/^Icon=.+$/m);
    expect(text).toMatch(/^Comment=.+$/m);
    expect(execLine(text)).toBe('/opt/luna-tray/luna-tray --hidden');
    expect(item.isEnabled()).toBe(true);
    item.setEnabled(false);
    expect(existsSync(entryPath())).toBe(false);
    expect(item.isEnabled()).toBe(false);
    expect(app.loginItemCalls).toEqual([]); // never the Electron API on Linux
  });

  it('uses $APPIMAGE (not the mounted execPath) when running as an AppImage', () => {
    const item = createLoginItem({
      platform: 'linux',
      app,
      homeDir: home,
      execPath: '/tmp/.mount_LunaTrXYZ/luna-tray',
      appImagePath: '/home/u/Apps/Luna-Tray.AppImage',
    });
    item.setEnabled(true);
    expect(execLine(readFileSync(entryPath(), 'utf8'))).toBe('/home/u/Apps/Luna-Tray.AppImage --hidden');
  });

  it('quotes paths with spaces per the Desktop Entry spec and adds the app path when unpackaged', () => {
    const item = createLoginItem({
      platform: 'linux',
      app,
      homeDir: home,
      execPath: '/home/u/my apps/electron',
      appPath: '/home/u/src/luna tray',
    });
    item.setEnabled(true);
    expect(execLine(readFileSync(entryPath(), 'utf8'))).toBe(
      '"/home/u/my apps/electron" "/home/u/src/luna tray" --hidden',
    );
    expect(item.isEnabled()).toBe(true);
  });

  it('respects $XDG_CONFIG_HOME', () => {
    const xdg = join(home, 'xdg');
    const item = createLoginItem({
      platform: 'linux',
      app,
      homeDir: home,
      execPath: '/usr/bin/luna-tray',
      xdgConfigHome: xdg,
    });
    item.setEnabled(true);
    expect(existsSync(join(xdg, 'autostart', 'luna-tray.desktop'))).toBe(true);
    expect(existsSync(entryPath())).toBe(false);
  });

  it('reports disabled when the entry points at another program or is hidden', () => {
    mkdirSync(join(home, '.config', 'autostart'), { recursive: true });
    writeFileSync(entryPath(), '[Desktop Entry]\nType=Application\nExec=/usr/bin/something-else --hidden\n');
    const item = createLoginItem({ platform: 'linux', app, homeDir: home, execPath: '/usr/bin/luna-tray' });
    expect(item.isEnabled()).toBe(false);
    writeFileSync(entryPath(), '[Desktop Entry]\nExec=/usr/bin/luna-tray --hidden\nHidden=true\n');
    expect(item.isEnabled()).toBe(false);
  });

  it('escapes the reserved characters inside quotes, and doubles %', () => {
    expect(quoteExecArg('/plain/path')).toBe('/plain/path');
    expect(quoteExecArg('/a b/"q"$x\\y`z')).toBe('"/a b/\\"q\\"\\$x\\\\y\\`z"');
    expect(quoteExecArg('/100%/x')).toBe('/100%%/x');
  });
});

describe('Windows login item', () => {
  beforeEach(() => (fakeEnv.platform = 'win32'));

  it('registers with --hidden and reads the Task Manager switch (executableWillLaunchAtLogin)', () => {
    const item = createLoginItem({ platform: 'win32', app, homeDir: home, execPath: process.execPath });
    expect(item.isEnabled()).toBe(false);
    item.setEnabled(true);
    expect(app.loginItemCalls).toEqual([{ openAtLogin: true, args: ['--hidden'], enabled: true }]);
    expect(item.isEnabled()).toBe(true);
    expect(item.note()).toBeNull();
    app.disableRunEntryByUser();
    expect(item.isEnabled()).toBe(false);
    expect(item.note()).toBe('switched off in Task Manager');
    item.setEnabled(true); // the user ticks it again: the switch goes back on
    expect(item.isEnabled()).toBe(true);
    item.setEnabled(false);
    expect(item.isEnabled()).toBe(false);
    expect(existsSync(join(home, '.config'))).toBe(false);
  });
});

describe('macOS login item', () => {
  beforeEach(() => (fakeEnv.platform = 'darwin'));

  it('registers, and shows requires-approval (macOS 13+) as a note, not as on', () => {
    const item = createLoginItem({ platform: 'darwin', app, homeDir: home, execPath: '/Applications/x' });
    item.setEnabled(true);
    expect(app.loginItemCalls).toEqual([{ openAtLogin: true, args: ['--hidden'] }]);
    expect(item.isEnabled()).toBe(true);
    item.setEnabled(false);
    fakeEnv.macLoginItemNeedsApproval = true;
    item.setEnabled(true);
    expect(item.isEnabled()).toBe(false);
    expect(item.note()).toBe('approve it in System Settings › Login Items');
  });
});

describe('autostart icon', () => {
  it('never points inside app.asar (the desktop cannot read it): the installed icon name instead', () => {
    expect(autostartIcon('/opt/Luna Tray/resources/app.asar/assets/icons/icon.png')).toBe('luna-tray');
    expect(autostartIcon('C:\\Luna\\resources\\app.asar\\assets\\icons\\icon.png')).toBe('luna-tray');
    expect(autostartIcon('/home/u/src/luna-tray/assets/icons/icon.png')).toBe(
      '/home/u/src/luna-tray/assets/icons/icon.png',
    );
  });
});

describe('syncLoginItemWithSettings', () => {
  it('the OS wins at start, then settings changes apply to the OS', () => {
    const item = createLoginItem({ platform: 'linux', app, homeDir: home, execPath: '/usr/bin/luna-tray' });
    item.setEnabled(true);
    const store = memorySettingsStore(settings({ app: { openAtLogin: false } }));
    const dispose = syncLoginItemWithSettings(item, store);
    expect(store.get().app.openAtLogin).toBe(true);
    store.update({ app: { openAtLogin: false } });
    expect(item.isEnabled()).toBe(false);
    store.update({ app: { openAtLogin: true } });
    expect(item.isEnabled()).toBe(true);
    dispose();
    store.update({ app: { openAtLogin: false } });
    expect(item.isEnabled()).toBe(true);
  });
});
