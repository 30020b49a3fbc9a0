// `luna-tray service install | uninstall | status`: register `luna-tray serve` with the platform's
// service manager (systemd user unit, LaunchAgent, Task Scheduler). The files come from
// src/core/service/service-files.ts; this module writes them and calls the manager (docs/service.md).
import { spawnSync } from 'node:child_process';
import { accessSync, constants, realpathSync } from 'node:fs';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  SERVICE_NAMES,
  serviceFile,
  serviceFilePath,
  type ServicePlatform,
  type ServiceSpec,
} from '../../core/service/service-files.js';
import type { Invocation } from '../command-table.js';
import { EXIT, UsageError } from '../context.js';
import { paint, type Io } from '../output.js';

const PLATFORMS: readonly ServicePlatform[] = ['linux', 'darwin', 'win32'];

/** The CLI entry this command runs from: the npm bin link resolved, else the bundle's index.js. */
export function cliScriptPath(argv1: string | undefined = process.argv[1]): string {
  if (argv1 && /(?:^|[\\/])(?:index\.js|luna-tray)$/.test(argv1)) {
    try {
      return realpathSync(argv1);
    } catch {
      // Fall through to the bundle's own location.
    }
  }
  return fileURLToPath(new URL('./index.js', import.meta.url));
}

/** `cmd` found on the PATH of `env`, or null. */
function onPath(cmd: string, env: NodeJS.ProcessEnv): string | null {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, cmd);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return null;
}

interface Ran {
  code: number | null;
  out: string;
}

