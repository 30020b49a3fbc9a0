// The Electron host's wiring (docs/architecture.md §5): settings → core → control server (the single-instance
// lock) → panel, tray, IPC, push, login item, notifications, exit sequence. index.ts passes the real
// factories; tests pass fakes (the `electron` import is aliased to test/mocks/electron.ts there).
import { BrowserWindow, Notification, app, dialog, nativeImage } from 'electron';

import type { LunaCore } from '../core/app/luna-core.types.js';
import type { SettingsStore } from '../core/settings/settings-store.js';
import type { ComfyInstance, LocalGpu } from '../shared/comfy-instance.js';
import type { DaemonStatus } from '../shared/daemon-status.js';
import type { DaemonSummary } from '../shared/daemon-summary.js';
import type { DaemonSnapshot } from '../shared/snapshot.js';
import type { AppPaths } from './app-paths.js';
import {
  denyAllPermissions,
  installDesktopIntegration,
  replaceApplicationMenu,
  setAppUserModelId,
} from './desktop-integration.js';
import { installE2eHooks } from './e2e-hooks.js';
import type { MainFlags } from './flags.js';
import { forwardEvents } from './ipc/push.js';
import { createSenderCheck, registerIpcHandlers } from './ipc/register-ipc.js';
import { createShutdown, type Shutdown } from './lifecycle.js';
import { autostartIcon, createLoginItem, syncLoginItemWithSettings, type LoginItem } from './login-item.js';
import { createNotifier, type Notifier } from './notifications.js';
import { TrayController } from './tray/tray-controller.js';
import { watchTrayHost } from './tray/tray-host.js';
import type { DaemonVerb, FleetAction, TrayAction } from './tray/tray-menu.js';
import { PanelWindow, type PanelView } from './windows/panel-window.js';

/** The control server as main uses it. */
export interface ControlServerHandle {
  close(): Promise<void>;
}

/** The lock error `startControlServer` throws (duck-typed: `name` + `holder`). */
interface LockHeld {
  name: 'LockHeldError';
  holder: 'luna-tray' | 'foreign';
  port: number;
  message: string;
}

function isLockHeld(e: unknown): e is LockHeld {
  return e instanceof Error && e.name === 'LockHeldError' && 'holder' in e;
}

/** Everything the host needs from outside (real in index.ts, fakes in tests). */
export interface ComposeDeps {
  flags: MainFlags;
  platform: NodeJS.Platform;
  dataDir: string;
  paths: AppPaths;
  homeDir: string;
  execPath: string;
  env: NodeJS.ProcessEnv;
  /** Unpackaged: the app directory to pass to the Electron binary in the login item. */
  appPathForLoginItem?: string;
  createSettingsStore: (dataDir: string) => SettingsStore;
  createCore: (opts: {
    dataDir: string;
    settingsStore: SettingsStore;
    simulatorPath: string;
    /** The panel's Quit (`app:quit`). */
    onQuit: () => void;
  }) => Promise<LunaCore>;
  startControlServer: (opts: {
    core: LunaCore;
    port: number;
    dataDir: string;
    staticDir: string;
    onShow: () => void;
    /** `POST /app/quit` (`luna-tray quit`): run the exit sequence. */
    onQuit: () => void;
    version: string;
  }) => Promise<ControlServerHandle>;
  requestShow: (port: number, dataDir: string) => Promise<boolean>;
  /** ComfyUI job failures (the ComfyUI service's `onJobFailed`); returns the disposer. */
  subscribeJobFailures?: (listener: (instanceUrl: string, message: string) => void) => () => void;
  /** ComfyUI jobs that finished (the ComfyUI service's `onJobFinished`); returns the disposer. */
  subscribeJobFinished?: (listener: (instanceUrl: string, message: string) => void) => () => void;
  /** Linux: is a StatusNotifier host registered? (tray/tray-host.ts; null = could not tell). */
  probeTrayHost?: () => Promise<boolean | null>;
  /** How often to ask again while there is no tray host (default 5 s). */
  trayHostPollMs?: number;
  log: { info(message: string): void; error(message: string, error?: unknown): void };
}

