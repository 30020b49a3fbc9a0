/** Small pure formatters shared by the views. */

/** A duration as `1d 2h`, `3h 04m`, `5m 06s` or `7s`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const p = (n: number) => String(n).padStart(2, '0');
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${p(m)}m`;
  if (m > 0) return `${m}m ${p(sec)}s`;
  return `${sec}s`;
}

/** Bytes in binary units (`1.5 GiB`). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '?';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** Memory with one decimal (`3.2 GiB`): the daemon's "GB" figures are bytes / 1024³, so GiB is the honest unit, and the one used everywhere. */
export function formatGb(gb: number): string {
  return Number.isFinite(gb) ? `${gb.toFixed(1)} GiB` : '?';
}

/** `used / total` as a 0–100 percentage, clamped; 0 when total is not positive. */
export function percentOf(used: number, total: number): number {
  if (!(total > 0) || !Number.isFinite(used)) return 0;
  return Math.min(100, Math.max(0, (used / total) * 100));
}

/** Local date and time for "last exit at …". */
export function formatDateTime(ts: number): string {
  return new Date(ts).toLocaleString();
}
