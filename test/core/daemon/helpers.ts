import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { pythonExecutable } from '../../helpers/python.js';

export const MAKE_PICKLES = fileURLToPath(new URL('../../fixtures/pickles/make_pickles.py', import.meta.url));

/** Run the reference-pickle helper and return its stdout. */
export function runPickleHelper(args: string[], input?: string): string {
  return execFileSync(pythonExecutable(), [MAKE_PICKLES, ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    ...(input !== undefined ? { input } : {}),
  });
}

/** Turn the helper's tagged JSON ({"$bigint"}, {"$bytes"}) back into decoder-shaped values. */
export function revive(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(revive);
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === '$bigint') return BigInt(o.$bigint as string);
    if (keys.length === 1 && keys[0] === '$bytes')
      return new Uint8Array(Buffer.from(o.$bytes as string, 'hex'));
    const out: Record<string, unknown> = {};
    for (const k of keys) {
      if (k === '__proto__')
        Object.defineProperty(out, k, {
          value: revive(o[k]),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      else out[k] = revive(o[k]);
    }
    return out;
  }
  return v;
}

/** Tag decoder output like the helper does, for comparing with Python's view. */
export function tag(v: unknown): unknown {
  if (typeof v === 'bigint') return { $bigint: v.toString() };
  if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString('hex') };
  if (Array.isArray(v)) return v.map(tag);
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === '__proto__')
        Object.defineProperty(out, k, {
          value: tag(x),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      else out[k] = tag(x);
    }
    return out;
  }
  return v;
}
