import type { LogEntry, LogLevel } from '../shared/log-entry.js';
import type { TrayColor } from '../shared/daemon-status.js';

/** Where a command writes, and whether colour is wanted. */
export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  color: boolean;
  signal: AbortSignal;
  env: NodeJS.ProcessEnv;
}

const CODES = { red: 31, green: 32, yellow: 33, gray: 90, bold: 1, dim: 2, cyan: 36 } as const;

export function paint(io: Io, style: keyof typeof CODES, text: string): string {
  return io.color ? `\x1b[${CODES[style]}m${text}\x1b[0m` : text;
}

export function dot(io: Io, color: TrayColor): string {
  return paint(io, color, '●');
}

const LEVEL_STYLE: Record<LogLevel, keyof typeof CODES> = {
  debug: 'gray',
  info: 'dim',
  warning: 'yellow',
  error: 'red',
  critical: 'red',
};

/**
 * One log entry for a terminal: `14:03:11 INFO    text`; with `tagged` (several daemons), the
 * daemon's id after the level: `14:03:11 INFO    clip  text`.
 */
export function formatEntry(io: Io, e: LogEntry, tagged = false): string {
  const time = new Date(e.ts).toTimeString().slice(0, 8);
  const level = e.level.toUpperCase().padEnd(8);
  const tag = tagged && e.daemon !== undefined ? `${paint(io, 'bold', e.daemon)}  ` : '';
  const src = e.source === 'supervisor' ? paint(io, 'cyan', '[tray] ') : '';
  return `${paint(io, 'gray', time)} ${paint(io, LEVEL_STYLE[e.level], level)} ${tag}${src}${e.text}`;
}

export function formatDuration(sec: number): string {
  const s = Math.floor(sec % 60);
  const m = Math.floor((sec / 60) % 60);
  const h = Math.floor(sec / 3600);
  return h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${s}s` : `${s}s`;
}
