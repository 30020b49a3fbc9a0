import { StringDecoder } from 'node:string_decoder';

import { stripAnsi } from './strip-ansi.js';

/** Default line cap, mirroring the `logs.maxLineLength` setting's default (16 KiB). */
export const DEFAULT_MAX_LINE_LENGTH = 16 * 1024;

/** Options of {@link createLineSplitter}. */
export interface LineSplitterOptions {
  /** Longer lines keep their first `maxLineLength` characters plus a truncation marker. */
  maxLineLength?: number;
  /** Strip ANSI escapes and control characters from each complete line (see `strip-ansi.ts`). */
  stripAnsi?: boolean;
}

/** Turns a byte stream into complete text lines; see {@link createLineSplitter}. */
export interface LineSplitter {
  /** Feed one chunk; returns the lines it completed (possibly none). Never throws on bad bytes. */
  push(chunk: Buffer | Uint8Array | string): readonly string[];
  /** End of stream: returns the partial last line (if any) as a complete line, and resets. */
  flush(): string[];
}

/**
 * Whether a decoded chunk needs the (per-line) control-character strip. A regex scan of every chunk
 * costs about as much as the rest of the splitting, so this gate looks only for the characters
 * that occur in practice, with `indexOf` (about 100× faster than a character-class regex): ESC
 * (every ANSI sequence), the 8-bit CSI, NUL, BEL, BS, VT, FF and DEL. A chunk with any of them has
 * ALL its lines stripped of every C0/C1 control; other controls alone (SO/SI, …) pass through.
 */
function chunkNeedsStrip(text: string): boolean {
  return (
    text.indexOf('\x1b') !== -1 ||
    text.indexOf('\x9b') !== -1 ||
    text.indexOf('\x00') !== -1 ||
    text.indexOf('\x07') !== -1 ||
    text.indexOf('\x08') !== -1 ||
    text.indexOf('\x0b') !== -1 ||
    text.indexOf('\x0c') !== -1 ||
    text.indexOf('\x7f') !== -1
  );
}
const NO_LINES: readonly string[] = Object.freeze([]);

/** The marker appended to a truncated line. */
export function truncationMarker(droppedBytes: number): string {
  return ` … [truncated ${droppedBytes} bytes]`;
}

/**
 * Create a line splitter for one stream.
 *
 * - Line ends: `\n`, `\r\n`, and a lone `\r`. A lone `\r` (progress bars: tqdm redraws its bar
 *   with `\r`) ENDS a line rather than overwriting it, so progress stays visible live and nothing
 *   the daemon wrote is silently replaced; a `\r\n` split across two chunks is still one line end.
 *   Empty lines are returned as empty strings (the record assembler decides what to do with them).
 * - UTF-8 is decoded with a `StringDecoder`, so a character split between chunks is reassembled and
 *   invalid bytes become U+FFFD; nothing here throws.
 * - Overlong lines keep the first `maxLineLength` UTF-16 code units and get
 *   `" … [truncated N bytes]"` (N = dropped UTF-8 bytes). Once a partial line is over the cap,
 *   further chunks of it are only COUNTED, never concatenated, so a 10 MB line costs about one chunk
 *   of memory, not 10 MB of growing strings.
 */
export function createLineSplitter(options: LineSplitterOptions = {}): LineSplitter {
  const max = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
  if (!Number.isInteger(max) || max < 1) {
    throw new RangeError(`maxLineLength must be a positive integer, got ${String(max)}`);
  }
  const shouldStrip = options.stripAnsi ?? false;
  let decoder = new StringDecoder('utf8');
  /** The partial line so far (at most `max` code units once truncation started). */
  let tail = '';
  /** UTF-8 bytes of the current partial line already dropped (> 0 means "truncating"). */
  let tailDropped = 0;
  /** The previous chunk ended in `\r`: a `\n` at the start of the next one is the same line end. */
  let skipLeadingLf = false;
  /** The partial line contains control characters (it came from an earlier chunk). */
  let tailHasControls = false;

  function finishLine(line: string, dropped: number, hasControls: boolean): string {
    let out = line;
    let extra = dropped;
    if (out.length > max) {
      let cut = max;
      // Do not split a surrogate pair: keep the cut on a code point boundary.
      const code = out.charCodeAt(cut - 1);
      if (code >= 0xd800 && code <= 0xdbff) cut -= 1;
      extra += Buffer.byteLength(out) - Buffer.byteLength(out.slice(0, cut));
      out = out.slice(0, cut);
    }
    if (hasControls) out = stripAnsi(out);
    return extra > 0 ? out + truncationMarker(extra) : out;
  }

  /** Append a segment to the partial line, switching to counting once it is over the cap. */
  function addToTail(segment: string): void {
    if (segment.length === 0) return;
    if (tailDropped > 0) {
      tailDropped += Buffer.byteLength(segment);
      return;
    }
    const joined = tail + segment;
    if (joined.length <= max) {
      tail = joined;
      return;
    }
    let cut = max;
    const code = joined.charCodeAt(cut - 1);
    if (code >= 0xd800 && code <= 0xdbff) cut -= 1;
    tail = joined.slice(0, cut);
    tailDropped = Buffer.byteLength(joined) - Buffer.byteLength(tail);
  }

  function push(chunk: Buffer | Uint8Array | string): readonly string[] {
    let text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
    if (text.length === 0) return NO_LINES;
    if (skipLeadingLf) {
      skipLeadingLf = false;
      if (text.charCodeAt(0) === 10) {
        text = text.slice(1);
        if (text.length === 0) return NO_LINES;
      }
    }
    if (text.indexOf('\r') !== -1) {
      if (text.charCodeAt(text.length - 1) === 13) skipLeadingLf = true;
      text = text.replace(/\r\n?/g, '\n');
    }
    const chunkHasControls = shouldStrip && chunkNeedsStrip(text);
    const firstNl = text.indexOf('\n');
    if (firstNl === -1) {
      addToTail(text);
      tailHasControls ||= chunkHasControls;
      return NO_LINES;
    }
    const parts = text.split('\n');
    const last = parts.length - 1;
    // The first part completes the partial line carried over from earlier chunks.
    const first = parts[0]!;
    if (tail.length > 0 || tailDropped > 0) {
      addToTail(first);
      parts[0] = finishLine(tail, tailDropped, tailHasControls || chunkHasControls);
    } else if (first.length > max || chunkHasControls) {
      parts[0] = finishLine(first, 0, chunkHasControls);
    }
    if (chunkHasControls) {
      for (let i = 1; i < last; i++) parts[i] = finishLine(parts[i]!, 0, true);
    } else {
      for (let i = 1; i < last; i++) {
        if (parts[i]!.length > max) parts[i] = finishLine(parts[i]!, 0, false);
      }
    }
    tail = '';
    tailDropped = 0;
    tailHasControls = chunkHasControls;
    addToTail(parts[last]!);
    parts.length = last;
    return parts;
  }

  function flush(): string[] {
    const rest = decoder.end();
    decoder = new StringDecoder('utf8');
    const out = rest.length > 0 ? [...push(rest)] : [];
    skipLeadingLf = false;
    if (tail.length > 0 || tailDropped > 0) {
      out.push(finishLine(tail, tailDropped, tailHasControls));
    }
    tail = '';
    tailDropped = 0;
    tailHasControls = false;
    return out;
  }

  return { push, flush };
}
