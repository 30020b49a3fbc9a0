#!/usr/bin/env node
// Builds the four bundles (docs/architecture.md §2): Electron main (CJS), sandboxed preload (one CJS file),
// the renderer (browser ESM + static files) and the plain-Node CLI (ESM with a shebang).
// The CLI bundle must never contain or import `electron`: a resolve hook fails the build if it does.
import { chmod, cp, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import * as esbuild from 'esbuild';
import { readFileSync } from 'node:fs';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}out`;
const watch = process.argv.includes('--watch');

/** Fails the build when `electron` is reachable from a plain-Node bundle. */
const noElectron = {
  name: 'no-electron',
  setup(build) {
    build.onResolve({ filter: /^electron(\/.*)?$|^electron-store$/ }, (args) => ({
      errors: [
        {
          text: `"${args.path}" imported from ${args.importer}: the Node bundles must never import electron`,
        },
      ],
    }));
  },
};

const version = JSON.parse(readFileSync(`${root}package.json`, 'utf8')).version;
const common = {
  bundle: true,
  sourcemap: true,
  logLevel: 'warning',
  absWorkingDir: root,
  define: { LUNA_TRAY_VERSION: JSON.stringify(version) },
};

// Overwrite in place (no `rm -rf out` first): a test or a running `serve` never sees out/ missing.
await mkdir(`${out}/renderer`, { recursive: true });

const builds = [
  // Electron main: everything bundled (electron-store and get-port are ESM-only) except electron.
  {
    ...common,
    entryPoints: ['src/main/index.ts'],
    outfile: 'out/main/index.cjs',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['electron'],
  },
  // Sandboxed preload: a single CommonJS file that may only require('electron').
  {
    ...common,
    entryPoints: ['src/preload/index.ts'],
    outfile: 'out/preload/index.cjs',
    platform: 'node',
    format: 'cjs',
    target: 'chrome120',
    external: ['electron'],
  },
  // Renderer: browser code only.
  {
    ...common,
    entryPoints: ['src/renderer/main.ts'],
    outfile: 'out/renderer/main.js',
    platform: 'browser',
    minify: true,
    format: 'esm',
    target: 'chrome110',
    plugins: [noElectron],
  },
  // CLI + headless server: plain Node; dependencies stay in node_modules.
  {
    ...common,
    // Split at the command table's dynamic imports: a command loads only its own code and
    // packages (`status` must start as fast as `pm2 jlist`: docs/benchmarks.md, cli-startup).
    entryPoints: ['src/cli/index.ts'],
    outdir: 'out/cli',
    splitting: true,
    chunkNames: '[name]-[hash]',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    banner: { js: '#!/usr/bin/env node' },
    plugins: [noElectron],
  },
];

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
await cp(`${root}src/renderer/index.html`, `${out}/renderer/index.html`);
await cp(`${root}src/renderer/styles.css`, `${out}/renderer/styles.css`);
await chmod(`${out}/cli/index.js`, 0o755);
console.log('built out/main, out/preload, out/renderer, out/cli');
