/**
 * Text that comes from a ComfyUI server (node titles, error messages, tracebacks, progress text) is
 * shown in terminals, the panel and daemon.log: it goes through the same stripping as daemon output
 * (docs/comfyui.md "Peer text"), and single-line uses cannot carry a newline that would forge a log line.
 */
import { stripAnsi } from '../logs/strip-ansi.js';

/** Longest single line kept from a peer (an error message can be megabytes). */
const MAX_LINE = 4_000;

/** Peer text as one clean line: each line stripped of escapes and controls, joined by spaces. */
export function peerLine(text: string, max = MAX_LINE): string {
  const out = text
    .split(/\r\n|[\r\n\u2028\u2029\x85]/)
    .map((l) => stripAnsi(l).trim())
    .filter((l) => l.length > 0)
    .join(' ');
  return out.length > max ? `${out.slice(0, max)}…` : out;
}

/** Peer text as clean lines (tracebacks, multi-line messages), at most `maxLines` of them. */
export function peerLines(text: string, maxLines = 200): string[] {
  const lines = text.split(/\r\n|[\r\n\u2028\u2029\x85]/).map((l) => peerLine(l));
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.length > maxLines ? [...lines.slice(0, maxLines), '…'] : lines;
}

/** `peerLine` for optional values. */
export function peerLineOrNull(text: string | null | undefined): string | null {
  return typeof text === 'string' ? peerLine(text) : null;
}
