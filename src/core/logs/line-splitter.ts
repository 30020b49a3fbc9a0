import { isAscii, isUtf8 } from 'node:buffer';
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

/** Receives each completed line as the span `str[start, end)` (no line break inside). */
export interface LineSink {
  line(str: string, start: number, end: number, ts: number): void;
}

/** Turns a byte stream into complete text lines; see {@link createLineSplitter}. */
export interface LineSplitter {
  /** Feed one chunk; returns the lines it completed (possibly none). Never throws on bad bytes. */
  push(chunk: Buffer | Uint8Array | string): readonly string[];
  /**
   * Feed one chunk and hand each completed line to `sink` as a span of the decoded chunk (the
   * capture hot path: no string per line); `ts` is passed through. Returns the number of lines.
   */
  pushTo(chunk: Buffer | Uint8Array | string, sink: LineSink, ts: number): number;
  /**
   * {@link pushTo} in two steps, so a big chunk's lines can be handed out over several event-loop
   * turns: `feed` decodes and splits the chunk (the file parts are ready at once) and returns its
   * line count; `drainTo` hands out at most `maxLines` of them. `feed` throws while lines remain.
   */
  feed(chunk: Buffer | Uint8Array | string): number;
  /** Hand out up to `maxLines` lines of the last {@link feed}; returns how many. */
  drainTo(sink: LineSink, ts: number, maxLines: number): number;
  /** Lines of the last {@link feed} not handed out yet. */
  readonly pendingLines: number;
  /**
   * The chunk's bytes when `str` is the decoded text of one of the last two chunks fed and they are
   * pure ASCII (so text offsets are byte offsets), else null. A span of those bytes can be kept
   * instead of a span of the string: a Buffer's memory lives outside V8's heap and costs the garbage
   * collector nothing to keep, where a kept 64 KiB string is copied when it survives.
   */
  asciiBytesOf(str: string): Buffer | null;
  /** End of stream: returns the partial last line (if any) as a complete line, and resets. */
  flush(): string[];
  /** {@link flush} into a sink; returns the number of lines. */
  flushTo(sink: LineSink, ts: number): number;
  /**
   * The lines of the last `push`/`pushTo`/`flush` as one string, each followed by `\n` (`''` when
   * there were none): what the daemon log file gets, verbatim. When no line of the chunk was altered
   * (stripped, truncated) it is one slice of the decoded chunk, without a per-line join.
   */
  joinedLines(): string;
  /**
   * The same content as {@link joinedLines}, as parts to write in order. When the chunk's lines are
   * unaltered, valid UTF-8 bytes, the bulk is the chunk's own bytes (a `subarray`, no copy), so the
   * file costs no string building or encoding.
   */
  joinedParts(): (string | Uint8Array)[];
}

/**
 * Every character the (per-line) strip removes: C0 controls except TAB and LF (CR is already turned
 * into LF), DEL, the C1 range and the bidi controls (see `strip-ansi.ts`).
 */
// eslint-disable-next-line no-control-regex
const NEEDS_STRIP_RE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

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

/** The bytes of every C0 control {@link NEEDS_STRIP_RE} matches (all but TAB and LF), and DEL. */
const CONTROL_BYTES: readonly number[] = [
  ...Array.from({ length: 0x20 }, (_, b) => b).filter((b) => b !== 0x09 && b !== 0x0a),
  0x7f,
];

/**
 * {@link chunkNeedsStrip} on the chunk's UTF-8 bytes, exactly (a test checks both agree): one native
 * `indexOf` (memchr) per control byte, the C1 range U+0080–U+009F, which UTF-8 encodes as 0xC2
 * followed by 0x80–0x9F, and the bidi controls (0xE2 sequences). About 30 µs per 64 KiB where the regex on the decoded text takes ~55 µs.
 * Only for a chunk that starts on a character boundary (its text owes nothing to the previous one).
 */
