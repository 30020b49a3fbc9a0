/**
 * `luna-tray run WORKFLOW.json [--instance URL] [--set NODE.INPUT=VALUE]... [--image PATH]... [--out DIR] [--json]`.
 * Progress goes to stderr (a redrawn bar on a TTY, periodic plain lines otherwise); stdout gets the
 * written files (or the result JSON with --json). Exit: 0 ok, 1 validation/execution error, 2 usage,
 * 4 ComfyUI unreachable, 130 interrupted (the table is in context.ts, README and --help).
 */
import { httpPathOf } from '../../shared/contract/http-routes.js';
import { normalizeBaseUrl } from '../../core/comfyui/client.js';
import { readWorkflowFile } from '../../core/comfyui/convert.js';
import { ApiClient, type ApiTarget } from '../api-client.js';
import {
  ComfyTooLargeError,
  DEFAULT_MAX_DOWNLOAD_BYTES,
  formatSize,
  parseSize,
} from '../../core/comfyui/client.js';
import { ComfyExecutionError, ComfyValidationError } from '../../core/comfyui/errors.js';
import { peerLine, peerLines } from '../../core/comfyui/text.js';
import { stringifyJson, type JsonObject, type JsonValue } from '../../core/comfyui/json.js';
import { runWorkflow, type RunProgress } from '../../core/comfyui/run-workflow.js';
import { exitCodeOf, parseWorkflowArgs, type CommandIo } from './convert.js';

/** Default instance when neither --instance nor LUNA_TRAY_COMFY_URL is given. */
export const DEFAULT_INSTANCE = 'http://127.0.0.1:8188';

/** Where `run` reports its progress besides the terminal (the running Luna Tray's panel). */
export type ProgressReporter = (instance: string, p: RunProgress) => void;

/**
 * A reporter that forwards step progress to the running Luna Tray (`comfy:report-progress`), at most
 * every 250 ms and on every node change: ComfyUI sends it only to us, the submitter
 * (docs/comfyui.md "Progress"). Silent, and off after the first refusal (e.g. Luna Tray not running).
 */
export function panelReporter(port: number, dataDir: string, target: ApiTarget = {}): ProgressReporter {
  let api: Promise<ApiClient> | null = null;
  let off = false;
  let last = 0;
  let lastNode: string | null = null;
  let inFlight = false;
  return (instance, p) => {
    if (off || inFlight || p.phase !== 'running' || !p.promptId) return;
    const now = Date.now();
    if (now - last < 250 && p.node === lastNode) return;
    last = now;
    lastNode = p.node;
    inFlight = true;
    api ??= ApiClient.create(port, dataDir, target);
    void api
      .then((c) =>
        c.call(
          'POST',
          httpPathOf('comfy:report-progress'),
          {
            url: normalizeBaseUrl(instance),
            promptId: p.promptId,
            node: p.node,
            nodeTitle: p.nodeTitle,
            value: p.step?.value ?? 0,
            max: p.step?.max ?? 0,
          },
          2_000,
        ),
      )
      .then(
        (r) => {
          if (r.status !== 200) off = true;
        },
        () => (off = true),
      )
      .finally(() => (inFlight = false));
  };
}

/** Run the run command; returns the exit code. */
export async function runCommand(
  argv: string[],
  io: CommandIo,
  opts: { report?: ProgressReporter } = {},
): Promise<number> {
  const args = parseWorkflowArgs<{
    instance?: string;
    set?: string[];
    image?: string[];
    out?: string;
    timeout?: string;
    'new-seed'?: boolean;
    'max-download'?: string;
  }>('run', argv, io);
  if (typeof args === 'number') return args;
  const { values } = args;
  const instance = values.instance ?? io.env['LUNA_TRAY_COMFY_URL'] ?? DEFAULT_INSTANCE;
  if (!/^https?:\/\/[^/]+/i.test(instance)) {
    io.stderr.write(
      `luna-tray run: --instance must be an http(s) URL such as ${DEFAULT_INSTANCE} (got ${JSON.stringify(instance)})\n`,
    );
    return 2;
  }
  const timeoutS = values.timeout === undefined ? 15 : Number(values.timeout);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) {
    io.stderr.write(
      `luna-tray run: --timeout must be a positive number of seconds (got ${JSON.stringify(values.timeout)})\n`,
    );
    return 2;
  }
  const maxDownload =
    values['max-download'] === undefined ? DEFAULT_MAX_DOWNLOAD_BYTES : parseSize(values['max-download']);
  if (maxDownload === null) {
    io.stderr.write(
      `luna-tray run: --max-download must be a size such as 512M, 2G or 1048576 (got ${JSON.stringify(values['max-download'])})\n`,
    );
    return 2;
  }
  const bar = createProgressRenderer(io);
  try {
    const workflow = await readWorkflowFile(args.workflow);
    const res = await runWorkflow({
      instance,
      workflow,
      sets: values.set ?? [],
      images: values.image ?? [],
      outDir: values.out ?? 'comfy-output',
      signal: io.signal,
      onProgress: (p) => {
        bar.update(p);
        opts.report?.(instance, p);
      },
      timeoutMs: timeoutS * 1000,
      newSeed: values['new-seed'] === true,
      maxDownloadBytes: maxDownload,
    });
    bar.done();
    for (const w of res.warnings) io.stderr.write(`warning: ${peerLine(w)}\n`);
    if (values.json) {
      io.stdout.write(
        `${stringifyJson({ ok: true, instance, promptId: res.promptId, outputs: res.outputs, textOutputs: res.textOutputs, seeds: res.seeds, timings: res.timings }, 2)}\n`,
      );
    } else {
      if (res.outputs.length === 0 && res.textOutputs.length === 0)
        io.stderr.write('The prompt finished but produced no output files.\n');
      for (const t of res.textOutputs)
        for (const v of t.values) io.stderr.write(`node ${t.node} ${t.key}: ${v.split('\n').join('\n  ')}\n`);
      for (const o of res.outputs) io.stdout.write(`${o.file}\n`);
      io.stderr.write(
        `Done in ${(res.timings.totalMs / 1000).toFixed(1)} s (prompt ${res.promptId} on ${instance}).\n`,
      );
    }
    return 0;
  } catch (e) {
    bar.done();
    const code = exitCodeOf(e);
    io.stderr.write(`${describeFailure(e)}\n`);
    if (values.json)
      io.stdout.write(`${stringifyJson({ ok: false, exitCode: code, error: jsonError(e) }, 2)}\n`);
    return code;
  }
}

