#!/usr/bin/env node
// `npm run package:check`: package the app offline and check what came out (docs/desktop.md).
// electron-builder runs `--linux --dir` against a STAND-IN Electron distribution (its `electronDist`
// option), so nothing is downloaded: a tiny executable that carries Electron's fuse wire, so the
// `electronFuses` step really runs. electron-builder validates the whole configuration (every
// platform's section) before it builds. Then:
//   - app.asar holds out/{main,preload,renderer}, the icons and package.json; no node_modules, no maps;
//   - extraResources holds the simulator; every path src/main/app-paths.ts resolves exists;
//   - the packaged package.json has name, productName, homepage, author, desktopName;
//   - the fuses are flipped as electron-builder.yml says.
// Needs `npm run build` first (the npm script does it). Exit 0 = all good; prints each check.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import * as esbuild from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
const asar = require('@electron/asar');
const { getCurrentFuseWire, FuseV1Options } = require('@electron/fuses');
/** @electron/fuses' FuseState: the wire stores ASCII '0' and '1'. */
const FuseState = { DISABLE: 0x30, ENABLE: 0x31 };

/** Electron's fuse wire marker (@electron/fuses), version 1, 8 fuses at Electron's defaults. */
const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
const DEFAULT_FUSES = '10110001';

function standInElectron(dir) {
  mkdirSync(join(dir, 'resources'), { recursive: true });
  const wire = Buffer.concat([
    Buffer.from(SENTINEL),
    Buffer.from([1, DEFAULT_FUSES.length]),
    Buffer.from(DEFAULT_FUSES),
  ]);
  const exe = join(dir, 'electron');
  writeFileSync(
    exe,
    Buffer.concat([
      Buffer.from('#!/bin/sh\necho "stand-in Electron: not runnable"\nexit 1\n# '),
      wire,
      Buffer.from('\n'),
    ]),
  );
  chmodSync(exe, 0o755);
  writeFileSync(join(dir, 'LICENSE'), 'stand-in\n');
  writeFileSync(join(dir, 'LICENSES.chromium.html'), '<p>stand-in</p>\n');
  const version = JSON.parse(
    readFileSync(join(root, 'node_modules', 'electron', 'package.json'), 'utf8'),
  ).version;
  writeFileSync(join(dir, 'version'), version);
  return version;
}

/** src/main/app-paths.ts, bundled on the fly (Node cannot import TypeScript itself). */
async function loadAppPaths(tmp) {
  const out = join(tmp, 'app-paths.mjs');
  await esbuild.build({
    entryPoints: [join(root, 'src', 'main', 'app-paths.ts')],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    logLevel: 'silent',
  });
  return (await import(pathToFileURL(out).href)).resolveAppPaths;
}

const failures = [];
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
}

async function main() {
  if (!existsSync(join(root, 'out', 'main', 'index.cjs'))) {
    console.error('out/ is missing: run `npm run build` first (npm run package:check does).');
    return 2;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'luna-package-check-'));
  try {
    const dist = join(tmp, 'electron-dist');
    const electronVersion = standInElectron(dist);
    const output = join(tmp, 'dist');
    const started = Date.now();
    const cli = join(root, 'node_modules', 'electron-builder', 'cli.js');
    const r = spawnSync(
      process.execPath,
      [
        cli,
        '--linux',
        'dir',
        '--config',
        'electron-builder.yml',
        `-c.electronDist=${dist}`,
        `-c.electronVersion=${electronVersion}`,
        `-c.directories.output=${output}`,
        '--publish',
        'never',
      ],
      { cwd: root, encoding: 'utf8', env: { ...process.env, ELECTRON_BUILDER_OFFLINE: 'true', CI: 'true' } },
    );
    check(r.status === 0, `electron-builder --linux --dir (config validated) in ${Date.now() - started} ms`);
    if (r.status !== 0) {
      console.error(r.stdout, r.stderr);
      return 1;
    }
    const unpacked = join(output, 'linux-unpacked');
    const resources = join(unpacked, 'resources');
    const asarFile = join(resources, 'app.asar');
    check(existsSync(asarFile), 'resources/app.asar exists');
    const files = new Set(asar.listPackage(asarFile, {}).map((f) => f.replaceAll('\\', '/')));
    for (const f of [
      '/package.json',
      '/out/main/index.cjs',
      '/out/preload/index.cjs',
      '/out/renderer/index.html',
      '/out/renderer/main.js',
      '/out/renderer/styles.css',
      '/assets/icons/icon.png',
      '/assets/icons/tray-gray-32.png',
      '/assets/icons/tray-gray.ico',
    ])
      check(files.has(f), `app.asar holds ${f}`);
    check(![...files].some((f) => f.includes('/node_modules/')), 'app.asar holds no node_modules');
    check(![...files].some((f) => f.endsWith('.map')), 'app.asar holds no source maps');
    check(
      existsSync(join(resources, 'sim', 'luna_daemon_sim.py')),
      'extraResources: resources/sim/luna_daemon_sim.py',
    );

    const pkg = JSON.parse(asar.extractFile(asarFile, 'package.json').toString('utf8'));
    for (const key of ['name', 'productName', 'version', 'homepage', 'author', 'main', 'desktopName'])
      check(pkg[key] !== undefined && pkg[key] !== '', `packaged package.json has ${key}`);
    check(pkg.productName === 'Luna Tray', `app.getName() will be "${pkg.productName}"`);

    const resolveAppPaths = await loadAppPaths(tmp);
    const paths = resolveAppPaths({
      mainDir: join(asarFile, 'out', 'main'),
      isPackaged: true,
      resourcesPath: resources,
    });
    for (const [key, p] of Object.entries(paths)) {
      const inAsar = relative(asarFile, p);
      const exists = inAsar.startsWith('..')
        ? existsSync(p)
        : [...files].some((f) => f === `/${inAsar.replaceAll('\\', '/')}` || f.startsWith(`/${inAsar}/`));
      check(exists, `app-paths ${key} → ${relative(unpacked, p)}`);
    }

    const exe = join(unpacked, 'luna-tray');
    check(existsSync(exe), 'the executable is named luna-tray (linux.executableName)');
    const wire = await getCurrentFuseWire(exe);
    const fuse = (o) => wire[o];
    check(fuse(FuseV1Options.RunAsNode) === FuseState.DISABLE, 'fuse RunAsNode off');
    check(
      fuse(FuseV1Options.EnableNodeOptionsEnvironmentVariable) === FuseState.DISABLE,
      'fuse NODE_OPTIONS off',
    );
    check(fuse(FuseV1Options.EnableNodeCliInspectArguments) === FuseState.DISABLE, 'fuse --inspect off');
    check(fuse(FuseV1Options.OnlyLoadAppFromAsar) === FuseState.ENABLE, 'fuse OnlyLoadAppFromAsar on');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  console.log(
    failures.length === 0 ? 'package:check passed' : `package:check FAILED: ${failures.length} check(s)`,
  );
  return failures.length === 0 ? 0 : 1;
}

process.exitCode = await main();
