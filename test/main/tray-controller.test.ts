import { join } from 'node:path';

import { beforeEach, describe, expect, it, vi, type Mock } from 'vitest';

import { TrayController, type TrayState } from '../../src/main/tray/tray-controller.js';
import { TRAY_ACTIONS, type TrayAction } from '../../src/main/tray/tray-menu.js';
import { Menu, resetElectronFake, Tray } from '../mocks/electron.js';
import { flush, info, settings, snapshot, STATUSES } from './helpers/fixtures.js';

beforeEach(() => resetElectronFake());

const ICONS = join(process.cwd(), 'assets', 'icons');

function setup(platform: NodeJS.Platform = 'linux', iconsDir = ICONS) {
  const state: TrayState = {
    snapshot: snapshot(STATUSES.stopped),
    settings: settings(),
    instances: [],
    openAtLogin: false,
  };
  const actions = Object.fromEntries(
    TRAY_ACTIONS.map((a) => [a, vi.fn<() => void | Promise<void>>()]),
  ) as Record<TrayAction, Mock<() => void | Promise<void>>>;
  const onClick = vi.fn();
  const logError = vi.fn();
  const tray = new TrayController({
    platform,
    iconsDir,
    getState: () => state,
    actions,
    onClick,
    logError,
  });
  return { tray, state, actions, onClick, logError };
}

describe('TrayController', () => {
  it('creates the Tray once and only updates it afterwards', () => {
    const { tray, state } = setup();
    tray.create();
    tray.create();
    expect(Tray.instances).toHaveLength(1);
    const t = Tray.instances[0]!;
    expect(t.imagePath()).toBe(join(ICONS, 'tray-gray-32.png'));
    expect(t.tooltip).toBe('Luna daemon — stopped');

    state.snapshot = snapshot(STATUSES.running, info());
    tray.update();
    state.snapshot = snapshot(STATUSES.failed);
    tray.update();
    expect(Tray.instances).toHaveLength(1);
    expect(t.imageHistory.every((i) => !i.isEmpty())).toBe(true);
    expect(t.imageHistory.map((i) => i.path)).toEqual([
      join(ICONS, 'tray-gray-32.png'),
      join(ICONS, 'tray-green-32.png'),
      join(ICONS, 'tray-red-32.png'),
    ]);
    expect(t.tooltip).toBe('Luna daemon — failed: crashed 5 times in a row');
    expect(t.menu?.template.find((i) => i.id === 'start')?.enabled).toBe(true);
    expect(tray.current()?.imagePath).toBe(join(ICONS, 'tray-red-32.png'));
  });

  it('does not rebuild an identical menu', () => {
    const { tray } = setup();
    tray.create();
    tray.update();
    tray.update();
    expect(Menu.built).toHaveLength(1);
  });

  it('reports a missing icon (Electron shows an empty image, it does not throw)', () => {
    const { tray, logError } = setup('linux', '/nonexistent/icons');
    tray.create();
    expect(Tray.instances[0]!.image.isEmpty()).toBe(true);
    expect(logError).toHaveBeenCalledWith(expect.stringMatching(/tray-gray-32\.png is missing/), null);
  });

  it('shows why a registered login item will not start', () => {
    const { tray, state } = setup();
    state.openAtLoginNote = 'switched off in Task Manager';
    tray.create();
    expect(Tray.instances[0]!.menu!.template.find((i) => i.id === 'open-at-login')?.label).toBe(
      'Open at login (switched off in Task Manager)',
    );
  });

  it('dispatches menu clicks by id, deferred with setImmediate', async () => {
    const { tray, actions } = setup();
    tray.create();
    const menu = Tray.instances[0]!.menu!;
    menu.click('view-logs');
    expect(actions['view-logs']).not.toHaveBeenCalled(); // not inside the native callback
    await flush();
    expect(actions['view-logs']).toHaveBeenCalledTimes(1);
    expect(() => menu.click('stop')).toThrow(/disabled/); // stopped: Stop is disabled
  });

  it('logs a failing action instead of throwing into Electron', async () => {
    const { tray, actions, logError } = setup();
    actions.check.mockRejectedValueOnce(new Error('ping failed'));
    tray.create();
    tray.trigger('check');
    await flush();
    expect(logError).toHaveBeenCalledWith('tray action check failed', expect.any(Error));
  });

  it.each([
    ['linux', 1],
    ['win32', 1],
    ['darwin', 0],
  ] as const)('left click on %s shows the window %i time(s)', async (platform, times) => {
    const { tray, onClick } = setup(platform);
    tray.create();
    Tray.instances[0]!.emit('click');
    await flush();
    expect(onClick).toHaveBeenCalledTimes(times);
  });

  it('reflects the OS login item state in the checkbox', () => {
    const { tray, state } = setup();
    tray.create();
    state.openAtLogin = true;
    tray.update();
    expect(Tray.instances[0]!.menu!.template.find((i) => i.id === 'open-at-login')?.checked).toBe(true);
  });

  it('dispose destroys the tray', () => {
    const { tray } = setup();
    tray.create();
    tray.dispose();
    expect(Tray.instances[0]!.destroyed).toBe(true);
  });
});
