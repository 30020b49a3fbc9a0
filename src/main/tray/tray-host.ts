// Is there a tray to put an icon in? On Linux, Electron's `new Tray()` never fails: without a
// StatusNotifier host (GNOME without the AppIndicator extension, or a login start that beats the
// panel) Chromium falls back silently and the icon is nowhere. So we ask the session bus, the way
// the StatusNotifierItem spec defines it: org.kde.StatusNotifierWatcher's IsStatusNotifierHostRegistered
// property (docs/desktop.md, "Linux without a tray host"). gdbus (GLib) first, dbus-send otherwise.
import { execFile } from 'node:child_process';

/** Runs a program; resolves even when it fails (`error` set), never rejects. */
export type CommandRunner = (
  file: string,
  args: readonly string[],
  opts: { timeoutMs: number },
) => Promise<{ stdout: string; stderr: string; error: { code?: string | number } | null }>;

/** The real runner: execFile with a timeout (a hung bus must not hold up start-up). */
export const execRunner: CommandRunner = (file, args, opts) =>
  new Promise((resolve) => {
    execFile(file, [...args], { timeout: opts.timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ stdout, stderr, error: error ? { code: (error as { code?: string | number }).code } : null });
    });
  });

const WATCHER = 'org.kde.StatusNotifierWatcher';
const PROPERTY = 'IsStatusNotifierHostRegistered';

/** Error texts that mean "nobody owns the watcher name": no host, for sure. */
const NO_WATCHER = /ServiceUnknown|NameHasNoOwner|was not provided by any \.service files/;

/**
 * true = a host is registered; false = the bus answered and there is none (or no watcher at all);
 * null = we could not ask (no gdbus/dbus-send, no session bus reachable in time): unknown.
 */
export async function probeStatusNotifierHost(run: CommandRunner, timeoutMs = 2000): Promise<boolean | null> {
  const gdbus = await run(
    'gdbus',
    [
      'call',
      '--session',
      '--dest',
      WATCHER,
      '--object-path',
      '/StatusNotifierWatcher',
      '--method',
      'org.freedesktop.DBus.Properties.Get',
      WATCHER,
      PROPERTY,
    ],
    { timeoutMs },
  );
  if (!gdbus.error) return /\btrue\b/.test(gdbus.stdout);
  if (NO_WATCHER.test(gdbus.stderr)) return false;
  if (gdbus.error.code !== 'ENOENT') return null;
  const send = await run(
    'dbus-send',
    [
      '--session',
      '--print-reply',
      `--dest=${WATCHER}`,
      '/StatusNotifierWatcher',
      'org.freedesktop.DBus.Properties.Get',
      `string:${WATCHER}`,
      `string:${PROPERTY}`,
    ],
    { timeoutMs },
  );
  if (!send.error) return /boolean\s+true/.test(send.stdout);
  if (NO_WATCHER.test(send.stderr)) return false;
  return null;
}

/** Options of `watchTrayHost`. */
export interface TrayHostWatchOptions {
  platform: NodeJS.Platform;
  probe: () => Promise<boolean | null>;
  /** A host appeared after start-up (e.g. the tray started after us at login). */
  onAppeared: () => void;
  /** How often to ask again while there is no host. */
  pollMs?: number;
  logError: (message: string, error?: unknown) => void;
}

/** The answer at start-up, and the poller that waits for a host while there is none. */
export interface TrayHostWatch {
  /** Whether to rely on the tray now. Windows and macOS always have one. */
  readonly available: boolean;
  dispose(): void;
}

/** Ask once; without a host, keep asking every `pollMs` until one appears. */
export async function watchTrayHost(opts: TrayHostWatchOptions): Promise<TrayHostWatch> {
  if (opts.platform !== 'linux') return { available: true, dispose: () => {} };
  const first = await opts.probe();
  if (first === null) {
    // Unknown is not "absent": desktops with an XEmbed-only tray and no D-Bus tools still get the icon.
    opts.logError('could not ask D-Bus for a StatusNotifier host; assuming the tray works');
    return { available: true, dispose: () => {} };
  }
  if (first) return { available: true, dispose: () => {} };
  let timer: NodeJS.Timeout | null = null;
  let disposed = false;
  const poll = (): void => {
    timer = setTimeout(() => {
      void opts.probe().then((found) => {
        if (disposed) return;
        if (found === true) opts.onAppeared();
        else poll();
      });
    }, opts.pollMs ?? 5000);
    timer.unref();
  };
  poll();
  return {
    available: false,
    dispose() {
      disposed = true;
      if (timer) clearTimeout(timer);
    },
  };
}
