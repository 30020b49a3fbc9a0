import { lunaStatusJson, statusFacts } from '../../core/control/luna-status.js';
import type { DaemonSummary } from '../../shared/daemon-summary.js';
import type { DaemonSnapshot } from '../../shared/snapshot.js';
import { ApiClient } from '../api-client.js';
import type { Invocation } from '../command-table.js';
import { listDaemons, selectDaemon } from '../daemon-select.js';
import { dot, formatDuration, paint, type Io } from '../output.js';
import { EXIT, type Context } from '../context.js';

/**
 * `luna-tray status [--daemon ID] [--json]`. One daemon configured (or `--daemon`): its snapshot, as
 * it always was. Several: one line each, like `pm2 ls`, and `--json` prints the list
 * (docs/multi-daemon.md, "CLI").
 */
export async function statusCommand({ ctx, io, values }: Invocation): Promise<number> {
  const api = await ApiClient.create(ctx.port, ctx.dataDir, ctx);
  const id = values.daemon as string | undefined;
  if (id !== undefined) {
    const d = await selectDaemon(api, id);
    return printOne(api, ctx, io, d.snapshot, d);
  }
  const list = await listDaemons(api);
  if (list !== null && list.length > 1) return printFleet(api, ctx, io, list);
  if (list?.length === 1) return printOne(api, ctx, io, list[0]!.snapshot);
  const r = await api.invoke('daemon:get-snapshot', {});
  if (!r.ok) {
    io.stderr.write(`${paint(io, 'red', '✗')} ${r.error.message}\n`);
    return EXIT.failed;
  }
  return printOne(api, ctx, io, r.value);
}

async function comfyInstances(api: ApiClient) {
  const comfy = await api.invoke('comfy:list-instances', {});
  return comfy.ok ? comfy.value.instances : [];
}

