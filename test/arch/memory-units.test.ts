// One unit for memory in everything a person reads: GiB (and MiB), never "GB" beside "GiB".
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../../src/', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : /\.(ts|html)$/.test(n) ? [p] : [];
  });
}

describe('memory units', () => {
  it('no displayed text says GB or MB (decimal units): sizes are GiB/MiB everywhere', () => {
    const offenders: string[] = [];
    for (const f of files(src)) {
      readFileSync(f, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (/^\s*(\/\/|\*|\/\*)/.test(line)) return; // comments may quote the daemon's field names
          if (/(\d|\}|\)) ?[GM]B\b/.test(line))
            offenders.push(`${f.slice(src.length)}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(offenders).toEqual([]);
  });
});
