/** `luna-tray convert WORKFLOW.json (--instance URL | --object-info FILE)`: print the API-format JSON. */
import { parseArgs, type ParseArgsConfig } from 'node:util';

import { toParseArgsOptions } from '../args.js';
import { EXIT } from '../context.js';
import { findCommand } from '../command-table.js';
import { synopsis } from '../help.js';

import { ComfyClient } from '../../core/comfyui/client.js';
import { convertWorkflow, readWorkflowFile } from '../../core/comfyui/convert.js';
import { ComfyError, ComfyUnreachableError, ComfyWorkflowError } from '../../core/comfyui/errors.js';
import { stringifyJson } from '../../core/comfyui/json.js';
import { getObjectInfo, loadObjectInfoFile } from '../../core/comfyui/object-info.js';

/** The IO a command function needs (a subset of the CLI's Io). */
export interface CommandIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  signal: AbortSignal;
  env: NodeJS.ProcessEnv;
}

/** parseArgs' option table for a command of the CLI's table, plus `--json` and `-h/--help`. */
function optionsOf(command: 'run' | 'convert'): NonNullable<ParseArgsConfig['options']> {
  return {
    ...toParseArgsOptions(findCommand(command)!),
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  };
}

/** The usage line of a command, from the CLI's table. */
export function usageOf(command: 'run' | 'convert'): string {
  return `usage: luna-tray ${synopsis(findCommand(command)!)}`;
}

/**
 * The shared preamble of the workflow commands: parse `argv` with the command's options from the
 * CLI's table, print parse errors with the usage, and require exactly one WORKFLOW.json. `V` is
 * the shape of those options' values. Returns the values and the workflow path, or the exit code
 * to return (0 after --help, 2 on a usage error).
 */
export function parseWorkflowArgs<V extends object>(
  command: 'run' | 'convert',
  argv: string[],
  io: CommandIo,
): { values: V & { json?: boolean }; workflow: string } | number {
  const usage = usageOf(command);
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: optionsOf(command) });
  } catch (e) {
    io.stderr.write(`luna-tray ${command}: ${(e as Error).message}\n${usage}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(`${usage}\n`);
    return 0;
  }
  if (positionals.length !== 1) {
    io.stderr.write(
      `luna-tray ${command}: ${positionals.length === 0 ? 'missing WORKFLOW.json' : `one workflow at a time (got ${positionals.length})`}\n${usage}\n`,
    );
    return 2;
  }
  return { values: values as V & { json?: boolean }, workflow: positionals[0]! };
}

/** Exit code for a ComfyUI failure (the table of context.ts): usage, ComfyUI unreachable, interrupted, failed. */
export function exitCodeOf(e: unknown): number {
  if (e instanceof ComfyWorkflowError) return e.kind === 'usage' ? EXIT.usage : EXIT.failed;
  if (e instanceof ComfyUnreachableError) return EXIT.comfyUnreachable;
  if (e instanceof ComfyError && e.code === 'COMFY_INTERRUPTED') return EXIT.interrupted;
  return EXIT.failed;
}

/** Run the convert command; returns the exit code (0 ok, 1 conversion failed, 2 usage, 4 ComfyUI unreachable). */
export async function convertCommand(argv: string[], io: CommandIo): Promise<number> {
  const args = parseWorkflowArgs<{ instance?: string; 'object-info'?: string }>('convert', argv, io);
  if (typeof args === 'number') return args;
  const { values } = args;
  if (!values.instance && !values['object-info']) {
    io.stderr.write(
      `luna-tray convert: need --instance URL (a running ComfyUI to read /object_info from) or --object-info FILE (a saved object_info.json)\n${usageOf('convert')}\n`,
    );
    return 2;
  }
  if (values.instance && values['object-info']) {
    io.stderr.write(
      `luna-tray convert: give either --instance or --object-info, not both\n${usageOf('convert')}\n`,
    );
    return 2;
  }
  let client: ComfyClient | null = null;
  try {
    const workflow = await readWorkflowFile(args.workflow);
    let info;
    if (values['object-info']) info = await loadObjectInfoFile(values['object-info']);
    else {
      client = new ComfyClient(values.instance!);
      info = await getObjectInfo(client, io.signal);
    }
    const res = convertWorkflow(workflow, info);
    for (const w of res.warnings) io.stderr.write(`warning: ${w}\n`);
    if (res.format === 'api')
      io.stderr.write('note: the input is already in API format; printed unchanged\n');
    io.stdout.write(`${stringifyJson(res.prompt, 2)}\n`);
    return 0;
  } catch (e) {
    io.stderr.write(`luna-tray convert: ${e instanceof Error ? e.message : String(e)}\n`);
    return exitCodeOf(e);
  } finally {
    await client?.close();
  }
}
