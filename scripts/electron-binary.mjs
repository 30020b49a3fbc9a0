#!/usr/bin/env node
// Fetches Electron's binary when it is missing. `npm ci` runs no install scripts (.npmrc
// `ignore-scripts`), so a machine that cannot reach Electron's download host still installs; this
// script does the download instead, where it can, for `npm start`, `npm run package` and `npm test`.
// When the download fails it says so once, plainly, and (without --required) exits 0: the demo, the
// tests, the CLI and headless mode work without the binary. See README "Quick start".
//
//   node scripts/electron-binary.mjs [--required]   (also: npm run electron:fetch)
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = join(root, 'node_modules', 'electron');
const required = process.argv.includes('--required');

/** The same check as electron's own install script: the binary its path.txt names exists. */
function installed() {
  try {
    const version = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).version;
    const dist = join(pkg, 'dist');
    if (readFileSync(join(dist, 'version'), 'utf8').replace(/^v/, '').trim() !== version) return false;
    return existsSync(join(dist, readFileSync(join(pkg, 'path.txt'), 'utf8').trim()));
  } catch {
    return false;
  }
}

function giveUp(reason) {
  console.error(
    `Electron's binary is not installed (${reason}).\n` +
      'Only the desktop app (npm start, npm run package) and its end-to-end tests need it; the demo, the\n' +
      'other tests, the CLI and headless mode (luna-tray serve) work without it. To get it later, where\n' +
      "Electron's download host (or a mirror: ELECTRON_MIRROR) is reachable: npm run electron:fetch",
  );
  process.exit(required ? 1 : 0);
}

if (installed()) process.exit(0);
if (!existsSync(join(pkg, 'install.js'))) giveUp('the electron package is missing: run npm ci first');
if (process.env.ELECTRON_SKIP_BINARY_DOWNLOAD) giveUp('ELECTRON_SKIP_BINARY_DOWNLOAD is set');

console.log("Downloading Electron's binary…");
const r = spawnSync(process.execPath, [join(pkg, 'install.js')], {
  cwd: pkg,
  env: process.env,
  encoding: 'utf8',
  // A host that drops packets would otherwise hold `npm test` for minutes.
  timeout: Number(process.env.LUNA_TRAY_ELECTRON_TIMEOUT_MS ?? 180_000),
});
if (r.status === 0 && installed()) {
  console.log("Electron's binary is installed.");
  process.exit(0);
}
const firstError =
  (r.stderr ?? '')
    .split('\n')
    .map((l) => l.trim())
    .find((l) => /error/i.test(l)) ?? '';
giveUp(
  r.error?.code === 'ETIMEDOUT'
    ? 'the download timed out'
    : `the download failed${firstError ? `: ${firstError.replace(/^\w*Error: /, '')}` : ''}`,
);
