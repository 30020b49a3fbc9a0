import type { TrayColor } from '../../shared/daemon-status.js';
import { ApiClient } from '../api-client.js';
import { dot, formatDuration, paint, type Io } from '../output.js';
import { EXIT, type Context } from '../context.js';

/** The fields of `GET /luna/daemon/status` the CLI prints (see src/core/control/luna-status.ts). */
interface StatusJson {
  running: boolean;
  state: string;
  color: TrayColor;
  pid: number | null;
  adopted: boolean;
  restarts: number;
  generation: string | null;
  lastError: string | null;
  lastExitCode: number | null;
  uptimeSec: number;
  models: string[];
  vram: { device: string; usedGb: number; totalGb: number }[];
  warnings: string[];
}

/** `luna-tray status [--json]`. */
export async function statusCommand(ctx: Context, io: Io): Promise<number> {
  const api = await ApiClient.create(ctx.port, ctx.dataDir);
  const { body } = await api.call('GET', '/luna/daemon/status');
  const s = body as StatusJson;
  if (ctx.json) {
    io.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
    return EXIT.ok;
  }
  const how =
    s.state === 'running' || s.state === 'unresponsive'
      ? [s.adopted ? 'adopted' : 'spawned', s.generation && `${s.generation} protocol`]
      : [];
  const facts = [s.pid ? `PID ${s.pid}` : null, ...how].filter(Boolean).join(', ');
  io.stdout.write(`${dot(io, s.color)} ${paint(io, 'bold', s.state)}${facts ? ` (${facts})` : ''}`);
  if (s.state === 'running') io.stdout.write(` — up ${formatDuration(s.uptimeSec)}`);
  io.stdout.write(`, restarts ${s.restarts}\n`);
  if (s.lastError) io.stdout.write(`  ${paint(io, 'red', 'error:')} ${s.lastError}\n`);
  if (s.lastExitCode !== null && s.state !== 'running')
    io.stdout.write(`  last exit code: ${s.lastExitCode}\n`);
  if (s.models.length) io.stdout.write(`  models: ${s.models.join(', ')}\n`);
  if (s.vram.length) {
    io.stdout.write(
      `  VRAM:   ${s.vram.map((v) => `${v.device} ${v.usedGb.toFixed(1)} / ${v.totalGb.toFixed(1)} GB`).join(' · ')}\n`,
    );
  }
  for (const w of s.warnings) io.stdout.write(`  ${paint(io, 'yellow', 'warning:')} ${w}\n`);
  return EXIT.ok;
}

/** `luna-tray start|stop|restart|unload|check`: the `/luna/daemon/*` routes. */
export async function actionCommand(
  ctx: Context,
  io: Io,
  action: 'start' | 'stop' | 'restart' | 'unload' | 'reconnect',
): Promise<number> {
  const api = await ApiClient.create(ctx.port, ctx.dataDir);
  const { status, body } = await api.call('POST', `/luna/daemon/${action}`, {});
  const r = body as { status?: string; message?: string };
  const okay = status === 200 && r.status === 'ok';
  if (ctx.json) io.stdout.write(`${JSON.stringify(r)}\n`);
  else
    (okay ? io.stdout : io.stderr).write(
      `${okay ? paint(io, 'green', '✓') : paint(io, 'red', '✗')} ${r.message ?? JSON.stringify(body)}\n`,
    );
  return okay ? EXIT.ok : EXIT.failed;
}
