// Command-line flags of the Electron app. Parsed once in the composition root; pure for tests.
import { DEFAULT_CONTROL_PORT } from '../core/paths.js';

/** The app's own flags (Chromium/Electron switches are ignored here). */
export interface MainFlags {
  /** Start without showing the window (used by the login item). */
  hidden: boolean;
  /** Register the test-only hooks for Playwright (never enabled by environment variables). */
  e2eHooks: boolean;
  /** `--data-dir=<dir>`: settings, logs, token (default: the shared data directory). */
  dataDir: string | null;
  /** `--control-port=<n>`: the single-instance lock + control API port. */
  controlPort: number;
}

/** Parse `process.argv`. Unknown arguments are left alone (Electron adds its own). */
export function parseFlags(argv: readonly string[]): MainFlags {
  const value = (name: string): string | null => {
    const hit = argv.find((a) => a.startsWith(`--${name}=`));
    return hit ? hit.slice(name.length + 3) : null;
  };
  const port = Number(value('control-port') ?? DEFAULT_CONTROL_PORT);
  return {
    hidden: argv.includes('--hidden'),
    e2eHooks: argv.includes('--e2e-hooks'),
    dataDir: value('data-dir'),
    controlPort: Number.isInteger(port) && port > 0 && port < 65536 ? port : DEFAULT_CONTROL_PORT,
  };
}

/**
 * The CLI's commands (`luna-tray --help`): the desktop app must not take them for its own. A copy,
 * not an import, so the main bundle does not pull in the CLI (test/main/login-env.test.ts compares).
 */
export const CLI_COMMANDS: readonly string[] = [
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
  'gpus',
  'run',
  'convert',
  'diagnose',
  'service',
  'quit',
  'completion',
  'help',
];

/**
 * The CLI command a user typed at the desktop app, if any. The deb installs the app as
 * /usr/bin/luna-tray, the same name as the npm CLI (docs/desktop.md, "Which luna-tray is which"):
 * `luna-tray stop` must not just show the panel and exit 0. `argv` is process.argv: the app's own
 * arguments start after the executable (packaged) or after the app path (`electron .`).
 */
export function cliCommandIn(argv: readonly string[], isPackaged: boolean): string | null {
  // Chromium switches may come before the app path (`electron --no-sandbox . stop`).
  const positional = argv.slice(1).filter((a) => !a.startsWith('-'));
  const first = positional[isPackaged ? 0 : 1];
  return first !== undefined && CLI_COMMANDS.includes(first) ? first : null;
}

/** What the desktop app prints (exit code 2, a usage error) when given a CLI command. */
export function cliRefusal(command: string): string {
  return (
    `luna-tray: this is the Luna Tray desktop app; \`${command}\` is a command of the Luna Tray CLI.\n` +
    'Run it with the CLI from the npm package (`npx luna-tray ' +
    `${command}\`), or use the tray menu. \`quit\` works on a running app through the CLI as well.\n`
  );
}
