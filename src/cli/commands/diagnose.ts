import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { buildDiagnostics } from '../../core/diagnostics/bundle.js';
import { readGpuReport } from '../../core/gpu/telemetry.js';
import { JsonFileSettingsStore } from '../../core/settings/json-file-settings-store.js';
import { ApiClient, ApiUnavailableError } from '../api-client.js';
import type { Invocation } from '../command-table.js';
import { EXIT } from '../context.js';
import { paint } from '../output.js';
import { settingsPath } from './config.js';
import { bundledPaths } from './serve.js';

declare const LUNA_TRAY_VERSION: string | undefined;

/**
 * `luna-tray diagnose [--out DIR]`: one .tar.gz for a bug report (docs/diagnostics.md). A running
 * Luna Tray builds it with its live state (status history, snapshot); otherwise it is built here
 * from the data directory. Either way the token, env values and webhook secrets are removed.
 */
export async function diagnoseCommand({ ctx, io, values }: Invocation): Promise<number> {
  const outDir = resolve(typeof values.out === 'string' ? values.out : '.');
  let result: { fileName: string; archive: Buffer; source: string } | null = null;
  try {
    const api = await ApiClient.create(ctx.port, ctx.dataDir, ctx);
    const r = await api.invoke('app:diagnostics', {});
    if (!r.ok) {
      io.stderr.write(`${paint(io, 'red', '✗')} ${r.error.message}\n`);
      return EXIT.failed;
    }
    result = {
      fileName: r.value.fileName,
      archive: Buffer.from(r.value.archive, 'base64'),
      source: 'from the running Luna Tray',
    };
  } catch (e) {
    // Through a tunnel the data directory here is not the far box's: never describe the wrong machine.
    if (!(e instanceof ApiUnavailableError) || ctx.tunnel) throw e;
    const settings = new JsonFileSettingsStore(settingsPath(ctx.dataDir)).get();
    const built = await buildDiagnostics({
      dataDir: ctx.dataDir,
      settings,
      version: typeof LUNA_TRAY_VERSION === 'string' ? LUNA_TRAY_VERSION : 'dev',
      simulatorPath: bundledPaths().simulatorPath,
      controlPort: ctx.port,
      gpu: () => readGpuReport(),
    });
    result = { ...built, source: `from ${ctx.dataDir} (Luna Tray is not running)` };
  }
  await mkdir(outDir, { recursive: true });
  // The name comes from the server: keep only its last component.
  const name = result.fileName.replace(/^.*[\\/]/, '');
  const path = join(outDir, name);
  await writeFile(path, result.archive, { mode: 0o600 });
  if (ctx.json) io.stdout.write(`${JSON.stringify({ path, bytes: result.archive.length })}\n`);
  else
    io.stdout.write(
      `${paint(io, 'green', '✓')} ${path} (${(result.archive.length / 1024).toFixed(1)} KiB, ${result.source})\n` +
        'Token, env values and webhook secrets are removed; look through it before sharing.\n',
    );
  return EXIT.ok;
}