function run(io: Io, cmd: string, args: string[]): Ran {
  const r = spawnSync(cmd, args, { env: io.env, encoding: 'utf8', timeout: 30_000 });
  return { code: r.error ? null : r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

/** Run a manager command, echoing it; a failure is reported, not thrown. */
function step(io: Io, cmd: string, args: string[]): boolean {
  io.stdout.write(`$ ${basename(cmd)} ${args.join(' ')}\n`);
  const r = run(io, cmd, args);
  if (r.code === 0) return true;
  io.stderr.write(
    `${paint(io, 'red', '✗')} ${basename(cmd)} ${args.join(' ')} failed${r.out ? `: ${r.out}` : ''}\n`,
  );
  return false;
}

function launchdDomain(): string {
  return `gui/${process.getuid?.() ?? 501}`;
}

/** `luna-tray service install | uninstall | status [--dry-run] [--platform P]`. */
export async function serviceCommand({ ctx, io, values, positionals }: Invocation): Promise<number> {
  const platform = (values.platform ?? process.platform) as string;
  if (!PLATFORMS.includes(platform as ServicePlatform))
    throw new UsageError(`--platform must be one of ${PLATFORMS.join(', ')}, got "${platform}"`);
  const p = platform as ServicePlatform;
  const home = io.env.HOME ?? io.env.USERPROFILE ?? homedir();
  const user = io.env.USERNAME
    ? `${io.env.USERDOMAIN ? `${io.env.USERDOMAIN}\\` : ''}${io.env.USERNAME}`
    : '';
  const spec: ServiceSpec = {
    node: process.execPath,
    script: cliScriptPath(),
    dataDir: ctx.dataDir,
    ...(ctx.portGiven ? { port: ctx.port } : {}),
    home,
    ...(user ? { user } : {}),
  };
  const path = serviceFilePath(p, home, ctx.dataDir);
  const sub = positionals[0];
  if (sub === 'status') return status(io, p, path, ctx.json);
  if (sub === 'uninstall') return uninstall(io, p, path, !!values['dry-run']);
  const text = serviceFile(p, spec);
  if (values['dry-run']) {
    // stdout is exactly the file (redirectable); where it would go is said on stderr.
    io.stderr.write(`# dry run: would write ${path} (nothing changed)\n`);
    io.stdout.write(text);
    return EXIT.ok;
  }
  return install(io, p, path, text);
}

async function install(io: Io, p: ServicePlatform, path: string, text: string): Promise<number> {
  await mkdir(dirname(path), { recursive: true });
  // Task Scheduler reads UTF-16 reliably (the declaration says so); the others are UTF-8.
  await writeFile(path, p === 'win32' ? Buffer.from(`\ufeff${text}`, 'utf16le') : text);
  io.stdout.write(`${paint(io, 'green', '✓')} wrote ${path}\n`);
  let ok = true;
  if (p === 'linux') {
    const systemctl = onPath('systemctl', io.env);
    if (systemctl) {
      ok =
        step(io, systemctl, ['--user', 'daemon-reload']) &&
        step(io, systemctl, ['--user', 'enable', '--now', SERVICE_NAMES.linux]);
    } else {
      io.stdout.write(
        `systemctl not found: enable it yourself with \`systemctl --user enable --now ${SERVICE_NAMES.linux}\`.\n`,
      );
    }
    const who = io.env.USER ?? io.env.LOGNAME ?? '$USER';
    io.stdout.write(`To start it at boot without logging in, run once: loginctl enable-linger ${who}\n`);
  } else if (p === 'darwin') {
    const launchctl = onPath('launchctl', io.env) ?? 'launchctl';
    // A reinstall replaces a loaded agent: bootout of an absent one fails harmlessly.
    run(io, launchctl, ['bootout', `${launchdDomain()}/${SERVICE_NAMES.darwin}`]);
    ok = step(io, launchctl, ['bootstrap', launchdDomain(), path]);
  } else {
    const schtasks = onPath('schtasks', io.env) ?? onPath('schtasks.exe', io.env) ?? 'schtasks';
    ok =
      step(io, schtasks, ['/Create', '/TN', SERVICE_NAMES.win32, '/XML', path, '/F']) &&
      step(io, schtasks, ['/Run', '/TN', SERVICE_NAMES.win32]);
  }
  return ok ? EXIT.ok : EXIT.failed;
}

async function uninstall(io: Io, p: ServicePlatform, path: string, dryRun: boolean): Promise<number> {
  if (dryRun) {
    io.stdout.write(`# dry run: would stop and unregister the service and remove ${path}\n`);
    return EXIT.ok;
  }
  if (p === 'linux') {
    const systemctl = onPath('systemctl', io.env);
    if (systemctl) step(io, systemctl, ['--user', 'disable', '--now', SERVICE_NAMES.linux]);
  } else if (p === 'darwin') {
    step(io, onPath('launchctl', io.env) ?? 'launchctl', [
      'bootout',
      `${launchdDomain()}/${SERVICE_NAMES.darwin}`,
    ]);
  } else {
    const schtasks = onPath('schtasks', io.env) ?? onPath('schtasks.exe', io.env) ?? 'schtasks';
    run(io, schtasks, ['/End', '/TN', SERVICE_NAMES.win32]);
    step(io, schtasks, ['/Delete', '/TN', SERVICE_NAMES.win32, '/F']);
  }
  const existed = await stat(path).then(
    () => true,
    () => false,
  );
  await rm(path, { force: true });
  if (p === 'linux') {
    const systemctl = onPath('systemctl', io.env);
    if (systemctl) run(io, systemctl, ['--user', 'daemon-reload']);
  }
  io.stdout.write(existed ? `${paint(io, 'green', '✓')} removed ${path}\n` : `${path} was not installed\n`);
  return EXIT.ok;
}

const UNIT_FILE_STATES = new Set([
  'enabled',
  'enabled-runtime',
  'disabled',
  'static',
  'masked',
  'linked',
  'indirect',
  'not-found',
  'generated',
  'transient',
  'alias',
]);
const ACTIVE_STATES = new Set(['active', 'inactive', 'failed', 'activating', 'deactivating', 'reloading']);

interface ServiceState {
  platform: ServicePlatform;
  file: string;
  installed: boolean;
  /** null: the manager could not be asked. */
  enabled: boolean | null;
  running: boolean | null;
  detail?: string;
}

async function status(io: Io, p: ServicePlatform, path: string, json: boolean): Promise<number> {
  const installed = await stat(path).then(
    () => true,
    () => false,
  );
  const s: ServiceState = { platform: p, file: path, installed, enabled: null, running: null };
  if (p === 'linux') {
    const systemctl = onPath('systemctl', io.env);
    if (systemctl) {
      const en = run(io, systemctl, ['--user', 'is-enabled', SERVICE_NAMES.linux]);
      const ac = run(io, systemctl, ['--user', 'is-active', SERVICE_NAMES.linux]);
      // Anything but a state word (e.g. "Failed to connect to bus") means systemd could not tell.
      s.enabled = UNIT_FILE_STATES.has(en.out) ? en.out.startsWith('enabled') : null;
      s.running = ACTIVE_STATES.has(ac.out) ? ac.out === 'active' : null;
      s.detail = `systemd: ${en.out || 'unknown'}, ${ac.out || 'unknown'}`;
    }
  } else if (p === 'darwin') {
    const r = run(io, onPath('launchctl', io.env) ?? 'launchctl', [
      'print',
      `${launchdDomain()}/${SERVICE_NAMES.darwin}`,
    ]);
    if (r.code !== null) {
      s.enabled = r.code === 0;
      s.running = r.code === 0 && /^\s*state = running\s*$/m.test(r.out);
    }
  } else {
    const schtasks = onPath('schtasks', io.env) ?? onPath('schtasks.exe', io.env) ?? 'schtasks';
    const r = run(io, schtasks, ['/Query', '/TN', SERVICE_NAMES.win32, '/FO', 'LIST']);
    if (r.code !== null) {
      const state = /^Status:\s*(.+)$/m.exec(r.out)?.[1]?.trim();
      s.enabled = r.code === 0 && state !== 'Disabled';
      s.running = r.code === 0 && state === 'Running';
      if (state) s.detail = `Task Scheduler: ${state}`;
    }
  }
  if (json) {
    io.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
    return EXIT.ok;
  }
  const word = (v: boolean | null, yes: string, no: string) => (v === null ? 'unknown' : v ? yes : no);
  io.stdout.write(
    `service file: ${path} (${installed ? 'installed' : 'not installed'})\n` +
      `enabled: ${word(s.enabled, 'yes', 'no')}\nrunning: ${word(s.running, 'yes', 'no')}\n` +
      (s.detail ? `${s.detail}\n` : ''),
  );
  return EXIT.ok;
}
