// The packaged package.json is what Electron reads at run time (app.getName()) and what electron-builder
// needs for the deb (homepage, author); the AppUserModelId must be the installer's appId.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { beforeEach, describe, expect, it } from 'vitest';

import { APP_ID } from '../../src/main/desktop-integration.js';
import { app, resetElectronFake } from '../mocks/electron.js';

const root = process.cwd();
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
const yml = readFileSync(join(root, 'electron-builder.yml'), 'utf8');
const ymlValue = (key: string) => new RegExp(`^${key}:\\s*(.+)$`, 'm').exec(yml)?.[1]?.trim();

beforeEach(() => resetElectronFake());

describe('package metadata', () => {
  it('app.getName() is the product name (notifications, menus, default ids use it)', () => {
    app.appPath = root;
    expect(app.getName()).toBe('Luna Tray');
    expect(ymlValue('productName')).toBe(app.getName());
  });

  it('APP_ID is electron-builder’s appId (the Start-menu shortcut’s AppUserModelId)', () => {
    expect(ymlValue('appId')).toBe(APP_ID);
  });

  it('has what the deb target requires, and desktopName matches the installed desktop entry', () => {
    expect(pkg.homepage).toMatch(/^https:\/\//);
    expect(pkg.author).toMatchObject({ name: expect.any(String), email: expect.stringContaining('@') });
    expect(pkg.repository).toMatchObject({ type: 'git' });
    // electron-builder names the entry after linux.executableName.
    expect(pkg.desktopName).toBe(`${/^\s+executableName:\s*(\S+)/m.exec(yml)?.[1]}.desktop`);
  });
});
