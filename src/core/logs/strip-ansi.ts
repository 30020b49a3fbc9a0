/**
 * Removing terminal escape sequences and control characters from daemon output before it is parsed
 * and shown (docs/architecture.md §13). Python's logging never colours its output, but tqdm progress bars,
 * coloured third-party loggers and stray `print`s of control bytes do reach the pipes.
 */

/**
 * One pass over everything we drop, most specific first:
 * - CSI (`ESC [` … final byte, and the 8-bit form U+009B);
 * - OSC (`ESC ]` … BEL or ST, or unterminated up to the end of the line);
 * - DCS / SOS / PM / APC strings (`ESC P|X|^|_` … ST, or unterminated);
 * - any other two- or three-byte escape (`ESC (B`, `ESC =`, `ESC 7`);
 * - every remaining C0 control except TAB, DEL, and the C1 range;
 * - the bidirectional embedding, override and isolate controls (U+202A–U+202E, U+2066–U+2069):
 *   they reorder what is displayed after them ("Trojan Source"), so a hostile daemon or ComfyUI
 *   line could make the panel or a terminal show text other than what was logged.
 */
const ESCAPES_RE =
  // eslint-disable-next-line no-control-regex
  /\x1b\[[0-?]*[ -/]*[@-~]|\x9b[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\|$)|\x1b[PX^_][^\x1b]*(?:\x1b\\|$)|\x1b[ -/]*[0-~]|[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

/** True when `text` contains anything {@link stripAnsi} would remove (TAB does not count). */
// eslint-disable-next-line no-control-regex
export const CONTROL_CHAR_RE = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

/** Strip ANSI escape sequences (CSI, OSC, DCS, …) and control characters other than TAB. */
export function stripAnsi(text: string): string {
  // Fast path: clean text (the common case) is returned as is, without running the replace.
  if (!CONTROL_CHAR_RE.test(text)) return text;
  return text.replace(ESCAPES_RE, '');
}
