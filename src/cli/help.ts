// `luna-tray --help`, `luna-tray help COMMAND` and `luna-tray COMMAND --help`, all from the table.
import { DEFAULT_CONTROL_PORT, defaultDataDir } from '../core/paths.js';
import { suggest } from './args.js';
import {
  COMMANDS,
  GLOBAL_OPTIONS,
  findCommand,
  type CommandSpec,
  type Invocation,
  type OptionSpec,
} from './command-table.js';
import { EXIT, UsageError } from './context.js';

const EXIT_CODES =
  'Exit codes: 0 success · 1 the operation failed · 2 usage error (also an unknown --daemon ID) · 3 Luna Tray\n' +
  'not running, token refused, or the port is held by a program that is not Luna Tray · 4 ComfyUI unreachable\n' +
  '(run, convert) · 130 interrupted\n';

function optionLabel(name: string, o: OptionSpec): string {
  const long = `--${name}${o.arg ? ` ${o.arg}` : ''}`;
  return o.short ? `-${o.short}, ${long}` : `    ${long}`;
}

/** `logs [-n N] [-f] [--level L]`: a command's synopsis from its table entry. */
export function synopsis(c: CommandSpec): string {
  const opts = Object.entries(c.options).map(([n, o]) => {
    const flag = o.short ? `-${o.short}` : `--${n}`;
    return `[${flag}${o.arg ? ` ${o.arg}` : ''}]${o.multiple ? '...' : ''}`;
  });
  return [c.name, c.args, ...opts].filter(Boolean).join(' ');
}

function table(rows: [string, string][], indent = '  '): string {
  const width = Math.min(28, Math.max(...rows.map(([l]) => l.length)) + 2);
  return rows
    .map(([l, r]) =>
      l.length + 2 > width
        ? `${indent}${l}\n${indent}${' '.repeat(width)}${r}`
        : `${indent}${l.padEnd(width)}${r}`,
    )
    .join('\n');
}

/** The whole CLI's help. */
export function globalHelp(env: NodeJS.ProcessEnv = process.env): string {
  const groups = [...new Set(COMMANDS.map((c) => c.group))];
  const sections = groups.map(
    (g) =>
      `${g}\n${table(COMMANDS.filter((c) => c.group === g).map((c) => [[c.name, c.args].filter(Boolean).join(' '), c.summary]))}`,
  );
  const defaults: Record<string, string> = {
    'data-dir': ` (default ${defaultDataDir(env)})`,
    port: ` (default ${DEFAULT_CONTROL_PORT})`,
  };
  return (
    'luna-tray — supervisor and control centre for the Luna daemon and local ComfyUI\n\n' +
    'Usage: luna-tray [--data-dir DIR] [--port N] [--json] <command> [options]\n' +
    '       luna-tray help COMMAND   (or COMMAND --help) for one command\n\n' +
    `${sections.join('\n\n')}\n\n` +
    `Global options (anywhere on the line)\n${table(Object.entries(GLOBAL_OPTIONS).map(([n, o]) => [optionLabel(n, o), `${o.help}${defaults[n] ?? ''}`]))}\n\n` +
    EXIT_CODES
  );
}

/** One command's usage: synopsis, summary, details and options. Never runs the command. */
export function commandHelp(c: CommandSpec): string {
  const opts: [string, string][] = [
    ...Object.entries(c.options).map(([n, o]): [string, string] => [optionLabel(n, o), o.help]),
    ['-h, --help', 'this help'],
  ];
  return (
    `Usage: luna-tray ${synopsis(c)}\n\n${c.summary[0]!.toUpperCase()}${c.summary.slice(1)}.\n` +
    (c.details ? `\n${c.details}\n` : '') +
    `\nOptions\n${table(opts)}\n` +
    'Global options: --data-dir DIR, --port N, --json (see `luna-tray --help`)\n'
  );
}

/** `luna-tray help [COMMAND]`. */
export async function helpCommand(inv: Invocation): Promise<number> {
  const name = inv.positionals[0];
  if (name === undefined) {
    inv.io.stdout.write(globalHelp(inv.io.env));
    return EXIT.ok;
  }
  const c = findCommand(name);
  if (!c) throw unknownCommand(name);
  inv.io.stdout.write(commandHelp(c));
  return EXIT.ok;
}

/** The usage error for a command that is not in the table, with a suggestion. */
export function unknownCommand(name: string): UsageError {
  return new UsageError(
    `unknown command "${name}"${suggest(
      name,
      COMMANDS.map((c) => c.name),
    )}`,
  );
}
