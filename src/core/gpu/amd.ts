import { readdir, readFile, realpath } from 'node:fs/promises';
import { basename, join } from 'node:path';

/**
 * AMD telemetry on Linux from the amdgpu driver's sysfs files (docs/devices.md):
 * `<root>/sys/class/drm/cardN/device/{mem_info_vram_total,mem_info_vram_used,gpu_busy_percent}`, plus
 * the hwmon temperature and power when present. `root` is `/` in production and a fake tree in tests.
 * There is no per-process figure here.
 */

export interface AmdGpu {
  index: number;
  busId: string | null;
  name: string;
  memoryTotalMiB: number;
  memoryUsedMiB: number;
  utilizationPercent: number | null;
  temperatureC: number | null;
  powerW: number | null;
}

const MiB = 1024 * 1024;

async function read(path: string): Promise<string | null> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return null;
  }
}

async function num(path: string): Promise<number | null> {
  const t = await read(path);
  if (t === null || t === '') return null;
  const v = Number(t);
  return Number.isFinite(v) ? v : null;
}

/** The PCI slot (`0000:03:00.0`) from the device's uevent, else from where its link points. */
async function busIdOf(device: string): Promise<string | null> {
  const uevent = await read(join(device, 'uevent'));
  const slot = uevent?.match(/^PCI_SLOT_NAME=(.+)$/m)?.[1];
  if (slot) return slot.trim();
  const target = await realpath(device).catch(() => null);
  const name = target ? basename(target) : '';
  return /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-9a-f]$/i.test(name) ? name : null;
}

/** First hwmon directory's temperature (°C) and average power (W), when the driver offers them. */
async function hwmon(device: string): Promise<{ temperatureC: number | null; powerW: number | null }> {
  const dirs = await readdir(join(device, 'hwmon')).catch(() => [] as string[]);
  for (const d of dirs.sort()) {
    const base = join(device, 'hwmon', d);
    const temp = await num(join(base, 'temp1_input'));
    const power = (await num(join(base, 'power1_average'))) ?? (await num(join(base, 'power1_input')));
    if (temp !== null || power !== null) {
      return {
        temperatureC: temp === null ? null : temp / 1000,
        powerW: power === null ? null : Math.round(power / 1e4) / 100,
      };
    }
  }
  return { temperatureC: null, powerW: null };
}

/** Every `cardN` with the amdgpu VRAM files under `root`; `[]` when there is none. Never throws. */
export async function readAmd(root = '/'): Promise<AmdGpu[]> {
  const drm = join(root, 'sys', 'class', 'drm');
  const cards = (await readdir(drm).catch(() => [] as string[]))
    .filter((c) => /^card\d+$/.test(c))
    .sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)));
  const gpus: AmdGpu[] = [];
  for (const card of cards) {
    const device = join(drm, card, 'device');
    const total = await num(join(device, 'mem_info_vram_total'));
    const used = await num(join(device, 'mem_info_vram_used'));
    if (total === null || used === null) continue;
    const product = await read(join(device, 'product_name'));
    const id = await read(join(device, 'device'));
    gpus.push({
      index: Number(card.slice(4)),
      busId: await busIdOf(device),
      name: product || `AMD GPU${id ? ` (device ${id})` : ''}`,
      memoryTotalMiB: Math.round((total / MiB) * 10) / 10,
      memoryUsedMiB: Math.round((used / MiB) * 10) / 10,
      utilizationPercent: await num(join(device, 'gpu_busy_percent')),
      ...(await hwmon(device)),
    });
  }
  return gpus;
}
