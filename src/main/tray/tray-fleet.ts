// The tray with several daemons (docs/desktop.md, "Several daemons"), as PURE functions of the fleet:
// the icon's colour is the worst state across the enabled daemons, the tooltip has a line per
// daemon, and the menu a submenu per daemon plus Start all / Stop all. With a single daemon the
// tray keeps today's menu (tray-menu.ts); TrayController picks which.
import { allowedActions, colorOf, type TrayColor } from '../../shared/daemon-status.js';
import type { Settings } from '../../shared/settings-schema.js';
import type { DaemonSnapshot } from '../../shared/snapshot.js';
import {
  appItems,
  statusLine,
  type DaemonActionId,
  type DaemonVerb,
  type TrayMenuFacts,
  type TrayMenuItem,
} from './tray-menu.js';

/** One daemon as the tray sees it. */
export interface FleetDaemon {
  id: string;
  name: string;
  enabled: boolean;
  snapshot: DaemonSnapshot;
}

/** Higher is worse: red over yellow over green over gray. */
const SEVERITY: Record<TrayColor, number> = { gray: 0, green: 1, yellow: 2, red: 3 };

/** The worst colour across the ENABLED daemons; gray when none is enabled. */
export function worstColor(daemons: readonly FleetDaemon[]): TrayColor {
  let worst: TrayColor = 'gray';
  for (const d of daemons) {
    if (!d.enabled) continue;
    const c = colorOf(d.snapshot.status);
    if (SEVERITY[c] > SEVERITY[worst]) worst = c;
  }
  return worst;
}

/**
 * One line per daemon ("CLIP — running · 2 models"; a disabled one says so). VRAM is left to the
 * GPU line below it: per-daemon figures would not fit Windows' 127 characters.
 */
export function fleetStatusLines(daemons: readonly FleetDaemon[], now = Date.now()): string[] {
  return daemons.map((d) =>
    d.enabled ? statusLine(d.snapshot, now, { name: d.name, vram: false }) : `${d.name} — disabled`,
  );
}

/** `daemon:<id>:<verb>` → its parts; null for any other id. The id may itself contain colons. */
export function parseDaemonActionId(id: string): { daemonId: string; verb: DaemonVerb } | null {
  if (!id.startsWith('daemon:')) return null;
  const cut = id.lastIndexOf(':');
  const verb = id.slice(cut + 1);
  const daemonId = id.slice('daemon:'.length, cut);
  if (daemonId === '' || !DAEMON_VERBS.includes(verb as DaemonVerb)) return null;
  return { daemonId, verb: verb as DaemonVerb };
}

/** The submenu's actions, in order. */
export const DAEMON_VERBS: readonly DaemonVerb[] = ['start', 'stop', 'restart', 'unload', 'view-logs'];

const actionId = (daemonId: string, verb: DaemonVerb): DaemonActionId => `daemon:${daemonId}:${verb}`;

function daemonSubmenu(d: FleetDaemon, now: number): TrayMenuItem {
  const can = allowedActions(d.snapshot.status);
  // A disabled daemon is not started by Start all either; its own Start is off until it is enabled.
  const start = d.enabled && can.start;
  return {
    id: `submenu:${d.id}`,
    type: 'submenu',
    label: d.enabled ? statusLine(d.snapshot, now, { name: d.name, vram: false }) : `${d.name} — disabled`,
    submenu: [
      {
        id: `status:${d.id}`,
        type: 'normal',
        label: statusLine(d.snapshot, now, { name: d.name }),
        enabled: false,
      },
      { id: 'separator-1', type: 'separator' },
      { id: actionId(d.id, 'start'), type: 'normal', label: 'Start', enabled: start },
      { id: actionId(d.id, 'stop'), type: 'normal', label: 'Stop', enabled: can.stop },
      { id: actionId(d.id, 'restart'), type: 'normal', label: 'Restart', enabled: can.restart },
      { id: actionId(d.id, 'unload'), type: 'normal', label: 'Unload models', enabled: can.unload },
      { id: actionId(d.id, 'view-logs'), type: 'normal', label: 'View logs', enabled: true },
    ],
  };
}

/** Summary label: "Luna daemons — 1 of 2 running". */
export function fleetSummary(daemons: readonly FleetDaemon[]): string {
  const enabled = daemons.filter((d) => d.enabled);
  const running = enabled.filter((d) => d.snapshot.status.state === 'running').length;
  return `Luna daemons — ${running} of ${enabled.length} running`;
}

/** The tray menu with several daemons. Pure: same inputs, same output. */
export function buildFleetMenu(
  daemons: readonly FleetDaemon[],
  settings: Settings,
  facts: TrayMenuFacts,
  now = Date.now(),
): TrayMenuItem[] {
  const enabled = daemons.filter((d) => d.enabled);
  const anyRunning = enabled.some((d) => d.snapshot.status.state === 'running');
  return [
    { id: 'status', type: 'normal', label: fleetSummary(daemons), enabled: false },
    { id: 'separator-1', type: 'separator' },
    { id: 'open', type: 'normal', label: 'Open Luna Tray', enabled: true },
    { id: 'separator-2', type: 'separator' },
    ...daemons.map((d) => daemonSubmenu(d, now)),
    {
      id: 'start-all',
      type: 'normal',
      label: 'Start all',
      enabled: enabled.some((d) => allowedActions(d.snapshot.status).start),
    },
    {
      id: 'stop-all',
      type: 'normal',
      label: 'Stop all',
      enabled: enabled.some((d) => allowedActions(d.snapshot.status).stop),
    },
    { id: 'separator-3', type: 'separator' },
    { id: 'free-vram', type: 'normal', label: 'Free VRAM', enabled: anyRunning || facts.hasComfyInstances },
    ...appItems(settings, facts, 'daemons keep running'),
  ];
}
