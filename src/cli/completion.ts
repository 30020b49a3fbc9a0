// `luna-tray completion bash|zsh|fish`: completion scripts generated from the command table, so a
// new command or option is completed without touching this file.
import {
  COMMANDS,
  GLOBAL_OPTIONS,
  type CommandSpec,
  type Invocation,
  type OptionSpec,
} from './command-table.js';
import { EXIT } from './context.js';

const names = COMMANDS.map((c) => c.name);

function flags(options: Readonly<Record<string, OptionSpec>>): string[] {
  return Object.entries(options).flatMap(([n, o]) => [`--${n}`, ...(o.short ? [`-${o.short}`] : [])]);
}

/** Words a command's first positional may be (sub-commands, shells, command names for `help`). */
function words(c: CommandSpec): readonly string[] {
  return c.name === 'help' ? names : (c.choices ?? []);
}

const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function bashCompletion(): string {
  const globals = flags(GLOBAL_OPTIONS).join(' ');
  const cases = COMMANDS.map((c) => {
    const valueCases = Object.entries(c.options)
      .filter(([, o]) => o.type === 'string')
      .map(([n, o]) => {
        const pats = [`--${n}`, ...(o.short ? [`-${o.short}`] : [])].join('|');
        const gen =
          o.complete === 'file'
            ? 'COMPREPLY=($(compgen -f -- "$cur"))'
            : o.complete === 'dir'
              ? 'COMPREPLY=($(compgen -d -- "$cur"))'
              : Array.isArray(o.complete)
                ? `COMPREPLY=($(compgen -W ${sq(o.complete.join(' '))} -- "$cur"))`
                : 'COMPREPLY=()';
        return `        ${pats}) ${gen}; return ;;`;
      });
    const posWords = words(c);
    const pos = posWords.length
      ? `COMPREPLY=($(compgen -W ${sq(posWords.join(' '))} -- "$cur"))`
      : c.args?.includes('.json')
        ? 'COMPREPLY=($(compgen -f -- "$cur"))'
        : 'COMPREPLY=()';
    return [
      `    ${c.name})`,
      '      case "$prev" in',
      ...valueCases,
      '        --data-dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;',
      '      esac',
      `      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W ${sq(`${flags(c.options).join(' ')} --help ${globals}`)} -- "$cur")); else ${pos}; fi`,
      '      ;;',
    ].join('\n');
  });
  return `# luna-tray bash completion: source <(luna-tray completion bash)
_luna_tray() {
  local cur prev cmd i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  cmd=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      --data-dir|--port) ((i++)) ;;
      -*) ;;
      *) cmd="\${COMP_WORDS[i]}"; break ;;
    esac
  done
  if [[ -z "$cmd" ]]; then
    case "$prev" in
      --data-dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
      --port) COMPREPLY=(); return ;;
    esac
    COMPREPLY=($(compgen -W ${sq(`${names.join(' ')} ${globals}`)} -- "$cur"))
    return
  fi
  case "$cmd" in
${cases.join('\n')}
  esac
}
complete -o default -F _luna_tray luna-tray
`;
}

const zq = (s: string) => s.replace(/[[\]:'\\]/g, (ch) => `\\${ch}`);

function zshOption(n: string, o: OptionSpec): string {
  const action =
    o.type === 'boolean'
      ? ''
      : `:${o.arg ?? 'value'}:${o.complete === 'file' ? '_files' : o.complete === 'dir' ? '_files -/' : Array.isArray(o.complete) ? `(${o.complete.join(' ')})` : ' '}`;
  const rep = o.multiple ? '*' : '';
  const spec = `[${zq(o.help)}]${action}`;
  return o.short ? `'${rep}(-${o.short} --${n})'{-${o.short},--${n}}'${spec}'` : `'${rep}--${n}${spec}'`;
}

export function zshCompletion(): string {
  const globals = Object.entries(GLOBAL_OPTIONS).map(([n, o]) => zshOption(n, o));
  const cmds = COMMANDS.map((c) => `    '${c.name}:${zq(c.summary)}'`);
  const cases = COMMANDS.map((c) => {
    const w = words(c);
    const pos = w.length
      ? `'1:${c.name === 'completion' ? 'shell' : 'argument'}:(${w.join(' ')})'`
      : c.args?.includes('.json')
        ? '\'1:workflow:_files -g "*.json"\''
        : '';
    const opts = Object.entries(c.options).map(([n, o]) => zshOption(n, o));
    return `    (${c.name}) _arguments -s ${[...opts, "'(-h --help)'{-h,--help}'[this help]'", pos, "'*::arg:_default'"].filter(Boolean).join(' ')} ;;`;
  });
  return `#compdef luna-tray
# luna-tray zsh completion: source <(luna-tray completion zsh), or save as _luna-tray on $fpath
_luna_tray() {
  local -a commands
  commands=(
${cmds.join('\n')}
  )
  local curcontext="$curcontext" state line
  _arguments -C ${globals.join(' ')} '1:command:->command' '*::arg:->args'
  case $state in
    (command) _describe -t commands 'luna-tray command' commands ;;
    (args)
      case $line[1] in
${cases.map((l) => `    ${l}`).join('\n')}
      esac ;;
  esac
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then _luna_tray "$@"; else compdef _luna_tray luna-tray; fi
`;
}

const fq = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

function fishOption(cond: string, n: string, o: OptionSpec): string {
  const parts = [`complete -c luna-tray -n ${fq(cond)} -l ${n}`];
  if (o.short) parts.push(`-s ${o.short}`);
  if (o.type === 'string') {
    parts.push('-r');
    if (o.complete === 'file') parts.push('-F');
    else if (o.complete === 'dir') parts.push("-a '(__fish_complete_directories)'");
    else if (Array.isArray(o.complete)) parts.push(`-f -a ${fq(o.complete.join(' '))}`);
    else parts.push('-f');
  }
  parts.push(`-d ${fq(o.help)}`);
  return parts.join(' ');
}

export function fishCompletion(): string {
  const none = `not __fish_seen_subcommand_from ${names.join(' ')}`;
  const lines = [
    '# luna-tray fish completion: luna-tray completion fish | source',
    'complete -c luna-tray -f',
    ...Object.entries(GLOBAL_OPTIONS).map(([n, o]) => fishOption('true', n, o)),
    ...COMMANDS.map((c) => `complete -c luna-tray -n ${fq(none)} -a ${c.name} -d ${fq(c.summary)}`),
  ];
  for (const c of COMMANDS) {
    const cond = `__fish_seen_subcommand_from ${c.name}`;
    for (const [n, o] of Object.entries(c.options)) lines.push(fishOption(cond, n, o));
    const w = words(c);
    if (w.length) lines.push(`complete -c luna-tray -n ${fq(cond)} -a ${fq(w.join(' '))}`);
    else if (c.args?.includes('.json')) lines.push(`complete -c luna-tray -n ${fq(cond)} -F`);
  }
  return `${lines.join('\n')}\n`;
}

/** `luna-tray completion bash|zsh|fish`. */
export async function completionCommand(inv: Invocation): Promise<number> {
  const shell = inv.positionals[0];
  const script = shell === 'zsh' ? zshCompletion() : shell === 'fish' ? fishCompletion() : bashCompletion();
  inv.io.stdout.write(script);
  return EXIT.ok;
}
