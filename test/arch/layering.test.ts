import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|mts|js|mjs)$/.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

/** Every module specifier a file imports, re-exports or `import()`s. */
function specifiers(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  const re =
    /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s+['"]([^'"]+)['"]/gm;
  for (const m of text.matchAll(re)) out.push((m[1] ?? m[2] ?? m[3] ?? m[4])!);
  return out;
}

/** The layering rules of docs/architecture.md §1 that matter most, checked on the source text. */
const rules: { dir: string; forbidden: RegExp; why: string }[] = [
  {
    dir: 'src/core',
    forbidden: /^electron($|\/)|^electron-store$|\/(main|preload|renderer|cli)\//,
    why: 'src/core is plain Node',
  },
  { dir: 'src/shared', forbidden: /^(?!zod$|\.)/, why: 'src/shared may import only zod and itself' },
  {
    dir: 'src/renderer',
    forbidden: /^node:|^electron|\/core\/|\/main\//,
    why: 'the renderer talks to an injected bridge only',
  },
  { dir: 'src/cli', forbidden: /^electron|\/main\//, why: 'the CLI is plain Node' },
];

describe('layering', () => {
  for (const rule of rules) {
    it(`${rule.dir} respects: ${rule.why}`, () => {
      const files = sourceFiles(rule.dir);
      expect(files.length).toBeGreaterThan(0);
      const violations = files.flatMap((f) =>
        specifiers(f)
          .filter((s) => rule.forbidden.test(s))
          .map((s) => `${relative(root, f)} imports ${s}`),
      );
      expect(violations).toEqual([]);
    });
  }

  it('the rule itself catches an electron import (guard against a vacuous check)', () => {
    const sample = "import { app } from 'electron';\nconst x = await import('electron');";
    const found = [...sample.matchAll(/from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)/g)].map(
      (m) => m[1] ?? m[2],
    );
    expect(found.filter((s) => rules[0]!.forbidden.test(s!))).toHaveLength(2);
  });
});

describe('the Supervisor and its parts (src/core/supervisor)', () => {
  const dir = join(root, 'src/core/supervisor');
  const files = sourceFiles('src/core/supervisor');
  /** Local imports of each file in the folder, by file name. */
  const graph = new Map(
    files.map((f) => [
      relative(dir, f),
      specifiers(f)
        .filter((s) => s.startsWith('./'))
        .map((s) => s.slice(2).replace(/\.js$/, '.ts')),
    ]),
  );

  it('no part imports the coordinator (supervisor.ts): parts report back through callbacks', () => {
    const offenders = [...graph].filter(
      ([f, deps]) => f !== 'supervisor.ts' && deps.includes('supervisor.ts'),
    );
    expect(offenders.map(([f]) => f)).toEqual([]);
    // Guard against a vacuous check: the coordinator does use its parts.
    expect(graph.get('supervisor.ts')).toEqual(
      expect.arrayContaining([
        'observed-state.ts',
        'start-sequence.ts',
        'daemon-process.ts',
        'liveness.ts',
        'restart-scheduler.ts',
      ]),
    );
  });

  it('has no import cycles', () => {
    const cycles: string[] = [];
    const visit = (f: string, path: string[]): void => {
      if (path.includes(f)) {
        cycles.push([...path.slice(path.indexOf(f)), f].join(' → '));
        return;
      }
      for (const d of graph.get(f) ?? []) visit(d, [...path, f]);
    };
    for (const f of graph.keys()) visit(f, []);
    expect(cycles).toEqual([]);
  });
});
