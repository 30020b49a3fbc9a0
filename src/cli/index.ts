import { DEFAULT_CONTROL_PORT, defaultDataDir } from '../core/paths.js';
import { ApiUnavailableError } from './api-client.js';
import { EXIT, UsageError, type Context } from './context.js';
import { paint, type Io } from './output.js';
import { comfyCommand, freeCommand } from './commands/comfy.js';
import { configCommand } from './commands/config.js';
import { convertCommand } from './commands/convert.js';
import { actionCommand, statusCommand } from './commands/daemon.js';
import { logsCommand } from './commands/logs.js';
import { openCommand } from './commands/open.js';
import { runCommand } from './commands/run.js';
import { serveCommand } from './commands/serve.js';

export const HELP = `luna-tray — supervisor and control centre for the Luna daemon and local ComfyUI

Usage: luna-tray [--data-dir DIR] [--port N] [--json] <command> [options]

Headless mode
  serve [--demo] [--no-open]   run Luna Tray in the foreground (Ctrl+C stops it and the daemon)
  open [--print]               a panel link with a one-time code (opened in the browser, or printed)

Daemon (talk to a running Luna Tray)
  status [--json]              state, PID, uptime, restarts, models, VRAM
  start | stop | restart       control the Luna daemon
  unload                       unload the daemon's models
  check                        ping the daemon now
  logs [-n N] [-f] [--level L] [--json]
                               the last N log entries (default 100); -f follows

Settings (with or without a running server)
  config get [KEY]             print all settings, or one key (e.g. daemon.port)
  config set KEY VALUE         VALUE is parsed as JSON when valid JSON, else a string
  config path                  print the settings file's path

ComfyUI
  comfy [--json]               the watched ComfyUI instances (health, VRAM, queue, progress)
  free                         Free VRAM: unload the daemon + POST /free on every instance
  run WORKFLOW.json [--instance URL] [--set NODE.INPUT=VALUE]... [--image PATH]... [--out DIR] [--timeout S] [--new-seed]
                               run a saved workflow (UI or API format) with a progress bar;
                               outputs go to --out (default ./comfy-output) with a JSON sidecar each;
                               --new-seed draws fresh seeds where the workflow says "randomize"
  convert WORKFLOW.json (--instance URL | --object-info FILE)
                               print the API-format JSON of a UI workflow

Global options
  --data-dir DIR   settings, logs, token and PID file (env LUNA_TRAY_DATA_DIR; default ${defaultDataDir()})
  --port N         the control/lock port (default ${DEFAULT_CONTROL_PORT})
  --json           machine-readable output
  -h, --help       this help;  -v, --version  the version

Exit codes: 0 success · 1 the operation failed · 2 usage error · 3 Luna Tray not running or token refused · 130 interrupted
`;

const COMMANDS = new Set([
  'serve',
  'open',
  'status',
  'start',
  'stop',
  'restart',
  'unload',
  'check',
  'logs',
  'config',
  'comfy',
  'free',
  'run',
  'convert',
]);

/** Split global options (anywhere on the line) from the command and its own arguments. */
export function parseGlobal(
  argv: string[],
  env: NodeJS.ProcessEnv,
): { ctx: Context; command: string | undefined; rest: string[]; help: boolean; version: boolean } {
  const rest: string[] = [];
  let dataDir: string | undefined;
  let port: string | undefined;
  let json = false;
  let help = false;
  let version = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const takeValue = (name: string) => {
      const eq = a.indexOf('=');
      if (eq > 0) return a.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${name} needs a value`);
      return v;
    };
    if (a === '--data-dir' || a.startsWith('--data-dir=')) dataDir = takeValue('--data-dir');
    else if (a === '--port' || a.startsWith('--port=')) port = takeValue('--port');
    else if (a === '--json') json = true;
    else if ((a === '-h' || a === '--help') && rest.length === 0) help = true;
    else if ((a === '-v' || a === '--version') && rest.length === 0) version = true;
    else rest.push(a);
  }
  const portNumber = port === undefined ? DEFAULT_CONTROL_PORT : Number(port);
  if (!Number.isInteger(portNumber) || portNumber < 1 || portNumber > 65535) {
    throw new UsageError(`--port must be a port number 1–65535, got "${port}"`);
  }
  const [command, ...args] = rest;
  return {
    ctx: { dataDir: dataDir ?? defaultDataDir(env), port: portNumber, json },
    command,
    rest: args,
    help,
    version,
  };
}

/** Run the CLI; resolves to the exit code. */
export async function main(argv: string[], io: Io): Promise<number> {
  try {
    const { ctx, command, rest, help, version } = parseGlobal(argv, io.env);
    if (version) {
      io.stdout.write(`${typeof LUNA_TRAY_VERSION === 'string' ? LUNA_TRAY_VERSION : 'dev'}\n`);
      return EXIT.ok;
    }
    if (help || !command || command === 'help') {
      io.stdout.write(HELP);
      return command || help ? EXIT.ok : EXIT.usage;
    }
    if (!COMMANDS.has(command)) throw new UsageError(`unknown command "${command}"`);
    const jsonArgs = ctx.json ? ['--json'] : [];
    switch (command) {
      case 'serve':
        return await serveCommand(ctx, io, rest);
      case 'open':
        return await openCommand(ctx, io, rest);
      case 'status':
        return await statusCommand(ctx, io);
      case 'start':
      case 'stop':
      case 'restart':
      case 'unload':
        return await actionCommand(ctx, io, command);
      case 'check':
        return await actionCommand(ctx, io, 'reconnect');
      case 'logs':
        return await logsCommand(ctx, io, rest);
      case 'config':
        return await configCommand(ctx, io, rest);
      case 'comfy':
        return await comfyCommand(ctx, io);
      case 'free':
        return await freeCommand(ctx, io);
      case 'run':
        return await runCommand([...rest, ...jsonArgs], io);
      case 'convert':
        return await convertCommand(rest, io);
    }
    return EXIT.usage;
  } catch (e) {
    if (
      e instanceof UsageError ||
      (e instanceof TypeError && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      io.stderr.write(`luna-tray: ${e.message}\nRun \`luna-tray --help\` for usage.\n`);
      return EXIT.usage;
    }
    if (e instanceof ApiUnavailableError) {
      io.stderr.write(`${paint(io, 'red', '✗')} ${e.message}\n`);
      return EXIT.unavailable;
    }
    io.stderr.write(`luna-tray: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT.failed;
  }
}

declare const LUNA_TRAY_VERSION: string | undefined;

// Entry point (the bundle's only top-level effect).
if (process.argv[1] && /(?:^|[\\/])(?:index\.js|luna-tray)$/.test(process.argv[1])) {
  const abort = new AbortController();
  const io: Io = {
    stdout: process.stdout,
    stderr: process.stderr,
    color: !!process.stdout.isTTY && !process.env.NO_COLOR,
    signal: abort.signal,
    env: process.env,
  };
  // `serve` installs its own graceful handlers; other long-running commands (logs -f, run) abort.
  if (process.argv[2] !== 'serve' && !process.argv.includes('serve')) {
    process.once('SIGINT', () => abort.abort());
    process.once('SIGTERM', () => abort.abort());
  }
  void main(process.argv.slice(2), io).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`luna-tray: ${String(e)}\n`);
      process.exit(EXIT.failed);
    },
  );
}
