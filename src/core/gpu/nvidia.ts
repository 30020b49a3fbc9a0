import { execFile } from 'node:child_process';

/**
 * NVIDIA telemetry from `nvidia-smi` (docs/devices.md): one query for the GPUs, one for the compute
 * processes, both `csv,noheader,nounits`. Values may be `[N/A]` or `[Not Supported]`; names (GPU and
 * process) may contain commas, so fields are found by their fixed position from both ends.
 */

export const GPU_QUERY_ARGS = [
  '--query-gpu=index,uuid,pci.bus_id,name,memory.total,memory.used,memory.free,utilization.gpu,temperature.gpu,power.draw',
  '--format=csv,noheader,nounits',
];
export const APPS_QUERY_ARGS = [
  '--query-compute-apps=gpu_uuid,pid,process_name,used_memory',
  '--format=csv,noheader,nounits',
];

export interface NvidiaGpu {
  index: number;
  uuid: string | null;
  busId: string | null;
  name: string;
  memoryTotalMiB: number | null;
  memoryUsedMiB: number | null;
  memoryFreeMiB: number | null;
  utilizationPercent: number | null;
  temperatureC: number | null;
  powerW: number | null;
}

export interface NvidiaProcess {
  gpuUuid: string;
  pid: number;
  name: string;
  /** Null where the driver will not say (Windows/WDDM: `[N/A]` for every process). */
  usedMiB: number | null;
}

/** `[N/A]`, `[Not Supported]`, `N/A`, `[Unknown Error]`, empty → null. */
function value(s: string | undefined): number | null {
  if (s === undefined) return null;
  const t = s.trim();
  if (t === '' || t.startsWith('[') || /^n\/a$/i.test(t)) return null;
  const v = Number(t);
  return Number.isFinite(v) ? v : null;
}

function text(s: string | undefined): string | null {
  const t = s?.trim() ?? '';
  return t === '' || t.startsWith('[') || /^n\/a$/i.test(t) ? null : t;
}

function lines(out: string): string[] {
  return out.split(/\r?\n/).filter((l) => l.trim() !== '');
}

/** Parse the output of {@link GPU_QUERY_ARGS}. Lines that do not fit the 10 columns are skipped. */
export function parseNvidiaGpus(out: string): NvidiaGpu[] {
  const gpus: NvidiaGpu[] = [];
  for (const line of lines(out)) {
    const cols = line.split(',');
    if (cols.length < 10) continue;
    const index = value(cols[0]);
    if (index === null) continue;
    const tail = cols.slice(-6);
    gpus.push({
      index,
      uuid: text(cols[1]),
      busId: text(cols[2]),
      name: cols.slice(3, -6).join(',').trim(),
      memoryTotalMiB: value(tail[0]),
      memoryUsedMiB: value(tail[1]),
      memoryFreeMiB: value(tail[2]),
      utilizationPercent: value(tail[3]),
      temperatureC: value(tail[4]),
      powerW: value(tail[5]),
    });
  }
  return gpus;
}

/** Parse the output of {@link APPS_QUERY_ARGS}. Empty output (no compute process) is `[]`. */
export function parseNvidiaApps(out: string): NvidiaProcess[] {
  const apps: NvidiaProcess[] = [];
  for (const line of lines(out)) {
    const cols = line.split(',');
    if (cols.length < 4) continue;
    const pid = value(cols[1]);
    const gpuUuid = text(cols[0]);
    if (pid === null || gpuUuid === null) continue;
    apps.push({ gpuUuid, pid, name: cols.slice(2, -1).join(',').trim(), usedMiB: value(cols.at(-1)) });
  }
  return apps;
}

export type NvidiaReading =
  | { ok: true; gpus: NvidiaGpu[]; processes: NvidiaProcess[] }
  | { ok: false; missing: boolean; message: string };

function run(command: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs, windowsHide: true }, (err, stdout) => {
      if (err) reject(new Error(err.message, { cause: err }));
      else resolve(String(stdout));
    });
  });
}

/**
 * Read the GPUs, then their compute processes (two `nvidia-smi` runs). `missing` when the command
 * does not exist; a failing process query still returns the GPUs (with no processes). Never throws.
 */
export async function readNvidia(command = 'nvidia-smi', timeoutMs = 3_000): Promise<NvidiaReading> {
  let gpus: NvidiaGpu[];
  try {
    gpus = parseNvidiaGpus(await run(command, GPU_QUERY_ARGS, timeoutMs));
  } catch (e) {
    const code = ((e as Error).cause as NodeJS.ErrnoException | undefined)?.code;
    const missing = code === 'ENOENT' || code === 'EACCES';
    const message = missing
      ? `${command} was not found`
      : `${command} failed: ${((e as Error).message.split('\n')[0] ?? '').trim()}`;
    return { ok: false, missing, message };
  }
  if (gpus.length === 0) return { ok: false, missing: false, message: `${command} reported no GPU` };
  const processes = await run(command, APPS_QUERY_ARGS, timeoutMs).then(parseNvidiaApps, () => []);
  return { ok: true, gpus, processes };
}
