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