/** The `error` object of `--json`: code and message, plus the node-level detail stderr shows. */
function jsonError(e: unknown): JsonObject {
  const err = e as { code?: string; message?: string };
  const out: JsonObject = {
    code: err.code ?? 'ERROR',
    message: peerLine(err.message ?? String(e)),
  };
  if (e instanceof ComfyValidationError) {
    out['type'] = peerLine(e.error.type, 200);
    out['nodeErrors'] = e.problems() as unknown as JsonValue[];
  }
  if (e instanceof ComfyExecutionError) {
    out['node'] = {
      id: e.nodeId === null ? null : peerLine(e.nodeId, 200),
      classType: e.nodeType === null ? null : peerLine(e.nodeType, 200),
      title: e.nodeTitle,
    };
    out['exceptionType'] = peerLine(e.exceptionType, 200);
    out['exceptionMessage'] = peerLines(e.exceptionMessage).join('\n');
  }
  if (e instanceof ComfyTooLargeError) out['limitBytes'] = e.limitBytes;
  return out;
}

function describeFailure(e: unknown): string {
  if (e instanceof ComfyValidationError) return e.format();
  if (e instanceof ComfyExecutionError) {
    const more = e.moreLines.map((l) => `  ${l}`).join('\n');
    const tb = e.traceback
      .slice(-6)
      .flatMap((l) => peerLines(l))
      .filter((l) => l.trim() !== '')
      .map((l) => `  ${l}`)
      .join('\n');
    return `ComfyUI could not finish the prompt: ${e.message}${more ? `\n${more}` : ''}${e.isOutOfMemory ? '\nOut of GPU memory: try fewer steps/smaller images, or Free VRAM (luna-tray free) and retry.' : ''}${tb ? `\n--- traceback (last lines) ---\n${tb}` : ''}`;
  }
  if (e instanceof ComfyTooLargeError && /file /.test(e.message))
    return `${peerLine(e.message)}. Raise the limit with --max-download SIZE (now ${formatSize(e.limitBytes)}).`;
  if (e instanceof Error && (e as { code?: string }).code === 'COMFY_INTERRUPTED')
    return `Interrupted: ${peerLine(e.message)}`;
  return peerLines(e instanceof Error ? e.message : String(e)).join('\n');
}

/** Progress on stderr: a redrawn single line on a TTY, a plain line every 2 s (or on node change) otherwise. */
function createProgressRenderer(io: CommandIo): { update: (p: RunProgress) => void; done: () => void } {
  const tty = io.stderr.isTTY === true;
  let last = 0;
  let lastNode: string | null = null;
  let lastKey = '';
  let drawn = false;
  const fmt = (ms: number | null): string => {
    if (ms === null || !Number.isFinite(ms)) return '--:--';
    const s = Math.max(0, Math.round(ms / 1000));
    return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
  };
  const line = (p: RunProgress): string => {
    const title = peerLine(p.nodeTitle ?? p.node ?? '', 80);
    const nodes = p.nodesTotal > 0 ? ` · nodes ${p.nodesDone}/${p.nodesTotal}` : '';
    const step = p.step ? ` step ${p.step.value}/${p.step.max}` : '';
    const pct = `${Math.round(p.percent)}%`.padStart(4);
    if (p.phase === 'queued') return `queued (${p.queueRemaining ?? '?'} in queue) · ${fmt(p.elapsedMs)}`;
    if (p.phase !== 'running') return `${p.phase === 'done' ? 'done' : `${p.phase}…`} · ${fmt(p.elapsedMs)}`;
    if (!tty) return `[${pct}] ${title}${step}${nodes} · elapsed ${fmt(p.elapsedMs)} · ETA ${fmt(p.etaMs)}`;
    const width = 24;
    const filled = Math.round((width * Math.min(100, p.percent)) / 100);
    return `${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${pct} ${title}${step}${nodes} · ${fmt(p.elapsedMs)} elapsed · ETA ${fmt(p.etaMs)}`;
  };
  return {
    update(p) {
      const now = Date.now();
      if (tty) {
        if (now - last < 80 && p.phase === 'running' && p.node === lastNode) return;
        io.stderr.write(`\r\x1b[2K${line(p)}`);
        drawn = true;
      } else {
        // A plain log: a line when something changed (phase, node, queue length), else every 2 s.
        const key = `${p.phase}|${p.node}|${p.queueRemaining}|${p.nodesDone}/${p.nodesTotal}`;
        if (key === lastKey && (p.phase !== 'running' || now - last < 2_000)) return;
        lastKey = key;
        io.stderr.write(`${line(p)}\n`);
      }
      last = now;
      lastNode = p.node;
    },
    done() {
      if (tty && drawn) io.stderr.write('\r\x1b[2K');
      drawn = false;
    },
  };
}
