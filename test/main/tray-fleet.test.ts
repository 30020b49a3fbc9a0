import { join } from 'node:path';

import { beforeEach, describe, expect, it, vi } from 'vitest';

import { TrayController, type TrayState } from '../../src/main/tray/tray-controller.js';
import {
  buildFleetMenu,
  fleetStatusLines,
  parseDaemonActionId,
  worstColor,
  type FleetDaemon,
} from '../../src/main/tray/tray-fleet.js';
import { fleetTooltip } from '../../src/main/tray/tray-icons.js';
import { buildTrayMenu, TRAY_ACTIONS, type TrayMenuItem } from '../../src/main/tray/tray-menu.js';
import type { DaemonStatus } from '../../src/shared/daemon-status.js';
import { resetElectronFake, Tray } from '../mocks/electron.js';
import { flush, info, NOW, settings, snapshot, STATUSES } from './helpers/fixtures.js';

beforeEach(() => resetElectronFake());

const ICONS = join(process.cwd(), 'assets', 'icons');

function daemon(
  id: string,
  status: DaemonStatus,
  opts: { enabled?: boolean; name?: string } = {},
): FleetDaemon {
  return {
    id,
    name: opts.name ?? id.toUpperCase(),
    enabled: opts.enabled ?? true,
    snapshot: snapshot(status, status.state === 'running' ? info() : null),
  };
}

const facts = { hasComfyInstances: false, openAtLogin: false };

/** A submenu's items by id, with their enabled flags. */
function submenuOf(menu: TrayMenuItem[], daemonId: string): Record<string, boolean | undefined> {
  const sub = menu.find((i) => i.id === `submenu:${daemonId}`);
  if (sub?.type !== 'submenu') throw new Error(`no submenu for ${daemonId}`);
  return Object.fromEntries(
    sub.submenu.filter((i) => i.type === 'normal').map((i) => [i.id, 'enabled' in i ? i.enabled : undefined]),
  );
}

describe('worstColor', () => {
  it.each([
    // red over yellow over green over gray, whatever the order
    [[STATUSES.stopped, STATUSES.running], 'green'],
    [[STATUSES.running, STATUSES.starting], 'yellow'],
    [[STATUSES.stopping, STATUSES.running, STATUSES.stopped], 'yellow'],
    [[STATUSES.running, STATUSES.failed, STATUSES.starting], 'red'],
    [[STATUSES.backoff, STATUSES.stopped], 'red'],
    [[STATUSES.unresponsive, STATUSES.running], 'red'],
    [[STATUSES.stopped, STATUSES.stopped], 'gray'],
  ] as const)('%j → %s', (statuses, want) => {
    expect(worstColor(statuses.map((s, i) => daemon(`d${i}`, s)))).toBe(want);
  });

  it('ignores disabled daemons, and is gray when none is enabled', () => {
    expect(
      worstColor([daemon('a', STATUSES.running), daemon('b', STATUSES.failed, { enabled: false })]),
    ).toBe('green');
    expect(worstColor([daemon('a', STATUSES.failed, { enabled: false })])).toBe('gray');
  });
});

describe('fleet tooltip', () => {
  it('has one line per daemon, then the VRAM line', () => {
    const text = fleetTooltip(
      [daemon('clip', STATUSES.running, { name: 'CLIP' }), daemon('vae', STATUSES.failed, { name: 'VAE' })],
      [],
      NOW,
      [
        {
          index: 0,
          name: 'RTX',
          memoryUsedMb: 4096,
          memoryTotalMb: 24576,
          utilizationPercent: null,
          temperatureC: null,
        },
      ],
    );
    expect(text.split('\n')).toEqual([
      'CLIP — running · 2 models',
      'VAE — failed: crashed 5 times in a row',
      'VRAM 4 / 24 GiB',
    ]);
  });

  it('says when a daemon is disabled', () => {
    expect(
      fleetStatusLines([daemon('gpu1', STATUSES.stopped, { enabled: false, name: 'GPU 1' })], NOW),
    ).toEqual(['GPU 1 — disabled']);
  });
});

