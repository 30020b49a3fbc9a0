import { join } from 'node:path';

import {
  defaultSettings,
  getSettingByKey,
  patchForKey,
  type Settings,
} from '../../shared/settings-schema.js';
import { JsonFileSettingsStore } from '../../core/settings/json-file-settings-store.js';
import { ApiClient, ApiUnavailableError } from '../api-client.js';
import type { Invocation } from '../command-table.js';
import { EXIT, UsageError, type Context } from '../context.js';
import { paint } from '../output.js';

/** The settings file in a data directory. */
export function settingsPath(dataDir: string): string {
  return join(dataDir, 'settings.json');
}

/** VALUE is parsed as JSON when it is valid JSON, else taken as a string. */
export function parseValue(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

/**
 * `luna-tray config get [KEY] | set KEY VALUE | unset KEY | path`. Works whether or not a server runs: with a
 * server, changes go through its API (so it applies them at once and keeps one writer); without
 * one, the settings file is edited directly, with the same validation.
 */
export async function configCommand({ ctx, io, positionals }: Invocation): Promise<number> {
  const [sub, key, ...rest] = positionals;
  const path = settingsPath(ctx.dataDir);
  if (sub === 'path') {
    io.stdout.write(`${path}\n`);
    return EXIT.ok;
  }
  if (sub === 'get') {
    const settings = await currentSettings(ctx, path);
    const value = key ? getSettingByKey(settings, key) : settings;
    if (value === undefined)
      throw new UsageError(`unknown settings key "${key}" (see \`luna-tray config get\` for all keys)`);
    io.stdout.write(`${typeof value === 'string' && !ctx.json ? value : JSON.stringify(value, null, 2)}\n`);
    return EXIT.ok;
  }
  if (sub === 'set' || sub === 'unset') {
    const arity = sub === 'set' ? 1 : 0;
    if (!key || rest.length !== arity)
      throw new UsageError(
        sub === 'set'
          ? 'usage: luna-tray config set KEY VALUE (e.g. config set daemon.port 19283)'
          : 'usage: luna-tray config unset KEY (e.g. config unset daemon.port)',
      );
    const probe = await currentSettings(ctx, path);
    if (getSettingByKey(probe, key) === undefined) {
      throw new UsageError(`unknown settings key "${key}" (see \`luna-tray config get\` for all keys)`);
    }
    // `unset` writes the key's default: the file then says what is in force.
    const value = sub === 'set' ? parseValue(rest[0]!) : getSettingByKey(defaultSettings(), key);
    const result = await applyPatch(ctx, path, patchForKey(key, value));
    if (!result.ok) {
      for (const i of result.issues) io.stderr.write(`${paint(io, 'red', '✗')} ${i.key}: ${i.message}\n`);
      return EXIT.failed;
    }
    io.stdout.write(
      `${paint(io, 'green', '✓')} ${key} = ${JSON.stringify(getSettingByKey(result.settings, key))}${sub === 'unset' ? ' (the default)' : ''}${result.via === 'api' ? ' (applied by the running server)' : ''}\n`,
    );
    return EXIT.ok;
  }
  if (sub === 'preset') return presetCommand(ctx, io, path, key, rest);
  throw new UsageError('usage: luna-tray config get [KEY] | set KEY VALUE | unset KEY | path | preset NAME');
}

const PRESETS = ['single', 'split-clip-vae', 'one-per-gpu'] as const;

/**
 * `luna-tray config preset NAME`: replace `settings.daemons` with a preset (docs/settings.md,
 * "daemons"). The running server builds it (it knows the GPUs); without one it is built here.
 */
async function presetCommand(
  ctx: Context,
  io: Invocation['io'],
  path: string,
  name: string | undefined,
  rest: string[],
): Promise<number> {
  const preset = PRESETS.find((p) => p === name);
  if (!preset || rest.length > 0) {
    throw new UsageError(`usage: luna-tray config preset ${PRESETS.join(' | ')}`);
  }
  let result: { ok: true; settings: Settings; via: 'api' | 'file' } | { ok: false; message: string };
  try {
    const api = await ApiClient.create(ctx.port, ctx.dataDir, ctx);
    const r = await api.invoke('daemons:apply-preset', { preset });
    result = r.ok
      ? { ok: true, settings: r.value.settings, via: 'api' }
      : { ok: false, message: r.error.message };
  } catch (e) {
    if (!(e instanceof ApiUnavailableError) || ctx.tunnel) throw e;
    const [{ daemonPresets }, { readGpuReport, toLocalGpus }] = await Promise.all([
      import('../../core/app/daemon-presets.js'),
      import('../../core/gpu/telemetry.js'),
    ]);
    const store = new JsonFileSettingsStore(path);
    const gpus = toLocalGpus(await readGpuReport());
    const p = daemonPresets(store.get(), gpus).find((x) => x.id === preset)!;
    const r = store.update({ daemons: p.daemons });
    result = r.ok
      ? { ok: true, settings: r.settings, via: 'file' }
      : { ok: false, message: r.issues.map((i) => `${i.key}: ${i.message}`).join('; ') };
  }
  if (!result.ok) {
    io.stderr.write(`${paint(io, 'red', '✗')} ${result.message}\n`);
    return EXIT.failed;
  }
  for (const d of result.settings.daemons) {
    io.stdout.write(`${paint(io, 'green', '✓')} ${d.id} (${d.name}) ${d.host}:${d.port}\n`);
  }
  if (result.via === 'api') io.stdout.write('(applied by the running server)\n');
  return EXIT.ok;
}

async function currentSettings(ctx: Context, path: string): Promise<Settings> {
  try {
    const api = await ApiClient.create(ctx.port, ctx.dataDir, ctx);
    const r = await api.invoke('settings:get', {});
    if (r.ok) return r.value.settings;
  } catch (e) {
    // Through a tunnel (--url) the settings are the far box's: never fall back to the local file.
    if (!(e instanceof ApiUnavailableError) || ctx.tunnel) throw e;
  }
  return new JsonFileSettingsStore(path).get();
}

async function applyPatch(
  ctx: Context,
  path: string,
  patch: Record<string, unknown>,
): Promise<
  | { ok: true; settings: Settings; via: 'api' | 'file' }
  | { ok: false; issues: { key: string; message: string }[] }
> {
  try {
    const api = await ApiClient.create(ctx.port, ctx.dataDir, ctx);
    const r = await api.invoke('settings:update', { patch });
    if (r.ok) return { ok: true, settings: r.value.settings, via: 'api' };
    return { ok: false, issues: r.error.issues ?? [{ key: '', message: r.error.message }] };
  } catch (e) {
    // Through a tunnel (--url) the settings are the far box's: never fall back to the local file.
    if (!(e instanceof ApiUnavailableError) || ctx.tunnel) throw e;
  }
  const store = new JsonFileSettingsStore(path);
  const r = store.update(patch);
  return r.ok ? { ok: true, settings: r.settings, via: 'file' } : { ok: false, issues: r.issues };
}
