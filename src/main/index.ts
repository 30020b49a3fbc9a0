// The Electron main process: the ONE composition root of the desktop host (docs/architecture.md §5).
// Bundled to out/main/index.cjs (CommonJS, so `__dirname` is the bundle's directory).
import { homedir } from 'node:os';

import { app, dialog } from 'electron';

import { createComfyService, describeFinishedJob } from '../core/app/comfy-service.js';
import { createLunaCore } from '../core/app/luna-core.js';
import { startControlServer } from '../core/control/control-server.js';
import { requestShow } from '../core/control/lock.js';
import { defaultDataDir } from '../core/paths.js';
import { resolveAppPaths } from './app-paths.js';
import { composeHost, EXIT_CODES } from './compose.js';
import { ElectronSettingsStore } from './electron-settings-store.js';
import { cliCommandIn, cliRefusal, parseFlags } from './flags.js';
import { importUserPath } from './login-env.js';
import { execRunner, probeStatusNotifierHost } from './tray/tray-host.js';

const log = {
  info: (message: string): void => console.log(`[main] ${message}`),
  error: (message: string, error?: unknown): void => console.error(`[main] ${message}`, error ?? ''),
};

async function main(): Promise<void> {
  // The deb's /usr/bin/luna-tray is this app, not the CLI: refuse CLI commands (docs/desktop.md).
  const cliCommand = cliCommandIn(process.argv, app.isPackaged);
  if (cliCommand) {
    process.stderr.write(cliRefusal(cliCommand));
    app.exit(EXIT_CODES.usage);
    return;
  }
  const flags = parseFlags(process.argv);
  // One data directory for the app, `luna-tray serve` and the CLI (core/paths.ts), so the CLI finds
  // the control token and both faces share settings.json. Must be set before `ready`.
  app.setPath('userData', flags.dataDir ?? defaultDataDir());
  // The daemon owns the GPU: the panel is a few lists and needs no VRAM. Only possible before ready.
  app.disableHardwareAcceleration();
  // Electron's own lock (per userData directory) gives a second launch's `second-instance` event,
  // with the foreground rights Windows grants it, to this process. The control port stays the lock
  // the CLI and `serve` know; compose.ts still handles a second launch that gets past this one.
  if (!app.requestSingleInstanceLock()) {
    log.info('Luna Tray is already running; it was asked to show its window.');
    app.exit(EXIT_CODES.ok);
    return;
  }
  const pathChange = await importUserPath({ platform: process.platform, env: process.env, run: execRunner });
  if (pathChange) log.info(pathChange);
  await app.whenReady();
  const dataDir = app.getPath('userData');
  // macOS login items take no arguments: "opened at login" stands in for --hidden there.
  const hidden =
    flags.hidden || (process.platform === 'darwin' && app.getLoginItemSettings().wasOpenedAtLogin);

  const comfy = createComfyService();
  const result = await composeHost({
    flags: { ...flags, hidden },
    platform: process.platform,
    dataDir,
    paths: resolveAppPaths({
      mainDir: __dirname,
      isPackaged: app.isPackaged,
      resourcesPath: process.resourcesPath,
    }),
    homeDir: homedir(),
    execPath: process.execPath,
    env: process.env,
    appPathForLoginItem: app.isPackaged ? undefined : app.getAppPath(),
    createSettingsStore: (dir) => new ElectronSettingsStore({ cwd: dir }),
    createCore: (opts) => createLunaCore({ ...opts, comfy, version: app.getVersion() }),
    startControlServer: (opts) => startControlServer(opts),
    requestShow,
    subscribeJobFailures: (listener) => comfy.onJobFailed((url, error) => listener(url, error.message)),
    subscribeJobFinished: (listener) =>
      comfy.onJobFinished((url, job) => listener(url, describeFinishedJob(job))),
    probeTrayHost: () => probeStatusNotifierHost(execRunner),
    log,
  });
  if (result.kind === 'handed-over') app.exit(EXIT_CODES.ok);
  else if (result.kind === 'lock-foreign') app.exit(EXIT_CODES.lockForeign);
}

main().catch((e: unknown) => {
  log.error('Luna Tray failed to start', e);
  try {
    dialog.showErrorBox('Luna Tray failed to start', e instanceof Error ? (e.stack ?? e.message) : String(e));
  } catch {
    // Before `ready` dialogs may be unavailable; the console line above is the record then.
  }
  app.exit(EXIT_CODES.startupFailed);
});
