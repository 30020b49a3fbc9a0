/**
 * Typed ComfyUI failures (docs/comfyui.md, "HTTP routes", "WebSocket"). Callers branch on `code`, never on
 * message text. Text that came from the server is cleaned (text.ts) before it enters a message.
 */
import { peerLine, peerLines } from './text.js';

/** Stable error codes of this module. */
export type ComfyErrorCode =
  | 'COMFY_VALIDATION'
  | 'COMFY_EXECUTION'
  | 'COMFY_INTERRUPTED'
  | 'COMFY_UNREACHABLE'
  | 'COMFY_HTTP'
  | 'COMFY_BAD_RESPONSE'
  | 'COMFY_WORKFLOW';

/** Base class of every error this module throws on purpose. */
export abstract class ComfyError extends Error {
  abstract readonly code: ComfyErrorCode;
}

/** One `{type, message, details, extra_info}` entry of a 400 reply. */
export interface ComfyErrorDetail {
  type: string;
  message: string;
  details: string;
  extra_info?: Record<string, unknown>;
}

/** `node_errors[id]` of a 400 (or partial 200) POST /prompt reply. */
export interface ComfyNodeError {
  errors: ComfyErrorDetail[];
  dependent_outputs: string[];
  class_type: string;
}

/** POST /prompt was refused (HTTP 400): `error` plus `node_errors` (docs/comfyui.md, "HTTP routes"). */
export class ComfyValidationError extends ComfyError {
  override readonly name = 'ComfyValidationError';
  readonly code = 'COMFY_VALIDATION' as const;
  constructor(
    readonly error: ComfyErrorDetail,
    readonly nodeErrors: Record<string, ComfyNodeError>,
    /** Optional `{nodeId: title}` so `format()` can name nodes by their title. */
    readonly titles: Record<string, string> = {},
  ) {
    super(`ComfyUI rejected the prompt: ${error.message}${error.details ? ` (${error.details})` : ''}`);
  }

  /** One entry per node input problem, peer text cleaned (what `--json` prints). */
  problems(): ComfyNodeProblem[] {
    const out: ComfyNodeProblem[] = [];
    for (const [id, ne] of Object.entries(this.nodeErrors)) {
      const title = this.titles[id];
      for (const e of Array.isArray(ne.errors) ? ne.errors : []) {
        const name = typeof e.extra_info?.['input_name'] === 'string' ? e.extra_info['input_name'] : null;
        // The server's `details` often just repeats the input name, or prefixes it ("cfg: …", "image - …").
        let detail = String(e.details ?? '');
        for (const sep of [': ', ', ', ' - '])
          if (name && detail.startsWith(`${name}${sep}`)) detail = detail.slice(name.length + sep.length);
        if (name && detail === name) detail = '';
        out.push({
          node: peerLine(id, 200),
          classType: peerLine(String(ne.class_type ?? ''), 200),
          title: title ? peerLine(title, 200) : null,
          input: name ? peerLine(name, 200) : null,
          type: peerLine(String(e.type ?? ''), 200),
          message: peerLine(String(e.message ?? '')),
          details: peerLine(detail),
        });
      }
    }
    return out;
  }

  /** Human-readable, one line per node input, e.g. `node 3 (KSampler) input "steps": Value 0 smaller than min of 1`. */
  format(): string {
    const lines = [`ComfyUI rejected the prompt: ${peerLine(this.error.message)}`];
    const problems = this.problems();
    if (problems.length === 0 && this.error.details)
      lines.push(...peerLines(this.error.details).map((l) => `  ${l}`));
    for (const p of problems) {
      const label = `node ${p.node} (${p.classType}${p.title && p.title !== p.classType ? `, "${p.title}"` : ''})`;
      const input = p.input ? ` input "${p.input}"` : '';
      lines.push(
        `  ${label}${input}: ${p.message}${p.details && !p.message.includes(p.details) ? ` (${p.details})` : ''}`,
      );
    }
    return lines.join('\n');
  }
}

/** One node-level validation problem, as `--json` reports it. */
export interface ComfyNodeProblem {
  node: string;
  classType: string;
  title: string | null;
  input: string | null;
  /** The server's error type, e.g. `value_smaller_than_min`, `return_type_mismatch`. */
  type: string;
  message: string;
  details: string;
}

/** The `execution_error` message fields (docs/comfyui.md, "WebSocket"). */
export interface ComfyExecutionErrorData {
  prompt_id: string;
  node_id: string | null;
  node_type: string | null;
  exception_type: string;
  exception_message: string;
  traceback: string[];
  executed?: string[];
}

