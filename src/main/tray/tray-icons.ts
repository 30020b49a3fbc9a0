// Status → tray icon file and tooltip text (docs/architecture.md §10: four colours, gray/yellow/green/red).
//
// Platform choice: Windows uses a coloured .ico holding 16/20/24/32 px (its tray asks for 16 × the
// display scale: 125 % wants 20 px, which a 16 px PNG + @2x would blur); Linux the 32 px (+ @2x) dot. macOS ALSO uses the coloured dot, not a template image: template images are monochrome
// (macOS recolours them for light/dark menu bars), and the colour IS the information here. The
// shape-coded `tray-<color>Template.png` variants are generated and packaged for a future
// "monochrome menu bar icon" option; `trayIconFile(..., { template: true })` selects them.
import { join } from 'node:path';

import type { ComfyInstance, LocalGpu } from '../../shared/comfy-instance.js';
import { colorOf, type TrayColor } from '../../shared/daemon-status.js';
import type { DaemonSnapshot } from '../../shared/snapshot.js';
import { fleetStatusLines, type FleetDaemon } from './tray-fleet.js';
import { statusLine } from './tray-menu.js';

/** Windows truncates tray tooltips at 127 characters (NOTIFYICONDATA.szTip is 128 WCHARs). */
export const TOOLTIP_MAX_CHARS = 127;

/** File name of the tray icon for a colour on a platform. Electron picks the `@2x` sibling itself. */
export function trayIconFile(
  color: TrayColor,
  platform: NodeJS.Platform,
  opts: { template?: boolean } = {},
): string {
  if (platform === 'darwin' && opts.template) return `tray-${color}Template.png`;
  // Linux tray hosts (AppIndicator, KDE) scale icons up; a 32 px source stays sharp.
  if (platform === 'linux') return `tray-${color}-32.png`;
  if (platform === 'win32') return `tray-${color}.ico`;
  return `tray-${color}.png`;
}

/** Absolute path of the tray icon for a snapshot's status. */
export function trayIconPath(
  iconsDir: string,
  snapshot: Pick<DaemonSnapshot, 'status'>,
  platform: NodeJS.Platform,
  opts: { template?: boolean } = {},
): string {
  return join(iconsDir, trayIconFile(colorOf(snapshot.status), platform, opts));
}

/** Absolute path of the tray icon for a colour (several daemons: their worst colour). */
export function trayIconPathForColor(iconsDir: string, color: TrayColor, platform: NodeJS.Platform): string {
  return join(iconsDir, trayIconFile(color, platform));
}

/**
 * Tooltip: the status line, plus a ComfyUI summary when instances are known, e.g.
 * "Luna daemon — running · 2 models · 6.1 / 24 GiB VRAM\nComfyUI: 1 of 2 reachable, 1 running".
 */
export function trayTooltip(
  snapshot: DaemonSnapshot,
  instances?: readonly ComfyInstance[],
  now = Date.now(),
  gpus: readonly LocalGpu[] = [],
): string {
  return tooltipOf([statusLine(snapshot, now)], instances, gpus);
}

/** The tooltip with several daemons: one line per daemon (tray-fleet.ts), then VRAM and ComfyUI. */
export function fleetTooltip(
  daemons: readonly FleetDaemon[],
  instances?: readonly ComfyInstance[],
  now = Date.now(),
  gpus: readonly LocalGpu[] = [],
): string {
  return tooltipOf(fleetStatusLines(daemons, now), instances, gpus);
}

function tooltipOf(
  daemonLines: string[],
  instances: readonly ComfyInstance[] | undefined,
  gpus: readonly LocalGpu[],
): string {
  const lines = [...daemonLines];
  const vram = vramSummary(gpus);
  if (vram) lines.push(vram);
  if (instances && instances.length > 0) {
    const reachable = instances.filter((i) => i.reachable).length;
    const busy = instances.reduce((s, i) => s + i.queue.running, 0);
    lines.push(
      `ComfyUI: ${reachable} of ${instances.length} reachable${busy > 0 ? `, ${busy} running` : ''}`,
    );
  }
  const text = lines.join('\n');
  return text.length > TOOLTIP_MAX_CHARS ? `${text.slice(0, TOOLTIP_MAX_CHARS - 1)}…` : text;
}

/**
 * "VRAM 7.3 / 24 GiB" over the local GPUs (GPU telemetry, docs/devices.md), one line; null
 * without telemetry. Several GPUs are summed, as the daemon's status route sums its devices.
 */
export function vramSummary(gpus: readonly LocalGpu[]): string | null {
  if (gpus.length === 0) return null;
  const used = gpus.reduce((a, g) => a + g.memoryUsedMb, 0) / 1024;
  const total = gpus.reduce((a, g) => a + g.memoryTotalMb, 0) / 1024;
  const fmt = (v: number) =>
    Number.isInteger(Math.round(v * 10) / 10) ? String(Math.round(v)) : v.toFixed(1);
  return `VRAM ${fmt(used)} / ${fmt(total)} GiB${gpus.length > 1 ? ` (${gpus.length} GPUs)` : ''}`;
}
