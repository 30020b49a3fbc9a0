// The one table of CLI commands: argument parsing (args.ts), help (help.ts), shell completion
// (completion.ts) and dispatch (index.ts) all read it. It imports nothing at run time, and each
// command's code is loaded only when that command runs, so `luna-tray status` does not pay for
// `run`'s or `serve`'s modules.
import type { Context } from './context.js';
import type { Io } from './output.js';

/** One option of a command, in `node:util` parseArgs terms plus what help and completion need. */
export interface OptionSpec {
  type: 'boolean' | 'string';
  short?: string;
  multiple?: boolean;
  /** The value's placeholder in help, e.g. `N` for `-n N`. */
  arg?: string;
  help: string;
  /** What the shell may complete for the value: files, directories, or fixed words. */
  complete?: 'file' | 'dir' | readonly string[];
}

/** What a command's code receives after the table parsed its arguments. */
export interface Invocation {
  ctx: Context;
  io: Io;
  values: Readonly<Record<string, string | boolean | string[] | undefined>>;
  positionals: string[];
  /** The command's own arguments as given (global options removed). */
  argv: string[];
}

export type CommandHandler = (inv: Invocation) => Promise<number>;

export type CommandGroup = 'Headless mode' | 'Daemon' | 'Settings' | 'ComfyUI' | 'Shell';

export interface CommandSpec {
  name: string;
  group: CommandGroup;
  /** One line for the command list. */
  summary: string;
  /** The positional part of the synopsis, e.g. `WORKFLOW.json` or `get [KEY] | set KEY VALUE`. */
  args?: string;
  /** How many positionals are allowed: [min, max]. Default [0, 0]. */
  positionals?: readonly [number, number];
  /** Words the first positional may be (sub-commands); anything else is a usage error. */
  choices?: readonly string[];
  /** Extra lines of explanation for `luna-tray help COMMAND`. */
  details?: string;
  options: Readonly<Record<string, OptionSpec>>;
  /** Loads the command's code (a dynamic import: nothing is loaded for other commands). */
  load(): Promise<CommandHandler>;
}

/** Options every command accepts, anywhere on the line. */
export const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  'data-dir': {
    type: 'string',
    arg: 'DIR',
    complete: 'dir',
    help: 'settings, logs, token and PID file (env LUNA_TRAY_DATA_DIR)',
  },
  port: { type: 'string', arg: 'N', help: 'the control/lock port' },
  url: {
    type: 'string',
    arg: 'URL',
    help: 'a Luna Tray on another loopback port, e.g. an SSH tunnel: http://127.0.0.1:29299 (env LUNA_TRAY_URL)',
  },
  'token-file': {
    type: 'string',
    arg: 'PATH',
    complete: 'file',
    help: "the control token to use, e.g. a copy of the tunnelled box's (env LUNA_TRAY_TOKEN_FILE)",
  },
  json: { type: 'boolean', help: 'machine-readable output' },
  help: { type: 'boolean', short: 'h', help: 'show help (for a command: its usage only)' },
  version: { type: 'boolean', short: 'v', help: 'print the version' },
};

/** `--daemon ID`: the per-daemon commands act on one daemon of `settings.daemons` (docs/multi-daemon.md). */
const DAEMON_OPTION: OptionSpec = {
  type: 'string',
  arg: 'ID',
  help: 'only this daemon, an id of settings.daemons (`luna-tray status` lists them; an unknown id exits 2)',
};

/** What every daemon command says about several daemons. */
const FLEET_DETAILS =
  'Without --daemon it acts on every enabled daemon in parallel and prints one line each (exit 1 when\n' +
  'any failed); with a single daemon configured the output is as it always was.';

