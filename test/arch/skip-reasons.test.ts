// Every conditional skip says why (`ctx.skip(condition, note)`): the `npm test` summary prints the
// note next to each skipped test (test/reporters/skip-reasons.ts). skipIf/runIf/.skip carry none.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const testDir = fileURLToPath(new URL('../', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : n.endsWith('.test.ts') ? [p] : [];
  });
}

describe('skipped tests', () => {
  it('are skipped with ctx.skip(condition, note), never a silent skipIf/runIf/.skip', () => {
    const silent = /\b(?:it|test|describe)\.(?:skipIf|runIf|skip|todo)\b/;
    const offenders = files(testDir).flatMap((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .flatMap((line, i) =>
          silent.test(line) && !line.includes('silent =') ? [`${f.slice(testDir.length)}:${i + 1}`] : [],
        ),
    );
    expect(offenders).toEqual([]);
  });
});
