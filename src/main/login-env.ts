// The PATH a GUI app starts with is not the user's (docs/desktop.md, "Finding Python"):
// - macOS: an app opened from Finder, the Dock or at login gets launchd's minimal PATH, so `python3`
//   is /usr/bin/python3, Apple's stub that may offer to install the developer tools. We import the
//   login shell's PATH once at start.
// - Windows: %LOCALAPPDATA%\Microsoft\WindowsApps holds the Microsoft Store's `python.exe` alias,
//   which opens the Store when Python is not installed from there. Its entries go to the END of
//   PATH, so a real Python found anywhere else wins, and a Store-installed one still works.
import { delimiter as posixDelimiter } from 'node:path';

import type { CommandRunner } from './tray/tray-host.js';

/** Our PATH first entries, then the login shell's ones we did not have, without duplicates. */
export function mergePath(current: string, fromShell: string, delimiter = posixDelimiter): string {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const p of [...fromShell.split(delimiter), ...current.split(delimiter)]) {
    if (p && !seen.has(p)) {
      seen.add(p);
      out.push(p);
    }
  }
  return out.join(delimiter);
}

/** Windows: the WindowsApps alias folder(s) moved to the end of PATH. */
export function demoteWindowsApps(path: string): string {
  const parts = path.split(';').filter((p) => p !== '');
  const isAlias = (p: string): boolean => /[\\/]Microsoft[\\/]WindowsApps[\\/]?$/i.test(p);
  return [...parts.filter((p) => !isAlias(p)), ...parts.filter(isAlias)].join(';');
}

/** Marks the shell's output so rc-file chatter around it is ignored. */
const MARK = '__LUNA_TRAY_PATH__';

/** macOS: the login shell's PATH (interactive login, like Terminal), or null after a timeout/failure. */
export async function loginShellPath(
  run: CommandRunner,
  shell: string,
  timeoutMs = 3000,
): Promise<string | null> {
  const r = await run(shell, ['-ilc', `printf '%s%s%s' ${MARK} "$PATH" ${MARK}`], { timeoutMs });
  if (r.error) return null;
  const m = new RegExp(`${MARK}(.*?)${MARK}`, 's').exec(r.stdout);
  return m?.[1] ? m[1] : null;
}

/** Fix `env.PATH` in place for this platform. Returns what changed, for the log. */
export async function importUserPath(opts: {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  run: CommandRunner;
}): Promise<string | null> {
  const { env } = opts;
  if (opts.platform === 'win32') {
    // Windows spells it Path; process.env is case-insensitive there, a copy is not.
    const key = Object.keys(env).find((k) => k.toUpperCase() === 'PATH') ?? 'Path';
    const before = env[key] ?? '';
    env[key] = demoteWindowsApps(before);
    return env[key] === before ? null : 'moved the Microsoft Store python alias folder to the end of PATH';
  }
  if (opts.platform !== 'darwin') return null;
  const fromShell = await loginShellPath(opts.run, env.SHELL || '/bin/zsh');
  if (!fromShell) return null;
  env.PATH = mergePath(env.PATH ?? '', fromShell);
  return `imported the login shell's PATH (${env.PATH})`;
}
