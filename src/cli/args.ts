// Argument parsing driven by the command table: global options anywhere on the line, then the
// command's own options (strict: an unknown one is a usage error with a "did you mean").
import { parseArgs } from 'node:util';

import { COMMANDS, GLOBAL_OPTIONS, type CommandSpec, type OptionSpec } from './command-table.js';
import { UsageError } from './context.js';

/** The global options found on the line, and what is left for the command. */
export interface GlobalArgs {
  dataDir: string | undefined;
  port: string | undefined;
  url: string | undefined;
  tokenFile: string | undefined;
  json: boolean;
  /** `-h`/`--help` before the command (or anywhere after it: the command's help). */
  help: boolean;
  version: boolean;
  command: string | undefined;
  /** The command's own arguments, global options removed. */
  rest: string[];
}

/** Split global options (anywhere on the line, up to `--`) from the command and its arguments. */
export function splitGlobal(argv: string[]): GlobalArgs {
  const out: GlobalArgs = {
    dataDir: undefined,
    port: undefined,
    url: undefined,
    tokenFile: undefined,
    json: false,
    help: false,
    version: false,
    command: undefined,
    rest: [],
  };
  let endOfOptions = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (endOfOptions) {
      out.rest.push(a);
      continue;
    }
    const takeValue = (name: string) => {
      const eq = a.indexOf('=');
      if (eq > 0) return a.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${name} needs a value`);
      return v;
    };
    if (a === '--') {
      endOfOptions = true;
      if (out.command !== undefined) out.rest.push(a);
    } else if (a === '--data-dir' || a.startsWith('--data-dir=')) out.dataDir = takeValue('--data-dir');
    else if (a === '--port' || a.startsWith('--port=')) out.port = takeValue('--port');
    else if (a === '--url' || a.startsWith('--url=')) out.url = takeValue('--url');
    else if (a === '--token-file' || a.startsWith('--token-file=')) out.tokenFile = takeValue('--token-file');
    else if (a === '--json') out.json = true;
    else if (a === '-h' || a === '--help') out.help = true;
    else if ((a === '-v' || a === '--version') && out.command === undefined) out.version = true;
    else if (out.command === undefined && !a.startsWith('-')) out.command = a;
    else if (out.command === undefined) throw unknownOption(a, GLOBAL_OPTIONS, '');
    else {
      out.rest.push(a);
      // A string option's value is never a global option (`--set x=--json` stays the command's).
      const spec = optionOf(findSpec(out.command), a);
      if (spec?.type === 'string' && !a.includes('=') && !/^-[a-z]./i.test(a) && i + 1 < argv.length) {
        out.rest.push(argv[++i]!);
      }
    }
  }
  return out;
}

function findSpec(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}

function optionOf(spec: CommandSpec | undefined, token: string): OptionSpec | undefined {
  if (!spec) return undefined;
  if (token.startsWith('--')) return spec.options[token.slice(2).split('=')[0]!];
  if (/^-[a-z]$/i.test(token)) return Object.values(spec.options).find((o) => o.short === token[1]);
  return undefined;
}

/** A command's options as `node:util` parseArgs wants them. */
export function toParseArgsOptions(
  spec: CommandSpec,
): Record<string, { type: 'boolean' | 'string'; short?: string; multiple?: boolean }> {
  return Object.fromEntries(
    Object.entries(spec.options).map(([name, o]) => [
      name,
      { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) },
    ]),
  );
}

/** The parsed arguments of one command. */
export interface CommandArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/**
 * Parse a command's own arguments against its table entry. Unknown options, missing values, a
 * wrong number of positionals or an unknown sub-command throw a UsageError (exit 2).
 */
export function parseCommandArgs(spec: CommandSpec, argv: string[]): CommandArgs {
  const options = toParseArgsOptions(spec);
  // A first, lenient pass finds unknown options so the message can suggest the right one.
  const { tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  for (const t of tokens) {
    if (t.kind === 'option' && !(t.name in spec.options)) {
      throw unknownOption(t.rawName, spec.options, `${spec.name}: `);
    }
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: true });
  } catch (e) {
    throw new UsageError(`${spec.name}: ${firstSentence((e as Error).message)}`);
  }
  const [min, max] = spec.positionals ?? [0, 0];
  const pos = parsed.positionals;
  if (spec.choices && pos.length > 0 && !spec.choices.includes(pos[0]!)) {
    throw new UsageError(
      `${spec.name}: unknown ${spec.name === 'completion' ? 'shell' : 'sub-command'} "${pos[0]}"${suggest(pos[0]!, spec.choices)}; expected ${spec.choices.join(', ')}`,
    );
  }
  if (pos.length < min) throw new UsageError(`${spec.name}: missing ${spec.args ?? 'argument'}`);
  if (pos.length > max) {
    throw new UsageError(
      max === 0
        ? `${spec.name} takes no arguments (got "${pos[0]}")`
        : `${spec.name}: too many arguments (got ${pos.length}, at most ${max})`,
    );
  }
  return { values: parsed.values as CommandArgs['values'], positionals: pos };
}

/** `Unknown option '--x'. To specify a positional …` → `Unknown option '--x'`. */
function firstSentence(message: string): string {
  const dot = message.indexOf('. ');
  return dot > 0 ? message.slice(0, dot) : message;
}

function unknownOption(
  raw: string,
  options: Readonly<Record<string, OptionSpec>>,
  where: string,
): UsageError {
  const names = [
    ...Object.keys(options).map((n) => `--${n}`),
    ...Object.values(options).flatMap((o) => (o.short ? [`-${o.short}`] : [])),
    '--help',
  ];
  const bare = raw.split('=')[0]!;
  return new UsageError(`${where}unknown option "${bare}"${suggest(bare, names)}`);
}

/** `; did you mean "x"?` for the closest candidate within a small edit distance, else ''. */
export function suggest(input: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = c.startsWith(input) && input.length >= 2 ? 1 : editDistance(input, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  // One edit per three characters (at most 3): `-x` suggests nothing, `stpo` suggests `stop`.
  const limit = input.length <= 2 ? 0 : Math.max(1, Math.min(3, Math.floor(input.length / 3)));
  return best !== undefined && bestDistance <= limit ? `; did you mean "${best}"?` : '';
}

/** Levenshtein distance, with a swap of two neighbours counting as one edit. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}
