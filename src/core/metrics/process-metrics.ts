// `serve`'s own process metrics under the standard names every Prometheus client library uses
// (process_cpu_seconds_total, process_resident_memory_bytes, …), so stock dashboards work.
import { readFileSync, readdirSync } from 'node:fs';

import type { MetricFamily } from './exposition.js';

/** When this process started, in seconds since the epoch (computed once: uptime drifts with NTP). */
const startTimeSeconds = Date.now() / 1000 - process.uptime();

/** Open file descriptors and their limit, where the OS says (Linux /proc); null elsewhere. */
function fileDescriptors(): { open: number; max: number } | null {
  try {
    const open = readdirSync('/proc/self/fd').length;
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const max = /^Max open files\s+(\d+)/m.exec(limits)?.[1];
    return { open, max: max === undefined ? Infinity : Number(max) };
  } catch {
    return null;
  }
}

/** Virtual memory size in bytes (Linux /proc/self/stat field 23); null elsewhere. */
function virtualMemoryBytes(): number | null {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const vsize = Number(fields[20]);
    return Number.isFinite(vsize) ? vsize : null;
  } catch {
    return null;
  }
}

const gauge = (name: string, help: string, value: number): MetricFamily => ({
  name,
  help,
  type: 'gauge',
  samples: [{ value }],
});

/** The families for this process, read now. */
export function processMetrics(): MetricFamily[] {
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  const fds = fileDescriptors();
  const vsize = virtualMemoryBytes();
  const families: MetricFamily[] = [
    {
      name: 'process_cpu_user_seconds_total',
      help: 'Total user CPU time spent in seconds.',
      type: 'counter',
      samples: [{ value: cpu.user / 1e6 }],
    },
    {
      name: 'process_cpu_system_seconds_total',
      help: 'Total system CPU time spent in seconds.',
      type: 'counter',
      samples: [{ value: cpu.system / 1e6 }],
    },
    {
      name: 'process_cpu_seconds_total',
      help: 'Total user and system CPU time spent in seconds.',
      type: 'counter',
      samples: [{ value: (cpu.user + cpu.system) / 1e6 }],
    },
    gauge(
      'process_start_time_seconds',
      'Start time of the process since unix epoch in seconds.',
      startTimeSeconds,
    ),
    gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', mem.rss),
    gauge('nodejs_heap_size_total_bytes', 'Process heap size from Node.js in bytes.', mem.heapTotal),
    gauge('nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes.', mem.heapUsed),
    gauge('nodejs_external_memory_bytes', 'Node.js external memory size in bytes.', mem.external),
  ];
  if (vsize !== null)
    families.push(gauge('process_virtual_memory_bytes', 'Virtual memory size in bytes.', vsize));
  if (fds) {
    families.push(gauge('process_open_fds', 'Number of open file descriptors.', fds.open));
    families.push(gauge('process_max_fds', 'Maximum number of open file descriptors.', fds.max));
  }
  return families;
}
