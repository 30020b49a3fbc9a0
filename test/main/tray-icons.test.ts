import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import {
  TOOLTIP_MAX_CHARS,
  trayIconFile,
  trayIconPath,
  trayTooltip,
} from '../../src/main/tray/tray-icons.js';
import type { ComfyInstance } from '../../src/shared/comfy-instance.js';
import { info, NOW, snapshot, STATUSES, type StatusName } from './helpers/fixtures.js';

const ICONS = fileURLToPath(new URL('../../assets/icons', import.meta.url));

const colours: [StatusName, string][] = [
  ['stopped', 'gray'],
  ['starting', 'yellow'],
  ['running', 'green'],
  ['running-adopted', 'green'],
  ['running-legacy', 'green'],
  ['unresponsive', 'red'],
  ['stopping', 'yellow'],
  ['backoff', 'red'],
  ['failed', 'red'],
];

describe('tray icon per state', () => {
  it.each(colours)('%s → %s on every platform, and the file exists', (name, colour) => {
    const s = snapshot(STATUSES[name]);
    const win = trayIconPath(ICONS, s, 'win32');
    const mac = trayIconPath(ICONS, s, 'darwin');
    const linux = trayIconPath(ICONS, s, 'linux');
    expect(basename(win)).toBe(`tray-${colour}.ico`);
    expect(basename(mac)).toBe(`tray-${colour}.png`);
    expect(basename(linux)).toBe(`tray-${colour}-32.png`);
    for (const p of [win, mac, linux]) {
      expect(existsSync(p), p).toBe(true);
      expect(existsSync(p.replace(/\.png$/, '@2x.png')), `${p} @2x`).toBe(true);
    }
  });

  it('selects the shape-coded template image on macOS only when asked', () => {
    expect(trayIconFile('green', 'darwin', { template: true })).toBe('tray-greenTemplate.png');
    expect(trayIconFile('green', 'win32', { template: true })).toBe('tray-green.ico');
    expect(existsSync(join(ICONS, 'tray-redTemplate@2x.png'))).toBe(true);
  });
});

function instance(url: string, reachable: boolean, running = 0): ComfyInstance {
  return {
    url,
    reachable,
    problem: reachable ? null : 'connection refused',
    version: null,
    os: null,
    devices: [],
    queue: { running, pending: 0 },
    progress: null,
    lastError: null,
    checkedAt: NOW,
    discovered: false,
  };
}

describe('trayTooltip', () => {
  it.each(Object.keys(STATUSES) as StatusName[])('%s: starts with the status line', (name) => {
    expect(trayTooltip(snapshot(STATUSES[name]), undefined, NOW)).toMatch(/^Luna daemon — \S/);
  });

  it('matches the documented example while running', () => {
    expect(trayTooltip(snapshot(STATUSES.running, info()), [], NOW)).toBe(
      'Luna daemon — running · 2 models · 6.1 / 24 GiB VRAM',
    );
  });

  it('adds a ComfyUI summary', () => {
    const t = trayTooltip(
      snapshot(STATUSES.running, info()),
      [instance('http://a', true, 1), instance('http://b', false)],
      NOW,
    );
    expect(t).toBe(
      'Luna daemon — running · 2 models · 6.1 / 24 GiB VRAM\nComfyUI: 1 of 2 reachable, 1 running',
    );
  });

  it('stays within the Windows tooltip limit', () => {
    const long = { ...STATUSES.failed, message: 'x'.repeat(400) };
    const t = trayTooltip(snapshot(long), undefined, NOW);
    expect(t.length).toBe(TOOLTIP_MAX_CHARS);
    expect(t.endsWith('…')).toBe(true);
  });
});
