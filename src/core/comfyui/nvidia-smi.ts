/** Local GPU figures from `nvidia-smi` (when installed). */
import { execFile } from 'node:child_process';

import type { LocalGpu } from '../../shared/comfy-instance.js';

const QUERY = [
  '--query-gpu=index,name,utilization.gpu,temperature.gpu,memory.used,memory.total',
  '--format=csv,noheader,nounits',
];

/** Parse `nvidia-smi --query-gpu=index,name,utilization.gpu,temperature.gpu,memory.used,memory.total --format=csv,noheader,nounits`. */
export function parseNvidiaSmi(text: string): LocalGpu[] {
  const out: LocalGpu[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim()) continue;
    const cols = line.split(',').map((c) => c.trim());
    if (cols.length < 6) continue;
    // A GPU name may itself contain commas: the last four columns are numeric, the first is the index.
    const [idx] = cols;
    const tail = cols.slice(-4);
    const name = cols.slice(1, -4).join(', ');
    const n = (s: string | undefined): number | null => {
      const v = Number(s);
      return s === undefined || s === '' || /N\/A|Not Supported/i.test(s) || !Number.isFinite(v) ? null : v;
    };
    const index = n(idx);
    const used = n(tail[2]);
    const total = n(tail[3]);
    if (index === null || used === null || total === null) continue;
    out.push({
      index,
      name,
      utilizationPercent: n(tail[0]),
      temperatureC: n(tail[1]),
      memoryUsedMb: used,
      memoryTotalMb: total,
    });
  }
  return out;
}

/** Run nvidia-smi (2 s timeout). Absent, failing or unparsable → `[]`. Never throws. */
export function readLocalGpus(command = 'nvidia-smi', timeoutMs = 2_000): Promise<LocalGpu[]> {
  return new Promise((resolve) => {
    try {
      execFile(command, QUERY, { timeout: timeoutMs, windowsHide: true }, (err, stdout) => {
        if (err) return resolve([]);
        resolve(parseNvidiaSmi(String(stdout)));
      });
    } catch {
      resolve([]);
    }
  });
}