export function bytesNeedStrip(bytes: Buffer): boolean {
  for (let i = 0; i < CONTROL_BYTES.length; i++) {
    if (bytes.indexOf(CONTROL_BYTES[i]!) !== -1) return true;
  }
  for (let at = bytes.indexOf(0xc2); at !== -1; at = bytes.indexOf(0xc2, at + 1)) {
    const next = bytes[at + 1];
    if (next !== undefined && next >= 0x80 && next <= 0x9f) return true;
  }
  // Bidi controls: U+202A–U+202E are E2 80 AA–AE, U+2066–U+2069 are E2 81 A6–A9.
  for (let at = bytes.indexOf(0xe2); at !== -1; at = bytes.indexOf(0xe2, at + 1)) {
    const b1 = bytes[at + 1];
    const b2 = bytes[at + 2] ?? 0;
    if ((b1 === 0x80 && b2 >= 0xaa && b2 <= 0xae) || (b1 === 0x81 && b2 >= 0xa6 && b2 <= 0xa9)) return true;
  }
  return false;
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
  /** Offsets of the line ends (`\n`) of the chunk being pushed; reused across pushes. */
  let ends = new Int32Array(1024);
  // What `joinedLines()` needs about the last push: either the lines completed before the chunk's
  // first line end plus the range [lastFrom, lastTo) of `lastSource` holding the others unaltered,
  // or (lastFrom === -1) every line as a string in `lastLines`.
  let lastFirst = '';
  let lastLines: string[] = [];
  let lastSource = '';
  let lastFrom = -1;
  let lastTo = -1;
  let lastCount = 0;
  /** The bytes of the chunk holding what `lastSource.slice(lastFrom, lastTo)` decodes to, or null. */
  let lastBytes: Uint8Array | null = null;

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

  function resetLast(): void {
    lastCount = 0;
    lastFrom = -1;
    lastFirst = '';
    if (lastLines.length !== 0) lastLines = [];
    lastSource = '';
    lastBytes = null;
  }

  // The lines of the last `feed`, handed out by `drainTo`: spans of `readyText` (fast path: the
  // first line may be `readyFirst`, completed from the partial line) or strings of `readyLines`.
  let readyText = '';
  let readyFirst: string | null = null;
  let readyLines: string[] | null = null;
  let readyCount = 0;
  let readyNext = 0;
  // The decoded text and the bytes of the last two pure-ASCII chunks (see `asciiBytesOf`).
  let asciiText: string | null = null;
  let asciiBytes: Buffer | null = null;
  let prevAsciiText: string | null = null;
  let prevAsciiBytes: Buffer | null = null;

  function feed(chunk: Buffer | Uint8Array | string): number {
    if (readyNext < readyCount) {
      throw new Error('LineSplitter.feed: the previous chunk still has lines to hand out (drainTo)');
    }
    resetLast();
    readyCount = 0;
    readyNext = 0;
    readyLines = null;
    readyFirst = null;
    let text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
    if (text.length === 0) return 0;
    let skipped = false;
    if (skipLeadingLf) {
      skipLeadingLf = false;
      if (text.charCodeAt(0) === 10) {
        text = text.slice(1);
        skipped = true;
        if (text.length === 0) return 0;
      }
    }
    const decoded = text;
    if (text.indexOf('\r') !== -1) {
      if (text.charCodeAt(text.length - 1) === 13) skipLeadingLf = true;
      text = text.replace(/\r\n?/g, '\n');
    }
    // On the raw bytes when they map 1:1 to `text` (no CR rewrite, no character continued from the
    // previous chunk: a first byte of 0x80–0xBF); a C2 at the very end is held back by the decoder
    // and checked with the next chunk's text.
    const chunkHasControls =
      shouldStrip &&
      (Buffer.isBuffer(chunk) && text === decoded && !(chunk[0]! >= 0x80 && chunk[0]! <= 0xbf)
        ? bytesNeedStrip(chunk)
        : chunkNeedsStrip(text));
    // Pass 1: the line ends (a native indexOf per line), and whether a line is over the cap.
    let n = 0;
    let overlong = false;
    let prev = -1;
    for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) {
      if (n === ends.length) {
        const grown = new Int32Array(ends.length * 2);
        grown.set(ends);
        ends = grown;
      }
      ends[n++] = at;
      if (at - prev - 1 > max) overlong = true;
      prev = at;
    }
    if (n === 0) {
      addToTail(text);
      tailHasControls ||= chunkHasControls;
      return 0;
    }
    const firstNl = ends[0]!;
    const lastNl = ends[n - 1]!;
    // The first line completes the partial line carried over from earlier chunks.
    let first: string | null = null;
    if (tail.length > 0 || tailDropped > 0) {
      addToTail(text.slice(0, firstNl));
      first = finishLine(tail, tailDropped, tailHasControls || chunkHasControls);
    }
    prevAsciiText = asciiText;
    prevAsciiBytes = asciiBytes;
    asciiText = null;
    asciiBytes = null;
    if (!chunkHasControls && !overlong) {
      // Fast path: every line is an unaltered span of `text`.
      readyText = text;
      if (
        Buffer.isBuffer(chunk) &&
        !skipped &&
        text === decoded &&
        text.length === chunk.length &&
        isAscii(chunk)
      ) {
        asciiText = text;
        asciiBytes = chunk;
      }
      readyFirst = first;
      lastFirst = first !== null ? first + '\n' : text.slice(0, firstNl + 1);
      lastSource = text;
      lastFrom = firstNl + 1;
      lastTo = lastNl + 1;
      if (typeof chunk !== 'string' && text === decoded && lastTo > lastFrom) {
        // The same range in the chunk's bytes: a line end is the single byte 10 in UTF-8, and the
        // bytes before the chunk's first one (a character completed from the previous chunk, a
        // skipped LF) belong to the first line. Invalid UTF-8 keeps the text path (U+FFFD).
        const from = chunk.indexOf(10, skipped ? 1 : 0) + 1;
        const to = chunk.lastIndexOf(10) + 1;
        const bytes = chunk.subarray(from, to);
        if (from > 0 && to > from && isUtf8(bytes)) lastBytes = bytes;
      }
    } else {
      // Slow path: lines are stripped and/or truncated into strings of their own.
      const lines: string[] = new Array<string>(n);
      lines[0] = first ?? finishLine(text.slice(0, firstNl), 0, chunkHasControls);
      for (let i = 1; i < n; i++) {
        const line = text.slice(ends[i - 1]! + 1, ends[i]);
        lines[i] = chunkHasControls || line.length > max ? finishLine(line, 0, chunkHasControls) : line;
      }
      readyLines = lines;
      lastLines = lines;
    }
    readyCount = n;
    lastCount = n;
    tail = '';
    tailDropped = 0;
    tailHasControls = chunkHasControls;
    addToTail(text.slice(lastNl + 1));
    return n;
  }

  function drainTo(sink: LineSink, ts: number, maxLines: number): number {
    const stop = Math.min(readyCount, readyNext + maxLines);
    const start = readyNext;
    let i = start;
    if (readyLines !== null) {
      for (; i < stop; i++) sink.line(readyLines[i]!, 0, readyLines[i]!.length, ts);
    } else {
      const text = readyText;
      if (i === 0 && i < stop) {
        if (readyFirst !== null) sink.line(readyFirst, 0, readyFirst.length, ts);
        else sink.line(text, 0, ends[0]!, ts);
        i = 1;
      }
      for (; i < stop; i++) sink.line(text, ends[i - 1]! + 1, ends[i]!, ts);
    }
    readyNext = stop;
    if (stop === readyCount) {
      // Everything handed out: drop the references (the store holds what it needs).
      readyText = '';
      readyFirst = null;
      readyLines = null;
    }
    return stop - start;
  }

  function pushTo(chunk: Buffer | Uint8Array | string, sink: LineSink, ts: number): number {
    feed(chunk);
    return drainTo(sink, ts, Infinity);
  }

  function joinedParts(): (string | Uint8Array)[] {
    if (lastBytes !== null) return [lastFirst, lastBytes];
    return [joinedLines()];
  }

  function joinedLines(): string {
    if (lastCount === 0) return '';
    if (lastFrom !== -1) return lastFirst + lastSource.slice(lastFrom, lastTo);
    return lastLines.join('\n') + '\n';
  }

  function flushTo(sink: LineSink, ts: number): number {
    const rest = decoder.end();
    decoder = new StringDecoder('utf8');
    // Collect everything as strings: a flush is rare and `joinedLines()` must cover all of it.
    const out: string[] = [];
    const collect: LineSink = { line: (str, a, b) => out.push(str.slice(a, b)) };
    if (rest.length > 0) pushTo(rest, collect, ts);
    skipLeadingLf = false;
    if (tail.length > 0 || tailDropped > 0) out.push(finishLine(tail, tailDropped, tailHasControls));
    tail = '';
    tailDropped = 0;
    tailHasControls = false;
    resetLast();
    lastLines = out;
    lastCount = out.length;
    for (const line of out) sink.line(line, 0, line.length, ts);
    return out.length;
  }

  /** Collects lines as strings, for the line-array interface. */
  let collected: string[] = [];
  const collector: LineSink = {
    line(str, a, b) {
      collected.push(a === 0 && b === str.length ? str : str.slice(a, b));
    },
  };

  return {
    push(chunk) {
      collected = [];
      return pushTo(chunk, collector, 0) === 0 ? NO_LINES : collected;
    },
    pushTo,
    feed,
    drainTo,
    get pendingLines() {
      return readyCount - readyNext;
    },
    asciiBytesOf(str) {
      if (str === asciiText) return asciiBytes;
      return str === prevAsciiText ? prevAsciiBytes : null;
    },
    flush() {
      collected = [];
      flushTo(collector, 0);
      return collected;
    },
    flushTo,
    joinedLines,
    joinedParts,
  };
}
