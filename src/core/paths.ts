import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The data directory shared by the Electron app, `luna-tray serve` and the CLI: settings, logs,
 * the control token and the PID file live here. `LUNA_TRAY_DATA_DIR` overrides it.
 */
export function defaultDataDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string {
  if (env.LUNA_TRAY_DATA_DIR) return env.LUNA_TRAY_DATA_DIR;
  const home = env.HOME ?? env.USERPROFILE ?? homedir();
  if (platform === 'win32') return join(env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'Luna Tray');
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'Luna Tray');
  return join(env.XDG_CONFIG_HOME ?? join(home, '.config'), 'luna-tray');
}

/** The default control/lock port (the original Python tray's lock port too, docs/daemon-protocol.md §2). */
export const DEFAULT_CONTROL_PORT = 19299;
