// Where the bundles, icons and the simulator are, packaged or not. Pure for tests.
import { join } from 'node:path';

/** Absolute paths the composition root needs. */
export interface AppPaths {
  preload: string;
  rendererIndex: string;
  rendererDir: string;
  iconsDir: string;
  appIcon: string;
  simulator: string;
}

/**
 * `mainDir` is the directory of out/main/index.cjs (inside app.asar when packaged). The simulator
 * ships as an extraResource (a Python file must be a real file, not inside the asar archive).
 */
export function resolveAppPaths(opts: {
  mainDir: string;
  isPackaged: boolean;
  resourcesPath: string;
}): AppPaths {
  const appRoot = join(opts.mainDir, '..', '..');
  return {
    preload: join(appRoot, 'out', 'preload', 'index.cjs'),
    rendererIndex: join(appRoot, 'out', 'renderer', 'index.html'),
    rendererDir: join(appRoot, 'out', 'renderer'),
    iconsDir: join(appRoot, 'assets', 'icons'),
    appIcon: join(appRoot, 'assets', 'icons', 'icon.png'),
    simulator: opts.isPackaged
      ? join(opts.resourcesPath, 'sim', 'luna_daemon_sim.py')
      : join(appRoot, 'sim', 'luna_daemon_sim.py'),
  };
}