const daemonAction =
  (action: 'start' | 'stop' | 'restart' | 'unload' | 'check'): CommandSpec['load'] =>
  async () => {
    const m = await import('./commands/daemon.js');
    return (inv) => m.actionCommand(inv, action);
  };

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'serve',
    group: 'Headless mode',
    summary: 'run Luna Tray in the foreground (Ctrl+C stops it and the daemon)',
    options: {
      demo: {
        type: 'boolean',
        help: 'supervise the bundled daemon simulator, on free ports of its own (a real daemon is never touched)',
      },
      'no-open': { type: 'boolean', help: 'do not open the panel in a browser' },
    },
    load: async () => (await import('./commands/serve.js')).serveCommand,
  },
  {
    name: 'open',
    group: 'Headless mode',
    summary: 'a panel link with a one-time code (opened in the browser, or printed)',
    options: { print: { type: 'boolean', help: 'print the link only; do not open a browser' } },
    load: async () => (await import('./commands/open.js')).openCommand,
  },
  {
    name: 'quit',
    group: 'Headless mode',
    summary: 'exit the running Luna Tray (app or serve) as its Exit does; waits until it is gone',
    options: {},
    load: async () => (await import('./commands/quit.js')).quitCommand,
  },
  {
    name: 'service',
    group: 'Headless mode',
    summary: 'start `serve` at login/boot: systemd user unit, LaunchAgent or Task Scheduler task',
    args: 'install | uninstall | status',
    positionals: [1, 1],
    choices: ['install', 'uninstall', 'status'],
    details:
      'install    write the service file for this install (its node and script paths, --data-dir, --port)\n' +
      '           and enable it: systemctl --user enable --now, launchctl bootstrap, schtasks /Create\n' +
      '           (Linux: `loginctl enable-linger $USER` makes it start at boot without a login)\n' +
      'uninstall  stop it, unregister it and remove the file\n' +
      'status     installed / enabled / running, as far as the service manager tells',
    options: {
      'dry-run': { type: 'boolean', help: 'print the file (or what uninstall would do) and change nothing' },
      platform: {
        type: 'string',
        arg: 'P',
        complete: ['linux', 'darwin', 'win32'],
        help: "the platform's service manager to use (default: this one's)",
      },
    },
    load: async () => (await import('./commands/service.js')).serviceCommand,
  },
  {
    name: 'diagnose',
    group: 'Headless mode',
    summary: 'write a diagnostics archive (logs, redacted settings, versions, GPUs, ports, status history)',
    details:
      'Asks the running Luna Tray when there is one, else reads the data directory. The control token,\n' +
      'every env value and webhook URL/header secrets are removed (docs/diagnostics.md).',
    options: {
      out: { type: 'string', arg: 'DIR', complete: 'dir', help: 'where the .tar.gz goes (default: .)' },
    },
    load: async () => (await import('./commands/diagnose.js')).diagnoseCommand,
  },
  {
    name: 'status',
    group: 'Daemon',
    summary: 'state, PID, uptime, restarts, models, VRAM (one line per daemon when there are several)',
    details:
      'With several daemons: a line each (id, name, state, PID, port, models, VRAM), and --json prints\n' +
      'the list. With one daemon, or --daemon ID: its full status, and --json prints the object of\n' +
      'GET /luna/daemon/status (with --daemon, of GET /luna/daemons/ID/status).',
    options: { daemon: DAEMON_OPTION },
    load: async () => (await import('./commands/daemon.js')).statusCommand,
  },
  {
    name: 'start',
    group: 'Daemon',
    summary: 'start the Luna daemon (every enabled one, or --daemon ID)',
    details: FLEET_DETAILS,
    options: { daemon: DAEMON_OPTION },
    load: daemonAction('start'),
  },
  {
    name: 'stop',
    group: 'Daemon',
    summary: 'stop the Luna daemon (every enabled one, or --daemon ID)',
    details: FLEET_DETAILS,
    options: { daemon: DAEMON_OPTION },
    load: daemonAction('stop'),
  },
  {
    name: 'restart',
    group: 'Daemon',
    summary: 'restart the Luna daemon (every enabled one, or --daemon ID)',
    details: FLEET_DETAILS,
    options: { daemon: DAEMON_OPTION },
    load: daemonAction('restart'),
  },
  {
    name: 'unload',
    group: 'Daemon',
    summary: "unload the daemon's models (every enabled daemon's, or --daemon ID's)",
    details: FLEET_DETAILS,
    options: { daemon: DAEMON_OPTION },
    load: daemonAction('unload'),
  },
  {
    name: 'check',
    group: 'Daemon',
    summary: 'ping the daemon now (every enabled one, or --daemon ID)',
    details: FLEET_DETAILS,
    options: { daemon: DAEMON_OPTION },
    load: daemonAction('check'),
  },
  {
    name: 'logs',
    group: 'Daemon',
    summary: 'the last N log entries (default 100); -f follows',
    details:
      "--daemon ID keeps the entries of that daemon (its supervisor's and its own output); with several\n" +
      'daemons and no --daemon, each line names its daemon.',
    options: {
      daemon: DAEMON_OPTION,
      lines: { type: 'string', short: 'n', arg: 'N', help: 'how many entries to print (default 100)' },
      follow: { type: 'boolean', short: 'f', help: 'keep printing new entries until Ctrl+C' },
      level: {
        type: 'string',
        arg: 'L',
        complete: ['debug', 'info', 'warning', 'error', 'critical'],
        help: 'only this level and above: debug, info, warning, error, critical',
      },
    },
    load: async () => (await import('./commands/logs.js')).logsCommand,
  },
  {
    name: 'config',
    group: 'Settings',
    summary: 'read and change settings (with or without a running server)',
    args: 'get [KEY] | set KEY VALUE | unset KEY | path | preset NAME',
    positionals: [1, 3],
    choices: ['get', 'set', 'unset', 'path', 'preset'],
    details:
      'config get [KEY]      print all settings, or one key (e.g. daemon.port)\n' +
      'config set KEY VALUE  VALUE is parsed as JSON when valid JSON, else a string\n' +
      'config unset KEY      put KEY back to its default\n' +
      "config path           print the settings file's absolute path\n" +
      'config preset NAME    replace the daemons list: single | split-clip-vae | one-per-gpu\n' +
      "                      (docs/settings.md); config set daemons '[…]' sets it by hand",
    options: {},
    load: async () => (await import('./commands/config.js')).configCommand,
  },
  {
    name: 'comfy',
    group: 'ComfyUI',
    summary: 'the watched ComfyUI instances (health, VRAM, queue, progress)',
    options: {},
    load: async () => (await import('./commands/comfy.js')).comfyCommand,
  },
  {
    name: 'gpus',
    group: 'ComfyUI',
    summary: 'GPUs and who holds their VRAM (Luna daemon, ComfyUI, other)',
    details:
      'NVIDIA via nvidia-smi (per process), AMD via sysfs (per GPU); --json prints a list of GPUs,\n' +
      'each with its processes as {pid, name, usedMiB, role}.',
    options: {},
    load: async () => (await import('./commands/gpus.js')).gpusCommand,
  },
  {
    name: 'free',
    group: 'ComfyUI',
    summary: 'Free VRAM: unload the daemon + POST /free on every instance',
    options: {},
    load: async () => (await import('./commands/comfy.js')).freeCommand,
  },
  {
    name: 'run',
    group: 'ComfyUI',
    summary: 'run a saved workflow (UI or API format) with a progress bar',
    args: 'WORKFLOW.json',
    positionals: [1, 1],
    details:
      'Outputs go to --out (default ./comfy-output) with a JSON sidecar each, under safe names that\n' +
      'never replace a file; exit 4 when ComfyUI cannot be reached;\n' +
      '--new-seed draws fresh seeds where the workflow says "randomize".',
    options: {
      instance: {
        type: 'string',
        arg: 'URL',
        help: 'the ComfyUI to run on (default $LUNA_TRAY_COMFY_URL or http://127.0.0.1:8188)',
      },
      set: { type: 'string', multiple: true, arg: 'NODE.INPUT=VALUE', help: 'override a node input' },
      image: { type: 'string', multiple: true, arg: 'PATH', complete: 'file', help: 'upload an input image' },
      out: { type: 'string', arg: 'DIR', complete: 'dir', help: 'where outputs go (default ./comfy-output)' },
      timeout: { type: 'string', arg: 'S', help: 'seconds to wait for ComfyUI to answer (default 15)' },
      'new-seed': { type: 'boolean', help: 'draw fresh seeds where the workflow says "randomize"' },
      'max-download': {
        type: 'string',
        arg: 'SIZE',
        help: 'largest output file to download, e.g. 2G (default 512M)',
      },
    },
    load: async () => {
      const m = await import('./commands/run.js');
      return (inv) =>
        m.runCommand([...inv.argv, ...(inv.ctx.json ? ['--json'] : [])], inv.io, {
          report: m.panelReporter(inv.ctx.port, inv.ctx.dataDir, inv.ctx),
        });
    },
  },
  {
    name: 'convert',
    group: 'ComfyUI',
    summary: 'print the API-format JSON of a UI workflow',
    args: 'WORKFLOW.json',
    positionals: [1, 1],
    details:
      'Needs the node definitions: from a running ComfyUI (--instance) or a saved file (--object-info).',
    options: {
      instance: { type: 'string', arg: 'URL', help: 'a running ComfyUI to read /object_info from' },
      'object-info': { type: 'string', arg: 'FILE', complete: 'file', help: 'a saved object_info.json' },
    },
    load: async () => {
      const m = await import('./commands/convert.js');
      return (inv) => m.convertCommand(inv.argv, inv.io);
    },
  },
  {
    name: 'completion',
    group: 'Shell',
    summary: 'print a shell completion script (e.g. `source <(luna-tray completion bash)`)',
    args: 'bash | zsh | fish',
    positionals: [1, 1],
    choices: ['bash', 'zsh', 'fish'],
    options: {},
    load: async () => (await import('./completion.js')).completionCommand,
  },
  {
    name: 'help',
    group: 'Shell',
    summary: "this help, or one command's usage (`luna-tray help logs`)",
    args: '[COMMAND]',
    positionals: [0, 1],
    options: {},
    load: async () => (await import('./help.js')).helpCommand,
  },
];

/** The command named `name`, if any. */
export function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}
