import { ApiClient } from '../api-client.js';
import type { Invocation } from '../command-table.js';
import { EXIT } from '../context.js';
import { paint } from '../output.js';

const gb = (bytes: number) => (bytes / 1024 ** 3).toFixed(1);

/** `luna-tray comfy [--json]`: the ComfyUI instances the running Luna Tray watches. */
export async function comfyCommand({ ctx, io }: Invocation): Promise<number> {
  const api = await ApiClient.create(ctx.port, ctx.dataDir, ctx);
  const r = await api.invoke('comfy:list-instances', {});
  if (!r.ok) {
    io.stderr.write(`${r.error.message}\n`);
    return EXIT.failed;
  }
  const { instances, gpus } = r.value;
  if (ctx.json) {
    io.stdout.write(`${JSON.stringify(r.value, null, 2)}\n`);
    return EXIT.ok;
  }
  if (instances.length === 0) io.stdout.write('No ComfyUI instances configured (comfyui.instances).\n');
  for (const i of instances) {
    if (!i.reachable) {
      io.stdout.write(
        `${paint(io, 'gray', '●')} ${i.url} — unreachable${i.problem ? `: ${i.problem}` : ''}\n`,
      );
      continue;
    }
    io.stdout.write(
      `${paint(io, 'green', '●')} ${i.url} — ComfyUI ${i.version ?? '?'} · queue ${i.queue.running} running, ${i.queue.pending} pending\n`,
    );
    for (const d of i.devices)
      io.stdout.write(`    ${d.name}: ${gb(d.vramTotal - d.vramFree)} / ${gb(d.vramTotal)} GiB\n`);
    const p = i.progress;
    if (p) {
      const node = p.nodeTitle ?? p.node ?? '';
      const secs = Math.max(0, Math.round((Date.now() - p.startedAt) / 1000));
      // Step progress reaches only the client that queued the prompt (docs/comfyui.md).
      io.stdout.write(
        p.stepsVisible && p.max > 0
          ? `    running ${p.promptId.slice(0, 8)}: ${node} step ${p.value}/${p.max} (${Math.round((p.value / p.max) * 100)}%) · ${secs}s\n`
          : `    running ${p.promptId.slice(0, 8)}${node ? `: ${node}` : ''} · ${secs}s elapsed (step progress goes only to the client that queued it)\n`,
      );
    }
    if (i.lastError)
      io.stdout.write(
        `    ${paint(io, 'red', 'last error')} at ${new Date(i.lastError.at).toLocaleTimeString()}${i.lastError.nodeType ? ` in ${i.lastError.nodeType}` : ''}: ${i.lastError.message}\n`,
      );
  }
  for (const g of gpus) {
    io.stdout.write(
      `GPU ${g.index} ${g.name}: ${(g.memoryUsedMb / 1024).toFixed(1)} / ${(g.memoryTotalMb / 1024).toFixed(1)} GiB${g.utilizationPercent !== null ? `, ${g.utilizationPercent}%` : ''}${g.temperatureC !== null ? `, ${g.temperatureC} °C` : ''}\n`,
    );
  }
  return EXIT.ok;
}

/** `luna-tray free`: unload the daemon's models and free VRAM on every ComfyUI instance. */
export async function freeCommand({ ctx, io }: Invocation): Promise<number> {
  const api = await ApiClient.create(ctx.port, ctx.dataDir, ctx);
  const r = await api.invoke('comfy:free-vram', {});
  if (!r.ok) {
    io.stderr.write(`${r.error.message}\n`);
    return EXIT.failed;
  }
  const report = r.value;
  if (ctx.json) io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else {
    const mark = (ok: boolean) => (ok ? paint(io, 'green', '✓') : paint(io, 'red', '✗'));
    io.stdout.write(`${mark(report.daemon.ok)} Luna daemon: ${report.daemon.message}\n`);
    for (const i of report.instances) io.stdout.write(`${mark(i.ok)} ${i.url}: ${i.message}\n`);
  }
  return report.daemon.ok && report.instances.every((i) => i.ok) ? EXIT.ok : EXIT.failed;
}
