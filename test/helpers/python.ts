import { execFileSync } from 'node:child_process';

let cached: string | undefined;

/**
 * The Python interpreter for simulator-backed tests: `PYTHON`, then `python3`, then `python`.
 * Python is a prerequisite: without it these tests FAIL with a message (they are never skipped).
 */
export function pythonExecutable(): string {
  if (cached) return cached;
  const candidates = [process.env.PYTHON, 'python3', 'python'].filter((c): c is string => !!c);
  for (const c of candidates) {
    try {
      const out = execFileSync(c, ['-c', 'import sys; print(sys.version_info[0])'], { encoding: 'utf8' });
      if (out.trim() === '3') return (cached = c);
    } catch {
      // Not this one; try the next candidate.
    }
  }
  throw new Error(
    'Python 3 not found: the simulator-backed tests need it. Install python3 or set PYTHON=/path/to/python3.',
  );
}
