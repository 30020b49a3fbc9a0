/** `luna-tray convert WORKFLOW.json (--instance URL | --object-info FILE)`: print the API-format JSON. */
import { parseArgs } from 'node:util';

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

const USAGE = 'usage: luna-tray convert WORKFLOW.json (--instance URL | --object-info FILE)';

/** Exit code for a ComfyUI failure: 2 usage, 3 unreachable, 130 interrupted, 1 otherwise. */
export function exitCodeOf(e: unknown): number {
  if (e instanceof ComfyWorkflowError) return e.kind === 'usage' ? 2 : 1;
  if (e instanceof ComfyUnreachableError) return 3;
  if (e instanceof ComfyError && e.code === 'COMFY_INTERRUPTED') return 130;
  return 1;
}

/** Run the convert command; returns the exit code (0 ok, 1 conversion failed, 2 usage, 3 unreachable). */
export async function convertCommand(argv: string[], io: CommandIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        instance: { type: 'string' },
        'object-info': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    io.stderr.write(`luna-tray convert: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) {
    io.stderr.write(
      `luna-tray convert: ${positionals.length === 0 ? 'missing WORKFLOW.json' : `one workflow at a time (got ${positionals.length})`}\n${USAGE}\n`,
    );
    return 2;
  }
  if (!values.instance && !values['object-info']) {
    io.stderr.write(
      `luna-tray convert: need --instance URL (a running ComfyUI to read /object_info from) or --object-info FILE (a saved object_info.json)\n${USAGE}\n`,
    );
    return 2;
  }
  if (values.instance && values['object-info']) {
    io.stderr.write(`luna-tray convert: give either --instance or --object-info, not both\n${USAGE}\n`);
    return 2;
  }
  let client: ComfyClient | null = null;
  try {
    const workflow = await readWorkflowFile(positionals[0]!);
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
