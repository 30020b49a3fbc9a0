// Owns the one Tray (docs/architecture.md §15). Creates it ONCE and afterwards only updates image, tooltip
// and context menu; it never rebuilds the Tray (flicker, duplicate icons on some Linux hosts).
import { Menu, Tray, nativeImage } from 'electron';

import type { ComfyInstance, LocalGpu } from '../../shared/comfy-instance.js';
import type { Settings } from '../../shared/settings-schema.js';
import type { DaemonSnapshot } from '../../shared/snapshot.js';
import { buildFleetMenu, parseDaemonActionId, worstColor, type FleetDaemon } from './tray-fleet.js';
import { fleetTooltip, trayIconPath, trayIconPathForColor, trayTooltip } from './tray-icons.js';
import {
  buildTrayMenu,
  type DaemonVerb,
  type FleetAction,
  type TrayAction,
  type TrayClickId,
  type TrayMenuItem,
} from './tray-menu.js';

/** Everything the tray shows, read fresh on every `update()`. */
export interface TrayState {
  snapshot: DaemonSnapshot;
  settings: Settings;
  instances: readonly ComfyInstance[];
  /** Local GPUs from the core's telemetry, for the tooltip's VRAM line. */
  gpus?: readonly LocalGpu[];
  /**
   * Every configured daemon, in settings order. With two or more the tray shows the fleet (worst
   * colour, a line and a submenu per daemon); with one (or none given) it is today's tray.
   */
  daemons?: readonly FleetDaemon[];
  /** The OS login-item state (LoginItem.isEnabled()). */
  openAtLogin: boolean;
  /** LoginItem.note(): why a registered item will not start. */
  openAtLoginNote?: string | null;
}

/** What the tray shows right now (for e2e hooks and tests). */
export interface TrayView {
  imagePath: string;
  tooltip: string;
  menu: TrayMenuItem[];
}

/** Dependencies of TrayController, injected by the composition root. */
export interface TrayControllerOptions {
  platform: NodeJS.Platform;
  iconsDir: string;
  getState: () => TrayState;
  /** Menu actions by id. Called deferred (setImmediate), errors are logged. */
  actions: Record<TrayAction, () => void | Promise<void>>;
  /** Actions of the several-daemons menu (Start all, Stop all, a daemon's submenu). */
  fleetActions?: Record<FleetAction, () => void | Promise<void>> & {
    daemon: (daemonId: string, verb: DaemonVerb) => void | Promise<void>;
  };
  /** Left click on Windows/Linux (macOS opens the menu instead). */
  onClick: () => void;
  logError: (message: string, error: unknown) => void;
}

/** The Electron-owning tray object; create with `new`, call `create()` once, `update()` on change. */
export class TrayController {
  private tray: Tray | null = null;
  private view: TrayView | null = null;
  /** The image the tray shows (set at creation, then on each change). */
  private shownImage: string | null = null;

  constructor(private readonly opts: TrayControllerOptions) {}

  /**
   * Create the tray once. `new Tray()` does not fail without a tray host (it shows nothing), so the
   * composition root asks tray-host.ts first and calls this only when a host exists.
   */
  create(): void {
    if (this.tray) return;
    const image = this.imagePathOf(this.opts.getState());
    this.tray = new Tray(this.image(image));
    this.shownImage = image;
    if (this.opts.platform !== 'darwin') {
      // macOS: a click opens the context menu by itself. Windows/Linux: a click shows the window.
      this.tray.on('click', () => setImmediate(() => this.opts.onClick()));
    }
    this.update();
  }

  /** True when a tray exists. */
  get isAvailable(): boolean {
    return this.tray !== null;
  }

  /** Re-render icon, tooltip and menu from the current state. Cheap; call on every change. */
  update(): void {
    if (!this.tray) return;
    const s = this.opts.getState();
    const imagePath = this.imagePathOf(s);
    const facts = {
      hasComfyInstances: s.instances.length > 0 || s.settings.comfyui.instances.length > 0,
      openAtLogin: s.openAtLogin,
      openAtLoginNote: s.openAtLoginNote ?? null,
    };
    const fleet = isFleet(s);
    const now = Date.now();
    const tooltip = fleet
      ? fleetTooltip(s.daemons, s.instances, now, s.gpus)
      : trayTooltip(s.snapshot, s.instances, now, s.gpus);
    const menu = fleet
      ? buildFleetMenu(s.daemons, s.settings, facts, now)
      : buildTrayMenu(s.snapshot, s.settings, facts, now);
    const prev = this.view;
    this.view = { imagePath, tooltip, menu };
    if (this.shownImage !== imagePath) {
      this.tray.setImage(this.image(imagePath));
      this.shownImage = imagePath;
    }
    if (prev?.tooltip !== tooltip) this.tray.setToolTip(tooltip);
    // Status events arrive every few seconds while running; an identical menu is not rebuilt, which
    // also keeps an open menu from closing under the user's pointer.
    if (prev === null || JSON.stringify(prev.menu) !== JSON.stringify(menu)) {
      this.tray.setContextMenu(Menu.buildFromTemplate(menu.map((item) => this.withClick(item))));
    }
  }

  /** What is on screen now (null before `create()`, e.g. without a tray host). */
  current(): TrayView | null {
    return this.view;
  }

  /** Run a menu action by id exactly as a click would (also used by e2e hooks). */
  trigger(action: TrayClickId): void {
    // Defer out of the native menu callback before doing real work: on some platforms
    // destroying/rebuilding menus or windows inside the callback crashes or is ignored.
    setImmediate(() => {
      Promise.resolve()
        .then(() => this.dispatch(action))
        .catch((e: unknown) => this.opts.logError(`tray action ${action} failed`, e));
    });
  }

  private dispatch(id: TrayClickId): void | Promise<void> {
    const fleet = this.opts.fleetActions;
    const daemonAction = parseDaemonActionId(id);
    if (daemonAction) {
      if (!fleet) throw new Error(`no daemon actions for ${id}`);
      return fleet.daemon(daemonAction.daemonId, daemonAction.verb);
    }
    if (id === 'start-all' || id === 'stop-all') {
      if (!fleet) throw new Error(`no fleet action ${id}`);
      return fleet[id]();
    }
    return this.opts.actions[id as TrayAction]();
  }

  private imagePathOf(s: TrayState): string {
    return isFleet(s)
      ? trayIconPathForColor(this.opts.iconsDir, worstColor(s.daemons), this.opts.platform)
      : trayIconPath(this.opts.iconsDir, s.snapshot, this.opts.platform);
  }

  /** Electron reads the file now and returns an EMPTY image (an invisible icon) when it cannot. */
  private image(path: string): Electron.NativeImage {
    const image = nativeImage.createFromPath(path);
    if (image.isEmpty()) this.opts.logError(`tray icon ${path} is missing or unreadable`, null);
    return image;
  }

  /** Destroy the tray (on exit). */
  dispose(): void {
    this.tray?.destroy();
    this.tray = null;
  }

  private withClick(item: TrayMenuItem): Electron.MenuItemConstructorOptions {
    if (item.type === 'separator') return { ...item };
    if (item.type === 'submenu') return { ...item, submenu: item.submenu.map((i) => this.withClick(i)) };
    if (item.id === 'status' || item.id.startsWith('status:')) return { ...item };
    const id = item.id as TrayClickId;
    return { ...item, click: () => this.trigger(id) };
  }
}

/** Two or more daemons: the fleet tray. One daemon keeps today's tray exactly. */
function isFleet(s: TrayState): s is TrayState & { daemons: readonly FleetDaemon[] } {
  return (s.daemons?.length ?? 0) > 1;
}