/** One daemon's status; `who` (when chosen by `--daemon`) adds its id, name and address. */
async function printOne(
  api: ApiClient,
  ctx: Context,
  io: Io,
  snap: DaemonSnapshot,
  who?: DaemonSummary,
): Promise<number> {
  if (ctx.json) {
    // The same object as `GET /luna/daemon/status` (the original route's fields plus ours); with
    // --daemon, as `GET /luna/daemons/<id>/status` (plus the id).
    const body = lunaStatusJson(snap, await comfyInstances(api));
    io.stdout.write(`${JSON.stringify(who ? { id: who.id, ...body } : body, null, 2)}\n`);
    return EXIT.ok;
  }
  if (who) {
    const off = who.enabled ? '' : ` · ${paint(io, 'yellow', 'disabled')}`;
    io.stdout.write(`${paint(io, 'bold', who.name)} (${who.id}) · ${who.host}:${who.port}${off}\n`);
  }
  const s = statusFacts(snap);
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

/** Several daemons: a table (id, name, state, PID, port, models, VRAM), or the list as JSON. */
async function printFleet(api: ApiClient, ctx: Context, io: Io, list: DaemonSummary[]): Promise<number> {
  if (ctx.json) {
    const instances = await comfyInstances(api);
    const rows = list.map((d) => ({
      id: d.id,
      name: d.name,
      enabled: d.enabled,
      host: d.host,
      port: d.port,
      wsPort: d.wsPort,
      ...lunaStatusJson(d.snapshot, instances),
    }));
    io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return EXIT.ok;
  }
  const cells = list.map((d) => {
    const used = d.vram.reduce((a, v) => a + v.usedGb, 0);
    const total = d.vram.reduce((a, v) => a + v.totalGb, 0);
    return [
      d.id,
      d.name,
      d.enabled ? d.state : 'disabled',
      d.pid === null ? '-' : String(d.pid),
      String(d.port),
      String(d.models.length),
      d.vram.length ? `${used.toFixed(1)} / ${total.toFixed(1)} GiB` : '-',
    ];
  });
  const header = ['ID', 'NAME', 'STATE', 'PID', 'PORT', 'MODELS', 'VRAM'];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  io.stdout.write(`  ${paint(io, 'bold', line(header))}\n`);
  list.forEach((d, i) => {
    const mark = d.enabled ? dot(io, d.color) : paint(io, 'gray', '○');
    io.stdout.write(`${mark} ${line(cells[i]!)}\n`);
  });
  // Below the table, each daemon's error and warnings; a warning every daemon shares (one about the
  // settings file, say) is printed once, without an id.
  const facts = list.map((d) => statusFacts(d.snapshot));
  const everywhere = facts[0]!.warnings.filter((w) => facts.every((f) => f.warnings.includes(w)));
  list.forEach((d, i) => {
    const f = facts[i]!;
    if (f.lastError) io.stdout.write(`  ${paint(io, 'red', `${d.id}: error:`)} ${f.lastError}\n`);
    for (const w of f.warnings.filter((x) => !everywhere.includes(x)))
      io.stdout.write(`  ${paint(io, 'yellow', `${d.id}: warning:`)} ${w}\n`);
  });
  for (const w of everywhere) io.stdout.write(`  ${paint(io, 'yellow', 'warning:')} ${w}\n`);
  return EXIT.ok;
}

const ACTION_CHANNEL = {
  start: 'daemon:start',
  stop: 'daemon:stop',
  restart: 'daemon:restart',
  unload: 'daemon:unload',
  check: 'daemon:check',
} as const;
type Action = keyof typeof ACTION_CHANNEL;

/**
 * `luna-tray start|stop|restart|unload|check [--daemon ID]`: the `daemon:*` contract channels for
 * one daemon; without `--daemon` and with several configured, `daemons:act` on every enabled one
 * (a line each; exit 1 when any failed).
 */
export async function actionCommand({ ctx, io, values }: Invocation, action: Action): Promise<number> {
  const api = await ApiClient.create(ctx.port, ctx.dataDir, ctx);
  const id = values.daemon as string | undefined;
  if (id !== undefined) await selectDaemon(api, id);
  const list = id === undefined ? await listDaemons(api) : null;
  if (list === null || list.length <= 1) return actOnOne(api, ctx, io, action, id);

  const r = await api.invoke('daemons:act', { action });
  const results = r.ok ? r.value.results : [];
  const failure = !r.ok
    ? r.error.message
    : results.length === 0
      ? `No daemon is enabled (${list.map((d) => d.id).join(', ')}): enable one with \`luna-tray config set daemons.N.enabled true\`.`
      : null;
  if (failure !== null) {
    if (ctx.json) io.stdout.write(`${JSON.stringify({ status: 'error', message: failure, results })}\n`);
    else io.stderr.write(`${paint(io, 'red', '✗')} ${failure}\n`);
    return EXIT.failed;
  }
  const allOk = results.every((x) => x.ok);
  if (ctx.json) {
    const rows = results.map((x) => ({
      id: x.id,
      name: x.name,
      status: x.ok ? 'ok' : 'error',
      message: x.message,
    }));
    io.stdout.write(`${JSON.stringify({ status: allOk ? 'ok' : 'error', results: rows })}\n`);
  } else {
    const width = Math.max(...results.map((x) => x.id.length));
    for (const x of results) {
      (x.ok ? io.stdout : io.stderr).write(
        `${x.ok ? paint(io, 'green', '✓') : paint(io, 'red', '✗')} ${x.id.padEnd(width)}  ${x.message}\n`,
      );
    }
  }
  return allOk ? EXIT.ok : EXIT.failed;
}

/** One daemon (`--daemon ID`, or the only one): the output every script knows. */
async function actOnOne(
  api: ApiClient,
  ctx: Context,
  io: Io,
  action: Action,
  id: string | undefined,
): Promise<number> {
  const r = await api.invoke(ACTION_CHANNEL[action], id === undefined ? {} : { daemon: id });
  const message = r.ok ? r.value.message : r.error.message;
  if (ctx.json) io.stdout.write(`${JSON.stringify({ status: r.ok ? 'ok' : 'error', message })}\n`);
  else
    (r.ok ? io.stdout : io.stderr).write(
      `${r.ok ? paint(io, 'green', '✓') : paint(io, 'red', '✗')} ${message}\n`,
    );
  return r.ok ? EXIT.ok : EXIT.failed;
}
