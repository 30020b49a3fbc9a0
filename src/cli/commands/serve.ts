import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import { createComfyService } from '../../core/app/comfy-service.js';
import { createLunaCore } from '../../core/app/luna-core.js';
import { withOverrides } from '../../core/app/settings-overlay.js';
import { LockHeldError, requestShow } from '../../core/control/lock.js';
import { startControlServer, type ControlServer } from '../../core/control/control-server.js';
import { JsonFileSettingsStore } from '../../core/settings/json-file-settings-store.js';
import type { Invocation } from '../command-table.js';
import { EXIT } from '../context.js';
import { paint } from '../output.js';
import { settingsPath } from './config.js';
import { openInBrowser } from './open.js';

declare const LUNA_TRAY_VERSION: string | undefined;

/** Paths of the built renderer and the simulator, relative to the CLI bundle (out/cli/index.js). */
export function bundledPaths(): { staticDir: string; simulatorPath: string } {
  return {
    staticDir: fileURLToPath(new URL('../renderer/', import.meta.url)),
    simulatorPath: fileURLToPath(new URL('../../sim/luna_daemon_sim.py', import.meta.url)),
  };
}

/**
 * `luna-tray serve [--demo] [--no-open]`: headless mode in the foreground. Binding the control port
 * is the single-instance lock: a second `serve` asks the first to show its panel and exits 0.
 * SIGINT/SIGTERM stop the daemon gracefully (unless `app.keepDaemonOnExit`) and leave no orphan.
 */
export async function serveCommand({ ctx, io, values }: Invocation): Promise<number> {
  const { staticDir, simulatorPath } = bundledPaths();
  await mkdir(ctx.dataDir, { recursive: true });
  const fileStore = new JsonFileSettingsStore(settingsPath(ctx.dataDir));
  const settingsStore = values.demo
    ? withOverrides(fileStore, { daemon: { profile: 'simulator' } })
    : fileStore;
  const comfy = createComfyService();
  const core = await createLunaCore({ dataDir: ctx.dataDir, settingsStore, simulatorPath, comfy });

  let server: ControlServer | undefined;
  let quitServe: (() => void) | null = null;
  try {
    server = await startControlServer({
      core,
      port: ctx.port,
      dataDir: ctx.dataDir,
      staticDir,
      version: typeof LUNA_TRAY_VERSION === 'string' ? LUNA_TRAY_VERSION : 'dev',
      onShow: () => {
        const url = server?.panelUrl();
        io.stdout.write(`Another launch asked for the panel: ${url}\n`);
        if (url && !values['no-open']) openInBrowser(url);
      },
      // `luna-tray quit`: the same stop as Ctrl+C.
      onQuit: () => quitServe?.(),
    });
  } catch (e) {
    await core.dispose({ keepDaemon: true });
    if (e instanceof LockHeldError) {
      if (e.holder === 'luna-tray') {
        const shown = await requestShow(ctx.port, ctx.dataDir);
        io.stdout.write(
          `Luna Tray is already running on 127.0.0.1:${ctx.port}${shown ? ' — asked it to show its panel' : ''}. Use \`luna-tray open\` for a panel link.\n`,
        );
        return EXIT.ok;
      }
      io.stderr.write(`${e.message}\n`);
      return EXIT.failed;
    }
    throw e;
  }

  const running: ControlServer = server;
  const url = running.panelUrl();
  io.stdout.write(
    `${paint(io, 'bold', 'Luna Tray')} (headless) on http://127.0.0.1:${running.port} — data in ${ctx.dataDir}\n` +
      `Panel: ${url}\n` +
      `(a one-time link; \`luna-tray open\` makes a new one. Ctrl+C stops Luna Tray${core.settings().app.keepDaemonOnExit ? '' : ' and the daemon'}.)\n`,
  );
  if (!values['no-open']) openInBrowser(url);
  if (values.demo) {
    io.stdout.write('Demo: supervising the Luna daemon simulator.\n');
    void core.handlers['daemon:start']({});
  } else core.autoStart(1_000);

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (sig: string) => {
      if (stopping) {
        io.stderr.write(`Second ${sig}: exiting now.\n`);
        process.exit(EXIT.interrupted);
      }
      stopping = true;
      io.stdout.write(`\n${sig}: stopping…\n`);
      void core
        .dispose()
        .then(() => running.close())
        .then(
          () => resolve(EXIT.ok),
          (e: unknown) => {
            io.stderr.write(`Error while stopping: ${String(e)}\n`);
            resolve(EXIT.failed);
          },
        );
    };
    quitServe = () => stop('quit');
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('unhandledRejection', (e) =>
      io.stderr.write(`luna-tray: unhandled rejection: ${String(e)}\n`),
    );
  });
}
