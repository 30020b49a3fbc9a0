/**
 * Checks on untrusted JSON before recursive code walks it (docs/security.md §1 and §5): a value
 * nested thousands of levels deep overflows the stack of every recursive walker (a 15 KB settings
 * file used to crash `serve` and every CLI command), and `__proto__` / `constructor` / `prototype`
 * keys reach object prototypes through naive merges. The walk itself is iterative.
 */

/** Keys that never belong in our JSON objects. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** What {@link inspectJson} found; both null for a value that is safe to walk. */
export interface JsonProblems {
  /** The depth limit, when some value is nested deeper. */
  tooDeep: number | null;
  /** The dotted path of the first forbidden key. */
  forbiddenKey: string | null;
}

/** Inspect a parsed JSON value: nesting beyond `maxDepth` and forbidden keys (first problem only). */
export function inspectJson(value: unknown, maxDepth: number): JsonProblems {
  const stack: { v: unknown; depth: number; path: string }[] = [{ v: value, depth: 0, path: '' }];
  while (stack.length > 0) {
    const { v, depth, path } = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= maxDepth) return { tooDeep: maxDepth, forbiddenKey: null };
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) stack.push({ v: v[i], depth: depth + 1, path: `${path}[${i}]` });
      continue;
    }
    for (const [k, child] of Object.entries(v)) {
      const at = path ? `${path}.${k}` : k;
      if (FORBIDDEN_KEYS.has(k)) return { tooDeep: null, forbiddenKey: at };
      stack.push({ v: child, depth: depth + 1, path: at });
    }
  }
  return { tooDeep: null, forbiddenKey: null };
}

/** Deeper than any valid settings document or API body (settings nest 3 levels today). */
export const MAX_JSON_DEPTH = 32;
