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
  /**
   * The lines returned by the last `push`/`flush` as one string, each followed by `\n` (`''` when
   * there were none): what the daemon log file gets, verbatim. When no line of the chunk was altered
   * (stripped, truncated) it is built from the decoded chunk itself, without a per-line join.
   */
  joinedLines(): string;
}

/**
 * Every character the (per-line) strip removes: C0 controls except TAB and LF (CR is already turned
 * into LF), DEL and the C1 range.
 */
// eslint-disable-next-line no-control-regex
const NEEDS_STRIP_RE = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

/**
 * Whether a decoded chunk needs the (per-line) control-character strip. It used to look only for
 * the common escape starters with `indexOf` (ESC, the 8-bit CSI, NUL, BEL, BS, VT, FF, DEL), which
 * let other controls through when alone in a chunk, among them the C1 string introducers
 * (U+009D OSC … U+009C ST: a clipboard-writing OSC 52 for terminals that honour C1) and SO/SI.
 * One regex scan costs more than those `indexOf`s (~55 µs instead of ~6 µs per 64 KiB of clean text,
 * against ~250 µs for the whole capture path) but is complete.
 */
function chunkNeedsStrip(text: string): boolean {
  return NEEDS_STRIP_RE.test(text);
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
  // What `joinedLines()` needs about the last push: its lines, and when lines 1… are unaltered
  // slices of the decoded text, that text and the range [lastFrom, lastTo) holding them.
  let lastLines: readonly string[] = NO_LINES;
  let lastSource = '';
  let lastFrom = -1;
  let lastTo = -1;

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
    lastLines = NO_LINES;
    lastFrom = -1;
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
    let unaltered = !chunkHasControls;
    if (chunkHasControls) {
      for (let i = 1; i < last; i++) parts[i] = finishLine(parts[i]!, 0, true);
    } else {
      for (let i = 1; i < last; i++) {
        if (parts[i]!.length > max) {
          parts[i] = finishLine(parts[i]!, 0, false);
          unaltered = false;
        }
      }
    }
    if (unaltered) {
      lastSource = text;
      lastFrom = firstNl;
      lastTo = text.length - parts[last]!.length;
    }
    tail = '';
    tailDropped = 0;
    tailHasControls = chunkHasControls;
    addToTail(parts[last]!);
    parts.length = last;
    lastLines = parts;
    return parts;
  }

  function joinedLines(): string {
    if (lastLines.length === 0) return '';
    // Lines 1… are the decoded text between the first and the last line end: one slice, no join.
    if (lastFrom !== -1) return lastLines[0]! + lastSource.slice(lastFrom, lastTo);
    return lastLines.join('\n') + '\n';
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
    lastLines = out;
    lastFrom = -1;
    return out;
  }

  return { push, flush, joinedLines };
}
