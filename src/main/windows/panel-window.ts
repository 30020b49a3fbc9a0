// The one panel window (status, logs, settings). Locked down (docs/architecture.md §8): sandboxed preload,
// context isolation, no Node, no <webview>, no popups, no navigation away from the bundled page.
import { BrowserWindow, shell } from 'electron';

import type { EventPayload } from '../../shared/contract/events.js';

/** A view of the panel, as `app:navigate` names it. */
export type PanelView = EventPayload<'app:navigate'>['view'];

/** Dependencies of PanelWindow. */
export interface PanelWindowOptions {
  /** out/preload/index.cjs */
  preloadPath: string;
  /** out/renderer/index.html */
  rendererIndexPath: string;
  /** Window icon (Linux/Windows task bar). */
  iconPath?: string;
  /** When true, closing really closes (app exit, or no tray to come back from). */
  shouldReallyClose: () => boolean;
  /** The window was really closed (not hidden). */
  onClosed?: () => void;
  /** Bring the app to the front (macOS: `app.focus({ steal: true })`; a window focus is not enough). */
  focusApp?: () => void;
  /** The page failed to load, or the renderer died and was reloaded. */
  logError?: (message: string, error?: unknown) => void;
}

/** At most this many automatic reloads after `render-process-gone` per minute (no crash loop). */
export const MAX_RELOADS_PER_MINUTE = 3;

/** Window size: enough for the log table and the settings form side by side with the status. */
export const PANEL_SIZE = { width: 900, height: 640, minWidth: 640, minHeight: 420 } as const;

/** Creates the panel lazily and keeps at most one. */
export class PanelWindow {
  private win: BrowserWindow | null = null;
  private loaded = false;
  private pendingView: EventPayload<'app:navigate'> | null = null;
  /** The URL Electron gave the page loadFile opened (the IPC sender check compares with it). */
  private page: string | null = null;
  private reloads: number[] = [];

  constructor(private readonly opts: PanelWindowOptions) {}

  /** The live window, if any. */
  get window(): BrowserWindow | null {
    return this.win && !this.win.isDestroyed() ? this.win : null;
  }

  /**
   * The URL of the panel's page as Electron loaded it (recorded at the first main-frame navigation,
   * before any page script runs). Never rebuilt from the file path: Electron's `loadFile` and
   * `pathToFileURL` escape `%` differently (docs/desktop.md).
   */
  get pageUrl(): string | null {
    return this.window ? this.page : null;
  }

  /** True when `webContents` belongs to our panel (the IPC sender check). */
  owns(webContents: unknown): boolean {
    const w = this.window;
    return w !== null && w.webContents === webContents;
  }

  /** Create the window without showing it (start-up with `--hidden` still loads the page). */
  ensure(opts: { showWhenReady: boolean }): BrowserWindow {
    const existing = this.window;
    if (existing) return existing;
    const win = new BrowserWindow({
      ...PANEL_SIZE,
      title: 'Luna Tray',
      show: false,
      ...(this.opts.iconPath ? { icon: this.opts.iconPath } : {}),
      autoHideMenuBar: true,
      webPreferences: {
        preload: this.opts.preloadPath,
        sandbox: true,
        contextIsolation: true,
        nodeIntegration: false,
        webviewTag: false,
      },
    });
    this.win = win;
    this.loaded = false;
    this.page = null;
    if (opts.showWhenReady) win.once('ready-to-show', () => win.show());

    // The page opens nothing: links to the outside go to the user's browser, everything else is denied.
    win.webContents.setWindowOpenHandler(({ url }) => {
      if (/^https?:\/\//.test(url)) void shell.openExternal(url);
      return { action: 'deny' };
    });
    win.webContents.on('will-navigate', (event: Electron.Event) => event.preventDefault());
    win.webContents.on('did-navigate', (_event: Electron.Event, url: string) => {
      this.page ??= url;
    });
    // A crashed or killed renderer leaves a blank window: reload it, a few times a minute at most.
    win.webContents.on(
      'render-process-gone',
      (_event: Electron.Event, details: Electron.RenderProcessGoneDetails) => {
        this.opts.logError?.(`the panel's renderer is gone (${details.reason})`);
        const now = Date.now();
        this.reloads = this.reloads.filter((t) => now - t < 60_000);
        if (details.reason === 'clean-exit' || this.reloads.length >= MAX_RELOADS_PER_MINUTE) return;
        this.reloads.push(now);
        this.loaded = false;
        win.webContents.reload();
      },
    );
    win.webContents.on('did-finish-load', () => {
      this.loaded = true;
      if (this.pendingView) {
        win.webContents.send('app:navigate', this.pendingView);
        this.pendingView = null;
      }
    });

    // A tray app hides on close; a real close happens only on exit (or with no tray to return to).
    win.on('close', (event: Electron.Event) => {
      if (this.opts.shouldReallyClose()) return;
      event.preventDefault();
      win.hide();
    });
    win.on('closed', () => {
      if (this.win === win) this.win = null;
      this.opts.onClosed?.();
    });

    // Electron rejects for a missing file (a broken package): say so instead of an unhandled rejection.
    win.loadFile(this.opts.rendererIndexPath).catch((e: unknown) => {
      this.opts.logError?.(`the panel page ${this.opts.rendererIndexPath} did not load`, e);
    });
    return win;
  }

  /**
   * Show and focus the window, optionally on a view (sends `app:navigate` once the page has loaded);
   * `daemon` narrows the Logs view to one daemon (the tray's per-daemon "View logs").
   */
  show(view?: PanelView, daemon?: string): void {
    const created = this.window === null;
    const win = this.ensure({ showWhenReady: true });
    if (view) {
      const nav: EventPayload<'app:navigate'> = daemon === undefined ? { view } : { view, daemon };
      if (this.loaded) win.webContents.send('app:navigate', nav);
      else this.pendingView = nav;
    }
    if (win.isMinimized()) win.restore();
    // A new window shows itself on ready-to-show (no white flash); an existing one shows now.
    if (!created) win.show();
    win.focus();
    this.opts.focusApp?.();
  }

  /** Hide the window (it stays loaded). */
  hide(): void {
    this.window?.hide();
  }

  /** Destroy the window (exit). */
  destroy(): void {
    this.window?.destroy();
    this.win = null;
  }
}
