// The sandboxed preload must bundle to ONE CommonJS file that requires only 'electron' (docs/architecture.md
// §2), built with the same esbuild options as scripts/build.mjs.
import { fileURLToPath } from 'node:url';

import * as esbuild from 'esbuild';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('preload bundle', () => {
  it('is one CJS file that requires only electron and contains no zod', async () => {
    const out = await esbuild.build({
      entryPoints: ['src/preload/index.ts'],
      absWorkingDir: root,
      bundle: true,
      write: false,
      platform: 'node',
      format: 'cjs',
      target: 'chrome120',
      external: ['electron'],
      metafile: true,
      logLevel: 'silent',
    });
    expect(out.outputFiles).toHaveLength(1);
    const text = out.outputFiles[0]!.text;
    const requires = [...text.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]);
    expect(new Set(requires)).toEqual(new Set(['electron']));
    const inputs = Object.keys(out.metafile.inputs);
    expect(inputs.filter((i) => i.includes('node_modules'))).toEqual([]);
    expect(text).toContain('exposeInMainWorld');
  });
});
