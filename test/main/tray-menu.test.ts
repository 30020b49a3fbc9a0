import { describe, expect, it } from 'vitest';

import { buildTrayMenu, statusLine, TRAY_ACTIONS, type TrayMenuItem } from '../../src/main/tray/tray-menu.js';
import { info, NOW, settings, snapshot, STATUSES, type StatusName } from './helpers/fixtures.js';

const enabledOf = (menu: TrayMenuItem[]) =>
  Object.fromEntries(
    menu.filter((i) => i.type !== 'separator').map((i) => [i.id, 'enabled' in i ? i.enabled : undefined]),
  );

// Explicit expectations per state (not recomputed from allowedActions, so a change there shows here).
const table: [
  StatusName,
  { start: boolean; stop: boolean; restart: boolean; unload: boolean; freeVram: boolean },
][] = [
  ['stopped', { start: true, stop: false, restart: false, unload: false, freeVram: false }],
  ['starting', { start: false, stop: true, restart: false, unload: false, freeVram: false }],
  ['running', { start: false, stop: true, restart: true, unload: true, freeVram: true }],
  ['running-adopted', { start: false, stop: true, restart: true, unload: true, freeVram: true }],
  ['running-legacy', { start: false, stop: true, restart: true, unload: true, freeVram: true }],
  ['unresponsive', { start: false, stop: true, restart: true, unload: false, freeVram: false }],
  ['stopping', { start: false, stop: false, restart: false, unload: false, freeVram: false }],
  ['backoff', { start: true, stop: true, restart: true, unload: false, freeVram: false }],
  ['failed', { start: true, stop: false, restart: true, unload: false, freeVram: false }],
];

describe('buildTrayMenu', () => {
  it.each(table)('%s: enables exactly the allowed actions', (name, want) => {
    const menu = buildTrayMenu(
      snapshot(STATUSES[name]),
      settings(),
      { hasComfyInstances: false, openAtLogin: false },
      NOW,
    );
    const e = enabledOf(menu);
    expect({
      start: e.start,
      stop: e.stop,
      restart: e.restart,
      unload: e.unload,
      freeVram: e['free-vram'],
    }).toEqual(want);
    // Always available, whatever the state.
    expect([e.open, e.check, e['view-logs'], e['open-at-login'], e.settings, e.exit]).toEqual([
      true,
      true,
      true,
      true,
      true,
      true,
    ]);
    // The status line is a disabled label.
    expect(menu[0]).toMatchObject({ id: 'status', enabled: false });
  });

  it('has every action id exactly once, in a stable order, ending in Exit', () => {
    const menu = buildTrayMenu(snapshot(STATUSES.running), settings(), {
      hasComfyInstances: true,
      openAtLogin: false,
    });
    const ids = menu.filter((i) => i.type !== 'separator' && i.id !== 'status').map((i) => i.id);
    expect(ids).toEqual(TRAY_ACTIONS);
    expect(menu.at(-2)?.type).toBe('separator');
    expect(menu.at(-1)).toMatchObject({ id: 'exit', label: 'Exit' });
    expect(new Set(menu.map((i) => i.id)).size).toBe(menu.length);
  });

  it('enables Free VRAM when ComfyUI instances exist even if the daemon is stopped', () => {
    const menu = buildTrayMenu(snapshot(STATUSES.stopped), settings(), {
      hasComfyInstances: true,
      openAtLogin: false,
    });
    expect(enabledOf(menu)['free-vram']).toBe(true);
  });

  it.each([true, false])('Open at login is a checkbox reflecting the OS state (%s)', (on) => {
    const menu = buildTrayMenu(snapshot(STATUSES.stopped), settings({ app: { openAtLogin: !on } }), {
      hasComfyInstances: false,
      openAtLogin: on,
    });
    expect(menu.find((i) => i.id === 'open-at-login')).toMatchObject({ type: 'checkbox', checked: on });
  });

  it('says when Exit leaves the daemon running', () => {
    const menu = buildTrayMenu(snapshot(STATUSES.running), settings({ app: { keepDaemonOnExit: true } }), {
      hasComfyInstances: false,
      openAtLogin: false,
    });
    expect(menu.at(-1)).toMatchObject({ id: 'exit', label: 'Exit (daemon keeps running)' });
  });

  it('is pure data: no functions in the template', () => {
    const menu = buildTrayMenu(snapshot(STATUSES.running, info()), settings(), {
      hasComfyInstances: true,
      openAtLogin: true,
    });
    expect(JSON.parse(JSON.stringify(menu))).toEqual(menu);
  });
});

describe('statusLine', () => {
  it('shows models and summed VRAM while running', () => {
    expect(statusLine(snapshot(STATUSES.running, info()), NOW)).toBe(
      'Luna daemon — running · 2 models · 6.1 / 24 GiB VRAM',
    );
  });

  it('marks adopted daemons and singular models', () => {
    const one = info({
      models: [{ name: 'clip', source: 'clip_pool' }],
      vram: [{ device: 'cuda:0', usedGb: 1.25, totalGb: 8 }],
    });
    expect(statusLine(snapshot(STATUSES['running-adopted'], one), NOW)).toBe(
      'Luna daemon — running (adopted) · 1 model · 1.3 / 8 GiB VRAM',
    );
  });

  it('omits models and VRAM when not running (even with stale info)', () => {
    expect(statusLine(snapshot(STATUSES.stopped, info()), NOW)).toBe('Luna daemon — stopped');
    expect(statusLine(snapshot(STATUSES.backoff, info()), NOW)).toBe('Luna daemon — restarting in 4 s');
    expect(statusLine(snapshot(STATUSES.failed), NOW)).toBe('Luna daemon — failed: crashed 5 times in a row');
  });

  it('omits VRAM when the daemon reports no devices', () => {
    expect(statusLine(snapshot(STATUSES.running, info({ vram: [] })), NOW)).toBe(
      'Luna daemon — running · 2 models',
    );
  });
});
