// The tray menu as a PURE function of (snapshot, settings, facts) (docs/architecture.md §15): plain data with
// ids, no click handlers. TrayController attaches one dispatcher by id, so this module is tested as
// data, for every status, without Electron.
import type { MenuItemConstructorOptions } from 'electron';

import { allowedActions, describeState } from '../../shared/daemon-status.js';
import { firstDaemon, type Settings } from '../../shared/settings-schema.js';
import type { DaemonSnapshot } from '../../shared/snapshot.js';

/** Ids of the clickable items; TrayController maps each to an action. */
export type TrayAction =
  | 'open'
  | 'start'
  | 'stop'
  | 'restart'
  | 'check'
  | 'view-logs'
  | 'unload'
  | 'free-vram'
  | 'open-at-login'
  | 'settings'
  | 'exit';

/** Every action id, in menu order. */
export const TRAY_ACTIONS: readonly TrayAction[] = [
  'open',
  'start',
  'stop',
  'restart',
  'check',
  'view-logs',
  'unload',
  'free-vram',
  'open-at-login',
  'settings',
  'exit',
];

/** What a daemon's submenu offers (several daemons: tray/tray-fleet.ts). */
export type DaemonVerb = 'start' | 'stop' | 'restart' | 'unload' | 'view-logs';

/** Menu-wide actions that exist only with several daemons. */
export type FleetAction = 'start-all' | 'stop-all';

/** Id of one daemon's action item: `daemon:<daemon id>:<verb>` (parsed by `parseDaemonActionId`). */
export type DaemonActionId = `daemon:${string}:${DaemonVerb}`;

/** Any id a click dispatches. */
export type TrayClickId = TrayAction | FleetAction | DaemonActionId;

/** One menu entry: a subset of Electron's MenuItemConstructorOptions, always with an id. */
export type TrayMenuItem =
  | { id: 'status' | `status:${string}`; type: 'normal'; label: string; enabled: false }
  | { id: `separator-${number}`; type: 'separator' }
  | {
      id: Exclude<TrayAction, 'open-at-login'> | FleetAction | DaemonActionId;
      type: 'normal';
      label: string;
      enabled: boolean;
    }
  | { id: 'open-at-login'; type: 'checkbox'; label: string; enabled: boolean; checked: boolean }
  | { id: `submenu:${string}`; type: 'submenu'; label: string; submenu: TrayMenuItem[] };

// Compile-time proof that the data is a valid Electron menu template (minus click handlers).
type AssertTemplate<T extends MenuItemConstructorOptions> = T;
export type TrayMenuTemplateItem = AssertTemplate<TrayMenuItem>;

/** Facts the menu needs that are not in the snapshot or the settings. */
export interface TrayMenuFacts {
  /** At least one ComfyUI instance is configured or discovered (Free VRAM has something to do). */
  hasComfyInstances: boolean;
  /** What the OS really has registered as a login item (not the settings mirror). */
  openAtLogin: boolean;
  /** Why the login item will not start although registered (LoginItem.note()), if anything. */
  openAtLoginNote?: string | null;
}

/** "6.1" for 6.08, "24" for 24.0: one decimal, no trailing ".0". */
function gb(n: number): string {
  const s = n.toFixed(1);
  return s.endsWith('.0') ? s.slice(0, -2) : s;
}

/**
 * One status line: "Luna daemon — running · 2 models · 6.1 / 24 GiB VRAM". Models and VRAM are shown
 * only while the daemon answers (running or unresponsive) and `get_info` has been read. `name` is the
 * daemon's name when there are several.
 */
export function statusLine(
  snapshot: DaemonSnapshot,
  now = Date.now(),
  opts: { name?: string; vram?: boolean } = {},
): string {
  const parts = [`${opts.name ?? 'Luna daemon'} — ${describeState(snapshot.status, now)}`];
  const live = snapshot.status.state === 'running' || snapshot.status.state === 'unresponsive';
  const info = snapshot.info;
  if (live && info) {
    const n = info.models.length;
    parts.push(`${n} model${n === 1 ? '' : 's'}`);
    if (info.vram.length > 0 && opts.vram !== false) {
      const used = info.vram.reduce((s, d) => s + d.usedGb, 0);
      const total = info.vram.reduce((s, d) => s + d.totalGb, 0);
      parts.push(`${gb(used)} / ${gb(total)} GiB VRAM`);
    }
  }
  return parts.join(' · ');
}

/** Build the tray menu template for the current state. Pure: same inputs, same output. */
export function buildTrayMenu(
  snapshot: DaemonSnapshot,
  settings: Settings,
  facts: TrayMenuFacts,
  now = Date.now(),
): TrayMenuItem[] {
  const can = allowedActions(snapshot.status);
  const running = snapshot.status.state === 'running';
  // The profile matters for the label only: "Start" on a custom/simulator profile is the same action.
  const startLabel = firstDaemon(settings).profile === 'simulator' ? 'Start (simulator)' : 'Start';
  return [
    { id: 'status', type: 'normal', label: statusLine(snapshot, now), enabled: false },
    { id: 'separator-1', type: 'separator' },
    { id: 'open', type: 'normal', label: 'Open Luna Tray', enabled: true },
    { id: 'separator-2', type: 'separator' },
    { id: 'start', type: 'normal', label: startLabel, enabled: can.start },
    { id: 'stop', type: 'normal', label: 'Stop', enabled: can.stop },
    { id: 'restart', type: 'normal', label: 'Restart', enabled: can.restart },
    // A ping works against any daemon on the port (also one we did not start), so it is always on.
    { id: 'check', type: 'normal', label: 'Check status', enabled: true },
    { id: 'view-logs', type: 'normal', label: 'View logs', enabled: true },
    { id: 'separator-3', type: 'separator' },
    { id: 'unload', type: 'normal', label: 'Unload models', enabled: can.unload },
    // Free VRAM = daemon unload + every ComfyUI instance's /free; useful when either side exists.
    { id: 'free-vram', type: 'normal', label: 'Free VRAM', enabled: running || facts.hasComfyInstances },
    ...appItems(settings, facts, 'daemon keeps running'),
  ];
}

/**
 * The menu's end, the same with one daemon or several: Open at login, Settings…, Exit. Exit says
 * what it does to the daemon(s): they are stopped unless app.keepDaemonOnExit.
 */
export function appItems(settings: Settings, facts: TrayMenuFacts, keptWords: string): TrayMenuItem[] {
  return [
    { id: 'separator-4', type: 'separator' },
    {
      id: 'open-at-login',
      type: 'checkbox',
      label: facts.openAtLoginNote ? `Open at login (${facts.openAtLoginNote})` : 'Open at login',
      enabled: true,
      checked: facts.openAtLogin,
    },
    { id: 'settings', type: 'normal', label: 'Settings…', enabled: true },
    { id: 'separator-5', type: 'separator' },
    {
      id: 'exit',
      type: 'normal',
      label: settings.app.keepDaemonOnExit ? `Exit (${keptWords})` : 'Exit',
      enabled: true,
    },
  ];
}
