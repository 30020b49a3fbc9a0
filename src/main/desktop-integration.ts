// The app-wide Electron settings a desktop app needs beyond its window and tray (docs/desktop.md):
// the Windows AppUserModelId, denied permissions, the application menu, and the OS asking a running
// app to come forward (macOS `activate`, a second launch's `second-instance`).
import { app, Menu, session } from 'electron';

/**
 * electron-builder.yml's `appId`. On Windows it is also the AppUserModelId of the Start-menu
 * shortcut the installer creates, and a toast is shown only when the app uses the same id
 * (test/main/package-metadata.test.ts keeps the two equal).
 */
export const APP_ID = 'io.github.lunatray.app';

/** Options of `installDesktopIntegration`. */
export interface DesktopIntegrationOptions {
  platform: NodeJS.Platform;
  /** Show the panel (activate, second-instance). */
  showPanel: () => void;
  log: { info(message: string): void };
}

/** Set before the first notification (and before any login item: Windows names it after the id). */
export function setAppUserModelId(platform: NodeJS.Platform): void {
  // The method exists on Windows only.
  if (platform === 'win32') app.setAppUserModelId(APP_ID);
}

/**
 * The panel needs no camera, microphone, notification or any other permission: every request is
 * denied and every check answers false (Electron grants by default).
 */
export function denyAllPermissions(): void {
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
}

/**
 * Electron's default menu has Toggle Developer Tools and Reload (Alt shows it on Windows/Linux).
 * macOS keeps a minimal menu: Quit and the Edit roles, without which copy and paste do nothing.
 */
export function replaceApplicationMenu(platform: NodeJS.Platform): void {
  if (platform !== 'darwin') {
    Menu.setApplicationMenu(null);
    return;
  }
  Menu.setApplicationMenu(
    Menu.buildFromTemplate([
      { role: 'appMenu', submenu: [{ role: 'about' }, { type: 'separator' }, { role: 'quit' }] },
      {
        role: 'editMenu',
        submenu: [
          { role: 'undo' },
          { role: 'redo' },
          { role: 'cut' },
          { role: 'copy' },
          { role: 'paste' },
          { role: 'selectAll' },
        ],
      },
    ]),
  );
}

/** Listen for the OS asking us to come forward; returns the disposer. */
export function installDesktopIntegration(opts: DesktopIntegrationOptions): () => void {
  // macOS: reopening the app from Finder, Spotlight or the Dock sends `activate` to this process.
  const onActivate = (): void => opts.showPanel();
  // A second launch got no single-instance lock and quit; Electron hands its arguments to us, with
  // the foreground rights Windows gives the launched process (the TCP hand-over alone cannot).
  const onSecondInstance = (_e: Electron.Event, argv: string[]): void => {
    opts.log.info(`a second launch asked for the panel (${argv.slice(1).join(' ')})`);
    opts.showPanel();
  };
  app.on('activate', onActivate);
  app.on('second-instance', onSecondInstance);
  return () => {
    app.removeListener('activate', onActivate);
    app.removeListener('second-instance', onSecondInstance);
  };
}
