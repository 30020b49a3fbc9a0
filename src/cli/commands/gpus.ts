import type { Gpu } from '../../shared/gpu.js';
import { ApiClient } from '../api-client.js';
import type { Invocation } from '../command-table.js';
import { EXIT } from '../context.js';
import type { Io } from '../output.js';

const mib = (v: number | null) => (v === null ? '?' : `${Math.round(v)}`);
const gib = (v: number | null) => (v === null ? '?' : (v / 1024).toFixed(1));

/** `luna-tray gpus [--json]`: every GPU and who holds its memory (docs/devices.md). */
export async function gpusCommand({ ctx, io }: Invocation): Promise<number> {
  const api = await ApiClient.create(ctx.port, ctx.dataDir, ctx);
  const r = await api.invoke('gpus:get', {});
  if (!r.ok) {
    io.stderr.write(`${r.error.message}\n`);
    return EXIT.failed;
  }
  const report = r.value;
  if (ctx.json) {
    const list = report.gpus.map((g) => ({
      ...g,
      processes: g.processes.map((p) => ({
        pid: p.pid,
        name: p.name,
        usedMiB: p.usedMiB,
        role: p.role,
        ...(p.instance ? { instance: p.instance } : {}),
      })),
    }));
    io.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
    return EXIT.ok;
  }
  if (report.gpus.length === 0) {
    io.stdout.write(`${report.message ?? 'No GPU telemetry.'}\n`);
    return EXIT.ok;
  }
  for (const g of report.gpus) printGpu(io, g);
  if (report.message) io.stdout.write(`${report.message}\n`);
  return EXIT.ok;
}

function printGpu(io: Io, g: Gpu): void {
  const facts = [
    `${gib(g.memoryUsedMiB)} / ${gib(g.memoryTotalMiB)} GiB`,
    g.utilizationPercent === null ? null : `${g.utilizationPercent}%`,
    g.temperatureC === null ? null : `${g.temperatureC} °C`,
    g.powerW === null ? null : `${g.powerW} W`,
  ].filter(Boolean);
  io.stdout.write(`GPU ${g.index} ${g.name} (${g.key}): ${facts.join(', ')}\n`);
  const s = g.split;
  io.stdout.write(
    `  daemon ${mib(s.daemonMiB)} MiB · ComfyUI ${mib(s.comfyuiMiB)} MiB · other ${mib(s.otherMiB)} MiB\n`,
  );
  if (g.processes.length === 0) return;
  const rows = g.processes.map((p) => [
    String(p.pid),
    p.role + (p.instance ? ` ${p.instance}` : ''),
    p.usedMiB === null ? 'n/a' : `${p.usedMiB} MiB`,
    p.name,
  ]);
  const head = ['PID', 'ROLE', 'MEMORY', 'PROCESS'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [head, ...rows]) {
    io.stdout.write(`  ${row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}\n`);
  }
}
