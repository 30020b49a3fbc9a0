// "Open at login" (docs/architecture.md §15): app.setLoginItemSettings exists on Windows and macOS only;
// Linux needs an XDG autostart entry (https://specifications.freedesktop.org/autostart-spec/latest/).
// `isEnabled()` always reads what the OS REALLY has, so the tray checkbox never lies.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { App } from 'electron';

import type { Settings } from '../shared/settings-schema.js';

/** The login item as the rest of main sees it. */
export interface LoginItem {
  /** What the OS will really do at the next login. */
  isEnabled(): boolean;
  setEnabled(on: boolean): void;
  /** Why a registered item will not start (switched off in Task Manager, awaiting approval), or null. */
  note(): string | null;
}

/** Options of `createLoginItem`. */
export interface LoginItemOptions {
  platform: NodeJS.Platform;
  app: Pick<App, 'setLoginItemSettings' | 'getLoginItemSettings'>;
  homeDir: string;
  /** process.execPath */
  execPath: string;
  /** process.env.APPIMAGE: set by the AppImage runtime; the mounted execPath changes on every run. */
  appImagePath?: string;
  /** When running unpackaged (`electron .`), the app path to pass to the Electron binary. */
  appPath?: string;
  /** process.env.XDG_CONFIG_HOME */
  xdgConfigHome?: string;
  /** Arguments for the login start (default `['--hidden']`). */
  args?: string[];
  /** Icon path or name for the desktop entry. */
  icon?: string;
}

/** File name of the autostart entry. */
export const AUTOSTART_FILE = 'luna-tray.desktop';

/**
 * Quote one Exec argument per the Desktop Entry spec ("The Exec key"): arguments with spaces or
 * reserved characters go in double quotes, and `"`, `` ` ``, `$` and `\` are backslash-escaped
 * inside them. `%` is doubled because Exec field codes start with it.
 */
export function quoteExecArg(arg: string): string {
  const escapedPercent = arg.replace(/%/g, '%%');
  if (!/[\s"'\\`$<>~|&;*?#()]/.test(escapedPercent)) return escapedPercent;
  return `"${escapedPercent.replace(/(["`$\\])/g, '\\$1')}"`;
}

/** The command line that starts THIS app (AppImage path, or the binary + app path when unpackaged). */
export function launchCommand(
  opts: Pick<LoginItemOptions, 'execPath' | 'appImagePath' | 'appPath' | 'args'>,
): string[] {
  const args = opts.args ?? ['--hidden'];
  if (opts.appImagePath) return [opts.appImagePath, ...args];
  return [opts.execPath, ...(opts.appPath ? [opts.appPath] : []), ...args];
}

/**
 * The autostart entry's `Icon=`: a packaged icon lives inside app.asar, which only Electron can read,
 * so the entry names the icon the deb installs (hicolor `luna-tray`, the executable name) instead.
 */
export function autostartIcon(appIcon: string): string {
  return /[\\/]app\.asar[\\/]/.test(appIcon) ? 'luna-tray' : appIcon;
}

/** The text of the XDG autostart entry. */
export function desktopEntry(
  opts: Pick<LoginItemOptions, 'execPath' | 'appImagePath' | 'appPath' | 'args' | 'icon'>,
): string {
  const exec = launchCommand(opts).map(quoteExecArg).join(' ');
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Version=1.0',
    'Name=Luna Tray',
    'Comment=Supervise the Luna daemon and watch ComfyUI from the system tray',
    `Exec=${exec}`,
    `Icon=${opts.icon ?? 'luna-tray'}`,
    'Terminal=false',
    'X-GNOME-Autostart-enabled=true',
    '',
  ].join('\n');
}

function linuxLoginItem(opts: LoginItemOptions): LoginItem {
  const dir = join(opts.xdgConfigHome || join(opts.homeDir, '.config'), 'autostart');
  const file = join(dir, AUTOSTART_FILE);
  // "Points at us": the entry's program is the one we would write (the AppImage, or this binary).
  const ours = launchCommand(opts)[0]!;
  return {
    isEnabled() {
      if (!existsSync(file)) return false;
      const text = readFileSync(file, 'utf8');
      const exec = /^Exec=(.*)$/m.exec(text)?.[1] ?? '';
      const hidden = /^Hidden=true$/m.test(text) || /^X-GNOME-Autostart-enabled=false$/m.test(text);
      return !hidden && exec.startsWith(quoteExecArg(ours));
    },
    setEnabled(on) {
      if (on) {
        mkdirSync(dir, { recursive: true });
        writeFileSync(file, desktopEntry(opts), { mode: 0o644 });
      } else {
        rmSync(file, { force: true });
      }
    },
    note: () => null,
  };
}

/**
 * Windows and macOS. Electron fills only the fields of the platform it runs on:
 * - Windows: `openAtLogin` (a Run value with our path AND args) ignores the Task Manager switch;
 *   `executableWillLaunchAtLogin` (some enabled entry for this executable) does not.
 * - macOS 13+: `status` may be `requires-approval` (System Settings › General › Login Items).
 */
function nativeLoginItem(opts: LoginItemOptions): LoginItem {
  const args = opts.args ?? ['--hidden'];
  // Windows matches the registry entry by path AND args: ask with the same ones we register.
  const read = (): Electron.LoginItemSettings => opts.app.getLoginItemSettings({ args });
  return {
    isEnabled() {
      const s = read();
      if (opts.platform === 'win32') return s.openAtLogin && s.executableWillLaunchAtLogin;
      return s.openAtLogin || s.status === 'enabled';
    },
    setEnabled(on) {
      // `enabled` (Windows) also turns the Task Manager switch back on.
      opts.app.setLoginItemSettings({
        openAtLogin: on,
        args,
        ...(opts.platform === 'win32' ? { enabled: on } : {}),
      });
    },
    note() {
      const s = read();
      if (opts.platform === 'win32' && s.openAtLogin && !s.executableWillLaunchAtLogin)
        return 'switched off in Task Manager';
      if (opts.platform === 'darwin' && s.status === 'requires-approval')
        return 'approve it in System Settings › Login Items';
      return null;
    },
  };
}

/** The login item for this platform. */
export function createLoginItem(opts: LoginItemOptions): LoginItem {
  return opts.platform === 'linux' ? linuxLoginItem(opts) : nativeLoginItem(opts);
}

/** The part of the settings store the sync needs. */
export interface LoginItemSettingsSource {
  get(): Settings;
  update(patch: unknown): { ok: boolean };
  onDidChange(listener: (s: Settings) => void): () => void;
}

/**
 * Keep `app.openAtLogin` mirroring the OS: at start the OS wins (the user may have removed the entry
 * by hand); afterwards a settings change (panel or tray) applies to the OS. Returns the disposer.
 */
export function syncLoginItemWithSettings(loginItem: LoginItem, store: LoginItemSettingsSource): () => void {
  const real = loginItem.isEnabled();
  if (store.get().app.openAtLogin !== real) store.update({ app: { openAtLogin: real } });
  return store.onDidChange((s) => {
    if (s.app.openAtLogin !== loginItem.isEnabled()) loginItem.setEnabled(s.app.openAtLogin);
  });
}