/** A node raised while the prompt ran (an `execution_error`, e.g. `torch.OutOfMemoryError`). */
export class ComfyExecutionError extends ComfyError {
  override readonly name = 'ComfyExecutionError';
  readonly code = 'COMFY_EXECUTION' as const;
  readonly promptId: string;
  readonly nodeId: string | null;
  readonly nodeType: string | null;
  readonly exceptionType: string;
  readonly exceptionMessage: string;
  readonly traceback: string[];
  /** The node's title in the workflow, when known. */
  readonly nodeTitle: string | null;
  constructor(data: ComfyExecutionErrorData, nodeTitle: string | null = null) {
    const type = peerLine(data.exception_type || 'an error', 200);
    const lines = peerLines(data.exception_message).filter((l) => l !== '');
    const title = nodeTitle ? peerLine(nodeTitle, 200) : null;
    const cls = data.node_type ? peerLine(data.node_type, 200) : 'unknown type';
    const id = data.node_id ? peerLine(data.node_id, 200) : '?';
    const who = title && title !== cls ? `"${title}" (node ${id}, ${cls})` : `node ${id} (${cls})`;
    super(`${who} raised ${type}${lines[0] ? `: ${lines[0]}` : ''}`);
    this.nodeTitle = title;
    this.moreLines = lines.slice(1);
    this.promptId = data.prompt_id;
    this.nodeId = data.node_id;
    this.nodeType = data.node_type;
    this.exceptionType = data.exception_type;
    this.exceptionMessage = data.exception_message;
    this.traceback = data.traceback;
  }

  /** The exception message's lines after the first (cleaned). */
  readonly moreLines: string[];

  /** True for CUDA/torch out-of-memory failures. */
  get isOutOfMemory(): boolean {
    return /OutOfMemory|out of memory/i.test(`${this.exceptionType} ${this.exceptionMessage}`);
  }
}

/** The prompt was interrupted (by us, the user in the browser, or another client). */
export class ComfyInterruptedError extends ComfyError {
  override readonly name = 'ComfyInterruptedError';
  readonly code = 'COMFY_INTERRUPTED' as const;
  constructor(
    readonly promptId: string | null,
    readonly nodeId: string | null = null,
    message = `prompt ${promptId ?? '(not queued yet)'} was interrupted${nodeId ? ` at node ${nodeId}` : ''}`,
  ) {
    super(message);
  }
}

/** Why an instance could not be reached. */
export type UnreachableReason = 'refused' | 'timeout' | 'dns' | 'reset' | 'other';

/** Connection refused, DNS failure, reset, or no answer within the timeout. */
export class ComfyUnreachableError extends ComfyError {
  override readonly name = 'ComfyUnreachableError';
  readonly code = 'COMFY_UNREACHABLE' as const;
  constructor(
    readonly url: string,
    readonly reason: UnreachableReason,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${unreachableText(url, reason, detail)}`, options);
  }
}

function unreachableText(url: string, reason: UnreachableReason, detail: string): string {
  switch (reason) {
    case 'refused':
      return `ComfyUI is not reachable at ${url} (connection refused). Is it running? Start it (python main.py --port …), or check the URL (--instance on the command line, comfyui.instances in the settings).`;
    case 'timeout':
      return `ComfyUI at ${url} did not answer in time (${detail}). It may be busy or hung; check its console, or retry.`;
    case 'dns':
      return `Cannot resolve the host of ${url} (${detail}). Check the URL (--instance, or comfyui.instances in the settings).`;
    case 'reset':
      return `The connection to ComfyUI at ${url} was closed unexpectedly (${detail}). Check its console.`;
    default:
      return `Cannot talk to ComfyUI at ${url}: ${detail}`;
  }
}

/**
 * A non-2xx reply that is not a validation error (e.g. aiohttp's text/plain 500, docs/comfyui.md, "HTTP
 * routes").
 */
export class ComfyHttpError extends ComfyError {
  override readonly name = 'ComfyHttpError';
  readonly code = 'COMFY_HTTP' as const;
  constructor(
    readonly url: string,
    readonly status: number,
    /** The first 300 characters of the body. */
    readonly bodyExcerpt: string,
  ) {
    super(
      `ComfyUI answered HTTP ${status} for ${url}${bodyExcerpt ? `: ${bodyExcerpt.trim().split('\n').join(' ')}` : ''}`,
    );
  }
}

/** A 2xx reply whose body is not what the API promises (garbage, wrong JSON shape). */
export class ComfyBadResponseError extends ComfyError {
  override readonly name = 'ComfyBadResponseError';
  readonly code = 'COMFY_BAD_RESPONSE' as const;
  constructor(
    readonly url: string,
    detail: string,
    readonly bodyExcerpt: string,
  ) {
    super(
      `Unexpected reply from ${url}: ${detail}${bodyExcerpt ? ` (body starts: ${JSON.stringify(bodyExcerpt.slice(0, 80))})` : ''}`,
    );
  }
}

/** What kind of workflow problem: the user's arguments/files (`usage`) or the workflow vs this instance (`workflow`). */
export type WorkflowProblemKind = 'usage' | 'workflow';

/** The workflow cannot be converted or edited (unknown node type, bad --set, …). */
export class ComfyWorkflowError extends ComfyError {
  override readonly name = 'ComfyWorkflowError';
  readonly code = 'COMFY_WORKFLOW' as const;
  constructor(
    message: string,
    /** Every individual problem, one per line of `message`. */
    readonly problems: string[] = [message],
    readonly kind: WorkflowProblemKind = 'workflow',
  ) {
    super(message);
  }
}

/** First `n` characters of a body, for error messages. */
export function excerpt(body: string, n = 300): string {
  return body.length > n ? `${body.slice(0, n)}…` : body;
}
