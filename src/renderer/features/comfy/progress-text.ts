import type { ComfyInstance } from '../../../shared/comfy-instance.js';
import { formatDateTime, formatDuration, percentOf } from '../../lib/format.js';

type Progress = NonNullable<ComfyInstance['progress']>;
type LastError = NonNullable<ComfyInstance['lastError']>;

/** What the panel says about a running prompt: a bar when step progress reaches us, else plain words. */
export interface ProgressText {
  /** The node (title, else id), or "prompt" when unknown. */
  label: string;
  /** `step 7 / 20 · 35% · 12s`, or `running · 12s elapsed`. */
  caption: string;
  /** Show a bar (`value / max`) only when the steps are known. */
  bar: { value: number; max: number } | null;
  /** Why there are no step figures, or null. */
  note: string | null;
}

/**
 * ComfyUI sends step progress only to the client that queued the prompt (docs/comfyui.md), so for
 * other clients' prompts the panel shows what is known — running, the elapsed time, the node when it
 * is known — and says where the step progress went, instead of a misleading `0 / 0`.
 */
export function progressText(p: Progress, now: number): ProgressText {
  const node = p.nodeTitle ?? p.node;
  const elapsed = formatDuration(now - p.startedAt);
  if (p.stepsVisible && p.max > 0) {
    return {
      label: node ?? 'prompt',
      caption: `step ${p.value} / ${p.max} · ${Math.round(percentOf(p.value, p.max))}% · ${elapsed}`,
      bar: { value: p.value, max: p.max },
      note: null,
    };
  }
  return {
    label: node ?? 'prompt',
    caption: `running · ${elapsed} elapsed`,
    bar: null,
    note: p.stepsVisible
      ? null
      : 'Step progress goes only to the client that queued this prompt (e.g. the browser).',
  };
}

/** "Last error at 14:02:11 in KSampler: torch.OutOfMemoryError: …". */
export function lastErrorText(e: LastError): string {
  return `Last error at ${formatDateTime(e.at)}${e.nodeType ? ` in ${e.nodeType}` : ''}: ${
    e.exceptionType ? `${e.exceptionType}: ` : ''
  }${e.message}`;
}