/** A running host. */
export interface RunningHost {
  kind: 'running';
  core: LunaCore;
  tray: TrayController;
  panel: PanelWindow;
  loginItem: LoginItem;
  notifier: Notifier;
  shutdown: Shutdown;
}

/** How start-up ended. */
export type ComposeResult =
  | RunningHost
  /** Another Luna Tray holds the lock: it was asked to show its window; exit 0. */
  | { kind: 'handed-over' }
  /** Something else holds the lock port: exit 1 after telling the user. */
  | { kind: 'lock-foreign'; message: string };

/** Exit codes of the Electron app. */
export const EXIT_CODES = { ok: 0, lockForeign: 1, usage: 2, startupFailed: 70 } as const;

/** Start the host. Call after `app.whenReady()`. */
export async function composeHost(deps: ComposeDeps): Promise<ComposeResult> {
  const { flags, platform, dataDir, paths, log } = deps;
  const settingsStore = deps.createSettingsStore(dataDir);
  for (const w of settingsStore.warnings) log.error(`settings: ${w}`);
  let quit: (() => void) | null = null;
  const core = await deps.createCore({
    dataDir,
    settingsStore,
    simulatorPath: paths.simulator,
    onQuit: () => quit?.(),
  });

  let panel: PanelWindow | null = null;
  let control: ControlServerHandle;
  try {
    control = await deps.startControlServer({
      core,
      port: flags.controlPort,
      dataDir,
      staticDir: paths.rendererDir,
      version: app.getVersion(),
      onShow: () => setImmediate(() => panel?.show()),
      onQuit: () => setImmediate(() => quit?.()),
    });
  } catch (e) {
    // Never touch a daemon: the other instance (or program) owns it.
    await core.dispose({ keepDaemon: true });
    if (!isLockHeld(e)) throw e;
    if (e.holder === 'luna-tray') {
      const shown = await deps.requestShow(flags.controlPort, dataDir);
      log.info(
        `Luna Tray is already running; ${shown ? 'asked it to show its window' : 'it did not answer'}.`,
      );
      return { kind: 'handed-over' };
    }
    dialog.showErrorBox('Luna Tray cannot start', e.message);
    return { kind: 'lock-foreign', message: e.message };
  }

  // --- state the tray reads -------------------------------------------------------------------
  let instances: readonly ComfyInstance[] = [];
  let gpus: readonly LocalGpu[] = [];
  // Every configured daemon ('daemons:changed'); with two or more the tray shows the fleet.
  let daemons: readonly DaemonSummary[] = [];
  let forcedStatus: DaemonStatus | null = null;
  let lastView: PanelView | null = null;
  const snapshot = (): DaemonSnapshot => {
    const s = core.snapshot();
    return forcedStatus ? { ...s, status: forcedStatus } : s;
  };

  // Before the first notification and the login item (Windows names its Run value after the id).
  setAppUserModelId(platform);
  denyAllPermissions();
  replaceApplicationMenu(platform);

  const loginItem = createLoginItem({
    platform,
    app,
    homeDir: deps.homeDir,
    execPath: deps.execPath,
    appImagePath: deps.env.APPIMAGE,
    appPath: deps.appPathForLoginItem,
    xdgConfigHome: deps.env.XDG_CONFIG_HOME,
    args: ['--hidden'],
    icon: autostartIcon(paths.appIcon),
  });

  const notifier = createNotifier({
    show: (title, body) => {
      if (!Notification.isSupported()) return;
      const n = new Notification({ title, body, icon: nativeImage.createFromPath(paths.appIcon) });
      // Windows reports a toast it could not show; the notification is lost, the log keeps it.
      n.on('failed', (_e, error) => log.error(`notification "${title}" failed: ${error}`));
      n.show();
    },
    enabled: () => settingsStore.get().app.notifications,
    jobFinished: () => settingsStore.get().notify.jobFinished,
  });

  // Clean-ups run in order after the core is disposed; each piece adds its own as it is created.
  const cleanups: (() => void | Promise<void>)[] = [() => control.close()];
  const shutdown: Shutdown = createShutdown({
    app,
    disposeCore: (o) => core.dispose(o),
    keepDaemonOnExit: () => settingsStore.get().app.keepDaemonOnExit,
    cleanups,
    logError: (m, e) => log.error(m, e),
  });
  quit = () => void shutdown.exit();
  let trayAvailable = false;
  const shownPanel = new PanelWindow({
    preloadPath: paths.preload,
    rendererIndexPath: paths.rendererIndex,
    iconPath: paths.appIcon,
    shouldReallyClose: () => shutdown.isQuitting || !trayAvailable,
    // Without a tray the window is the only way back in: closing it exits the app.
    onClosed: () => {
      if (!trayAvailable && !shutdown.isQuitting) void shutdown.exit();
    },
    focusApp: platform === 'darwin' ? () => app.focus({ steal: true }) : undefined,
    logError: (m, e) => log.error(m, e),
  });
  panel = shownPanel;
  const showPanel = (view?: PanelView): void => {
    if (view) lastView = view;
    shownPanel.show(view);
  };

  const h = core.handlers;
  const run = async (
    label: string,
    call: () => Promise<{ ok: true } | { ok: false; error: { message: string } }>,
  ) => {
    const r = await call();
    if (!r.ok) notifier.notifyActionFailed(label, r.error.message);
  };
  const actions: Record<TrayAction, () => void | Promise<void>> = {
    open: () => showPanel(),
    start: () => run('Start', () => h['daemon:start']({})),
    stop: () => run('Stop', () => h['daemon:stop']({})),
    restart: () => run('Restart', () => h['daemon:restart']({})),
    check: async () => notifier.notifyCheckResult(await h['daemon:check']({})),
    'view-logs': () => showPanel('logs'),
    unload: () => run('Unload models', () => h['daemon:unload']({})),
    'free-vram': async () => {
      const r = await h['comfy:free-vram']({});
      if (!r.ok) return notifier.notifyActionFailed('Free VRAM', r.error.message);
      const freed = r.value.instances.filter((i) => i.ok).length;
      notifier.notifyCheckResult({
        ok: true,
        value: {
          message: `Daemon: ${r.value.daemon.message}. ComfyUI: ${freed} of ${r.value.instances.length} instances freed.`,
        },
      });
    },
    'open-at-login': () => {
      const r = settingsStore.update({ app: { openAtLogin: !loginItem.isEnabled() } });
      if (!r.ok)
        notifier.notifyActionFailed(
          'Open at login',
          r.issues.map((i: { message: string }) => i.message).join('; '),
        );
    },
    settings: () => showPanel('settings'),
    exit: () => shutdown.exit(),
  };

  // Several daemons: a submenu per daemon acts on that daemon only; Start all / Stop all on every
  // enabled one (docs/desktop.md, "Several daemons").
  const nameOf = (id: string) => daemons.find((d) => d.id === id)?.name ?? id;
  const daemonActions: Record<Exclude<DaemonVerb, 'view-logs'>, string> = {
    start: 'Start',
    stop: 'Stop',
    restart: 'Restart',
    unload: 'Unload models',
  };
  const all = async (action: 'start' | 'stop', label: string) => {
    const r = await h['daemons:act']({ action });
    if (!r.ok) return notifier.notifyActionFailed(label, r.error.message);
    for (const d of r.value.results) if (!d.ok) notifier.notifyActionFailed(`${label}: ${d.name}`, d.message);
  };
  const fleetActions: Record<FleetAction, () => Promise<void>> & {
    daemon: (id: string, verb: DaemonVerb) => void | Promise<void>;
  } = {
    'start-all': () => all('start', 'Start all'),
    'stop-all': () => all('stop', 'Stop all'),
    daemon: (id, verb) => {
      if (verb === 'view-logs') {
        lastView = 'logs';
        return shownPanel.show('logs', id);
      }
      return run(`${daemonActions[verb]} ${nameOf(id)}`, () => h[`daemon:${verb}`]({ daemon: id }));
    },
  };

  const tray = new TrayController({
    platform,
    iconsDir: paths.iconsDir,
    getState: () => ({
      snapshot: snapshot(),
      settings: settingsStore.get(),
      instances,
      gpus,
      daemons,
      openAtLogin: loginItem.isEnabled(),
      openAtLoginNote: loginItem.note(),
    }),
    actions,
    fleetActions,
    onClick: () => showPanel(),
    logError: (m, e) => log.error(m, e),
  });

  // --- IPC, push, subscriptions ---------------------------------------------------------------
  const disposeIpc = registerIpcHandlers({
    handlers: core.handlers,
    isTrustedSender: createSenderCheck({
      pageUrl: () => shownPanel.pageUrl,
      ownsWebContents: (wc) => shownPanel.owns(wc),
    }),
    logError: (m, e) => log.error(m, e),
  });
  const disposePush = forwardEvents(core.events, () =>
    BrowserWindow.getAllWindows()
      .filter((w) => shownPanel.owns(w.webContents))
      .map((w) => w.webContents),
  );
  const subscriptions = [
    core.events.on('daemon:status-changed', (s) => {
      // With several daemons the notifications come per daemon, named, from 'daemons:changed'.
      if (daemons.length <= 1) notifier.onStatus(s.status);
      tray.update();
    }),
    core.events.on('daemons:changed', (p) => {
      daemons = p.daemons;
      if (daemons.length > 1) {
        for (const d of daemons) notifier.onStatus(d.snapshot.status, { id: d.id, name: d.name });
      }
      tray.update();
    }),
    core.events.on('comfy:instances-changed', (p) => {
      instances = p.instances;
      gpus = p.gpus;
      tray.update();
    }),
    deps.subscribeJobFailures?.((url, message) => notifier.notifyJobFailed(url, message)) ?? (() => {}),
    deps.subscribeJobFinished?.((url, message) => notifier.notifyJobFinished(url, message)) ?? (() => {}),
    // Order matters: the login item follows the settings first, so the tray then shows the OS state.
    syncLoginItemWithSettings(loginItem, settingsStore),
    settingsStore.onDidChange(() => tray.update()),
    installDesktopIntegration({ platform, showPanel: () => showPanel(), log }),
  ];
  // Asked before the e2e hooks exist, so a spec never sees a tray that is still to come.
  // Linux: without a StatusNotifier host the icon would be nowhere (tray/tray-host.ts). Then the
  // window is the UI, closing it quits, and the tray is created once a host shows up.
  const trayHost = await watchTrayHost({
    platform,
    probe: deps.probeTrayHost ?? (() => Promise.resolve(null)),
    pollMs: deps.trayHostPollMs,
    onAppeared: () => {
      if (shutdown.isQuitting) return;
      log.info('a system tray appeared; Luna Tray now lives there');
      tray.create();
      trayAvailable = true;
    },
    logError: (m, e) => log.error(m, e),
  });

  const disposeHooks = flags.e2eHooks
    ? installE2eHooks({
        setForcedStatus: (s) => {
          forcedStatus = s;
          tray.update();
        },
        tray: () => tray.current(),
        click: (a) => tray.trigger(a),
        panel: () => ({ visible: shownPanel.window?.isVisible() ?? false, lastView }),
      })
    : () => {};

  cleanups.push(
    () => {
      trayHost.dispose();
      for (const d of subscriptions) d();
      disposeHooks();
      disposePush();
      disposeIpc();
      shutdown.dispose();
    },
    () => tray.dispose(),
    () => shownPanel.destroy(),
  );

  // A tray app stays alive with no window; subscribing turns off Electron's default quit.
  app.on('window-all-closed', () => {});

  notifier.onStatus(core.snapshot().status);
  // The fleet as it is at start-up; later changes arrive as 'daemons:changed'.
  void h['daemons:list']({}).then((r) => {
    if (!r.ok) return log.error(`could not list the daemons: ${r.error.message}`);
    daemons = r.value.daemons;
    tray.update();
  });
  trayAvailable = trayHost.available;
  if (trayAvailable) tray.create();
  else log.error('no system tray host (StatusNotifier) found: the window is the UI; closing it quits');
  // `--hidden` (login start) still loads the page so the first show is instant; without it, show now.
  if (!flags.hidden || !trayAvailable) showPanel();
  else shownPanel.ensure({ showWhenReady: false });
  core.autoStart(1000);
  log.info(`Luna Tray started (data directory ${dataDir}).`);
  return { kind: 'running', core, tray, panel: shownPanel, loginItem, notifier, shutdown };
}