describe('buildFleetMenu', () => {
  const two = [daemon('clip', STATUSES.running), daemon('vae', STATUSES.stopped)];

  it('has a submenu per daemon with Start, Stop, Restart, Unload and Logs, plus Start all and Stop all', () => {
    const menu = buildFleetMenu(two, settings(), facts, NOW);
    expect(menu.filter((i) => i.type === 'submenu').map((i) => i.id)).toEqual([
      'submenu:clip',
      'submenu:vae',
    ]);
    expect(submenuOf(menu, 'clip')).toEqual({
      'status:clip': false,
      'daemon:clip:start': false,
      'daemon:clip:stop': true,
      'daemon:clip:restart': true,
      'daemon:clip:unload': true,
      'daemon:clip:view-logs': true,
    });
    expect(submenuOf(menu, 'vae')).toEqual({
      'status:vae': false,
      'daemon:vae:start': true,
      'daemon:vae:stop': false,
      'daemon:vae:restart': false,
      'daemon:vae:unload': false,
      'daemon:vae:view-logs': true,
    });
    const top = Object.fromEntries(
      menu.filter((i) => i.type === 'normal').map((i) => [i.id, 'enabled' in i ? i.enabled : null]),
    );
    expect(top).toMatchObject({ 'start-all': true, 'stop-all': true });
    // The per-daemon verbs are not at the top any more.
    expect(Object.keys(top)).not.toContain('start');
    expect(menu.find((i) => i.id === 'submenu:clip')).toMatchObject({ label: 'CLIP — running · 2 models' });
  });

  it('turns Start all off when every enabled daemon runs, Stop all off when none does', () => {
    const running = buildFleetMenu(
      [daemon('a', STATUSES.running), daemon('b', STATUSES.running)],
      settings(),
      facts,
    );
    expect(running.find((i) => i.id === 'start-all')).toMatchObject({ enabled: false });
    const stopped = buildFleetMenu(
      [daemon('a', STATUSES.stopped), daemon('b', STATUSES.running, { enabled: false })],
      settings(),
      facts,
    );
    expect(stopped.find((i) => i.id === 'stop-all')).toMatchObject({ enabled: false });
    expect(submenuOf(stopped, 'b')['daemon:b:stop']).toBe(true);
  });

  it('does not offer Start for a disabled daemon', () => {
    const menu = buildFleetMenu(
      [daemon('a', STATUSES.stopped), daemon('b', STATUSES.stopped, { enabled: false })],
      settings(),
      facts,
    );
    expect(submenuOf(menu, 'b')['daemon:b:start']).toBe(false);
    expect(menu.find((i) => i.id === 'submenu:b')).toMatchObject({ label: 'B — disabled' });
  });

  it('is pure data with unique ids per level', () => {
    const menu = buildFleetMenu(two, settings(), { ...facts, openAtLogin: true }, NOW);
    expect(JSON.parse(JSON.stringify(menu))).toEqual(menu);
    const top = menu.map((i) => i.id);
    expect(new Set(top).size).toBe(top.length);
  });
});

describe('parseDaemonActionId', () => {
  it('reads the daemon id and verb, also for ids with colons', () => {
    expect(parseDaemonActionId('daemon:gpu:1:restart')).toEqual({ daemonId: 'gpu:1', verb: 'restart' });
    expect(parseDaemonActionId('daemon:vae:view-logs')).toEqual({ daemonId: 'vae', verb: 'view-logs' });
    expect(parseDaemonActionId('daemon::start')).toBeNull();
    expect(parseDaemonActionId('daemon:vae:explode')).toBeNull();
    expect(parseDaemonActionId('start')).toBeNull();
  });
});

describe('TrayController with several daemons', () => {
  function setup(daemons: FleetDaemon[]) {
    const state: TrayState = {
      snapshot: daemons[0]!.snapshot,
      settings: settings(),
      instances: [],
      openAtLogin: false,
      daemons,
    };
    const actions = Object.fromEntries(TRAY_ACTIONS.map((a) => [a, vi.fn()])) as never;
    const fleetActions = { 'start-all': vi.fn(), 'stop-all': vi.fn(), daemon: vi.fn() };
    const tray = new TrayController({
      platform: 'linux',
      iconsDir: ICONS,
      getState: () => state,
      actions,
      fleetActions,
      onClick: vi.fn(),
      logError: vi.fn(),
    });
    tray.create();
    return { tray, state, fleetActions, fake: Tray.instances[0]! };
  }

  it('shows the worst colour and recolours only when the aggregate changes', () => {
    const { tray, state, fake } = setup([daemon('clip', STATUSES.running), daemon('vae', STATUSES.running)]);
    expect(fake.imagePath()).toBe(join(ICONS, 'tray-green-32.png'));
    state.daemons = [daemon('clip', STATUSES.running), daemon('vae', STATUSES.backoff)];
    tray.update();
    expect(fake.imagePath()).toBe(join(ICONS, 'tray-red-32.png'));
    expect(fake.tooltip.split('\n')[1]).toMatch(/^VAE — restarting in/);
  });

  it('dispatches a submenu click to that daemon, and Start all / Stop all', async () => {
    const { fake, fleetActions } = setup([daemon('clip', STATUSES.running), daemon('vae', STATUSES.stopped)]);
    fake.menu!.click('daemon:vae:start');
    fake.menu!.click('daemon:clip:view-logs');
    fake.menu!.click('stop-all');
    await flush();
    expect(fleetActions.daemon.mock.calls).toEqual([
      ['vae', 'start'],
      ['clip', 'view-logs'],
    ]);
    expect(fleetActions['stop-all']).toHaveBeenCalledTimes(1);
    expect(() => fake.menu!.click('daemon:clip:start')).toThrow(/disabled/);
  });

  it('keeps exactly today’s menu with a single daemon', () => {
    const one = daemon('default', STATUSES.running);
    const { fake } = setup([one]);
    const today = buildTrayMenu(one.snapshot, settings(), facts);
    expect(fake.menu!.template.map(({ click: _c, ...rest }) => rest)).toEqual(
      JSON.parse(JSON.stringify(today)),
    );
    expect(fake.tooltip).toBe('Luna daemon — running · 2 models · 6.1 / 24 GiB VRAM');
  });
});
