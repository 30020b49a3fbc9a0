// Comments and docs stand on their own inside the repository: they cite docs/ (docs/architecture.md,
// docs/daemon-protocol.md, docs/comfyui.md…), never a style guide or specification kept elsewhere.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const DIRS = ['src', 'sim', 'test', 'bench', 'scripts', 'docs', '.ci'];
const TOP = ['README.md', 'eslint.config.js', 'vitest.config.ts', 'electron-builder.yml', 'package.json'];
const TEXT = /\.(ts|mts|mjs|js|cjs|py|md|yml|yaml|json|html|css|sh)$|^run$/;
// Built from pieces so that this file does not match itself.
const OUTSIDE = new RegExp(
  [
    'STYLE' + '\\.md',
    '\\bspec' + ' §',
    'luna-daemon' + '\\.md',
    'comfyui-api' + '\\.md',
    '\\.\\./' + 'shared/(?:spec|seeds)',
  ].join('|'),
);

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    if (n === 'node_modules' || n === 'screenshots') return [];
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : TEXT.test(n) ? [p] : [];
  });
}

describe('references', () => {
  it('point inside the repository (no outside style guide or specification)', () => {
    const all = [...DIRS.map((d) => join(root, d)).flatMap(files), ...TOP.map((f) => join(root, f))];
    expect(all.length).toBeGreaterThan(100);
    const offenders = all.flatMap((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .flatMap((line, i) => (OUTSIDE.test(line) ? [`${relative(root, f)}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(offenders).toEqual([]);
  });
});
