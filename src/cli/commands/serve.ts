import { mkdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import { createComfyService } from '../../core/app/comfy-service.js';
import { createLunaCore } from '../../core/app/luna-core.js';
import { withOverrides } from '../../core/app/settings-overlay.js';
import type { Settings } from '../../shared/settings-schema.js';
import { LockHeldError, requestShow } from '../../core/control/lock.js';
import { startControlServer, type ControlServer } from '../../core/control/control-server.js';
import { JsonFileSettingsStore } from '../../core/settings/json-file-settings-store.js';
import type { Invocation } from '../command-table.js';
import { EXIT, UsageError, type Context } from '../context.js';
import { paint } from '../output.js';
import { settingsPath } from './config.js';
import { openInBrowser } from './open.js';

declare const LUNA_TRAY_VERSION: string | undefined;

/** A repeated stop signal within this window is the same Ctrl+C (see `stop` below). */
const REPEAT_WINDOW_MS = 1_000;

/**
 * The demo's ports: free ones for each daemon's protocol and feed ports unless the data directory's
 * settings file sets them, and for the control server unless --port was given. Returns the settings
 * overrides for every daemon (the simulator profile on those ports).
 */
async function demoPorts(
  ctx: Context,
): Promise<{ control: number; moved: boolean; daemons: Record<string, Record<string, unknown>> }> {
  const { default: getPort } = await import('get-port');
  // The file's own entries, before defaults: a port is "set" only when the user wrote it there.
  let saved: { port?: unknown; wsPort?: unknown }[] = [{}];
  try {
    const raw = JSON.parse(await readFile(settingsPath(ctx.dataDir), 'utf8')) as {
      daemon?: (typeof saved)[number];
      daemons?: typeof saved;
    };
    if (Array.isArray(raw.daemons) && raw.daemons.length > 0) saved = raw.daemons;
    else if (raw.daemon) saved = [raw.daemon];
  } catch {
    // No settings file yet (a fresh demo directory): nothing was told.
  }
  const taken: number[] = [];
  const free = async () => {
    const p = await getPort({ exclude: taken });
    taken.push(p);
    return p;
  };
  const daemons: Record<string, Record<string, unknown>> = {};
  let moved = false;
  for (const [i, entry] of saved.entries()) {
    const o: Record<string, unknown> = { profile: 'simulator' };
    if (entry?.port === undefined) o.port = await free();
    if (entry?.wsPort === undefined) o.wsPort = await free();
    moved ||= 'port' in o;
    daemons[String(i)] = o;
  }
  const control = ctx.portGiven ? ctx.port : await free();
  return { control, moved, daemons };
}

/** `127.0.0.1:PORT` of each enabled daemon (named when there are several). */
function demoAddresses(settings: Settings): string {
  const on = settings.daemons.filter((d) => d.enabled);
  if (on.length === 1) return `127.0.0.1:${on[0]!.port}`;
  return on.map((d) => `${d.name} 127.0.0.1:${d.port}`).join(', ');
}

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
export async function serveCommand(inv: Invocation): Promise<number> {
  const { io, values } = inv;
  if (inv.ctx.tunnel) throw new UsageError('`serve` runs Luna Tray on this machine: use --port, not --url');
  // The demo never touches a real installation: the simulator gets free ports of its own (so no
  // Luna daemon answering on 19283 is ever adopted), and so does the control server unless
  // --port was given.
  const demo = values.demo ? await demoPorts(inv.ctx) : null;
  const ctx = demo ? { ...inv.ctx, port: demo.control } : inv.ctx;
  const { staticDir, simulatorPath } = bundledPaths();
  await mkdir(ctx.dataDir, { recursive: true });
  const fileStore = new JsonFileSettingsStore(settingsPath(ctx.dataDir));
  const settingsStore = demo ? withOverrides(fileStore, { daemons: demo.daemons }) : fileStore;
  const comfy = createComfyService();
  let quitServe: (() => void) | null = null;
  const core = await createLunaCore({
    dataDir: ctx.dataDir,
    settingsStore,
    simulatorPath,
    comfy,
    // The panel's Quit and `luna-tray quit`: the same stop as Ctrl+C.
    onQuit: () => quitServe?.(),
    version: typeof LUNA_TRAY_VERSION === 'string' ? LUNA_TRAY_VERSION : 'dev',
    controlPort: () => server?.port ?? ctx.port,
  });

  let server: ControlServer | undefined;
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
  if (demo) {
    io.stdout.write(
      `Demo: supervising the Luna daemon simulator on ${demoAddresses(core.settings())}${demo.moved ? ' (free ports of its own: a real Luna daemon is never touched)' : ''}.\n` +
        `Other commands: luna-tray --data-dir ${ctx.dataDir} --port ${running.port} status\n`,
    );
    void core.handlers['daemons:act']({ action: 'start' });
  } else core.autoStart(1_000);

  return new Promise<number>((resolve) => {
    let stoppingSince: number | null = null;
    const stop = (sig: string) => {
      if (stoppingSince !== null) {
        // One Ctrl+C often arrives twice: the terminal signals the whole process group, and a
        // wrapper in it (npm run, npx) forwards its own copy. Only a later one means "now".
        if (Date.now() - stoppingSince < REPEAT_WINDOW_MS) return;
        io.stderr.write(`Second ${sig}: exiting now.\n`);
        process.exit(EXIT.interrupted);
      }
      stoppingSince = Date.now();
      io.stdout.write(`\n${sig}: stopping… (Ctrl+C again to exit at once)\n`);
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
