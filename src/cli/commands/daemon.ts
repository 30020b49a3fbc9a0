import { lunaStatusJson, statusFacts } from '../../core/control/luna-status.js';
import { ApiClient } from '../api-client.js';
import type { Invocation } from '../command-table.js';
import { dot, formatDuration, paint } from '../output.js';
import { EXIT } from '../context.js';

/** `luna-tray status [--json]`: the daemon snapshot (contract channel `daemon:get-snapshot`). */
export async function statusCommand({ ctx, io }: Invocation): Promise<number> {
  const api = await ApiClient.create(ctx.port, ctx.dataDir, ctx);
  const r = await api.invoke('daemon:get-snapshot', {});
  if (!r.ok) {
    io.stderr.write(`${paint(io, 'red', '✗')} ${r.error.message}\n`);
    return EXIT.failed;
  }
  if (ctx.json) {
    // The same object as `GET /luna/daemon/status` (the original route's fields plus ours).
    const comfy = await api.invoke('comfy:list-instances', {});
    const instances = comfy.ok ? comfy.value.instances : [];
    io.stdout.write(`${JSON.stringify(lunaStatusJson(r.value, instances), null, 2)}\n`);
    return EXIT.ok;
  }
  const s = statusFacts(r.value);
  const how =
    s.state === 'running' || s.state === 'unresponsive'
      ? [s.adopted ? 'adopted' : 'spawned', s.generation && `${s.generation} protocol`]
      : [];
  const facts = [s.pid ? `PID ${s.pid}` : null, ...how].filter(Boolean).join(', ');
  // "stopped (shut down from outside)", as the panel says it; the other states print their name.
  const words = s.state === 'stopped' ? s.stateText : s.state;
  io.stdout.write(`${dot(io, s.color)} ${paint(io, 'bold', words)}${facts ? ` (${facts})` : ''}`);
  if (s.state === 'running') io.stdout.write(` — up ${formatDuration(s.uptimeSec)}`);
  io.stdout.write(`, restarts ${s.restarts}\n`);
  if (s.lastError) io.stdout.write(`  ${paint(io, 'red', 'error:')} ${s.lastError}\n`);
  if (s.lastExitAt !== null && s.state !== 'running' && s.state !== 'unresponsive') {
    const how = s.lastExitSignal ? `signal ${s.lastExitSignal}` : `code ${s.lastExitCode ?? '?'}`;
    io.stdout.write(`  last exit: ${how} at ${new Date(s.lastExitAt).toLocaleTimeString()}\n`);
  }
  if (s.models.length) io.stdout.write(`  models: ${s.models.join(', ')}\n`);
  if (s.vram.length) {
    io.stdout.write(
      `  VRAM:   ${s.vram.map((v) => `${v.device} ${v.usedGb.toFixed(1)} / ${v.totalGb.toFixed(1)} GiB`).join(' · ')}\n`,
    );
  }
  for (const w of s.warnings) io.stdout.write(`  ${paint(io, 'yellow', 'warning:')} ${w}\n`);
  return EXIT.ok;
}

const ACTION_CHANNEL = {
  start: 'daemon:start',
  stop: 'daemon:stop',
  restart: 'daemon:restart',
  unload: 'daemon:unload',
  check: 'daemon:check',
} as const;

/** `luna-tray start|stop|restart|unload|check`: the `daemon:*` contract channels. */
export async function actionCommand(
  { ctx, io }: Invocation,
  action: keyof typeof ACTION_CHANNEL,
): Promise<number> {
  const api = await ApiClient.create(ctx.port, ctx.dataDir, ctx);
  const r = await api.invoke(ACTION_CHANNEL[action], {});
  const message = r.ok ? r.value.message : r.error.message;
  if (ctx.json) io.stdout.write(`${JSON.stringify({ status: r.ok ? 'ok' : 'error', message })}\n`);
  else
    (r.ok ? io.stdout : io.stderr).write(
      `${r.ok ? paint(io, 'green', '✓') : paint(io, 'red', '✗')} ${message}\n`,
    );
  return r.ok ? EXIT.ok : EXIT.failed;
}
