// Secrets never leave the machine in a diagnostics bundle: the control token, every `env` value
// and webhook URL userinfo, query values and header values (docs/diagnostics.md). Two layers: the
// settings are redacted by structure, and every file is then scrubbed of each secret's text.
import { redactUrl } from '../notify/webhooks.js';

export const REDACTED = '***';

/** Shorter values (`0`, `1`) are no secrets and would scrub unrelated text everywhere. */
const MIN_SECRET_LENGTH = 4;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A copy of `settings` with every `env` record's values (at any depth: one daemon or several),
 * every `headers` record's values and every webhook `url`'s secrets replaced.
 */
export function redactSettings(settings: unknown): unknown {
  const walk = (v: unknown, key: string): unknown => {
    if (Array.isArray(v)) return v.map((x) => walk(x, ''));
    if (!isObject(v)) return key === 'url' && typeof v === 'string' ? redactUrl(v) : v;
    if (key === 'env' || key === 'headers') {
      return Object.fromEntries(Object.keys(v).map((k) => [k, REDACTED]));
    }
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, k)]));
  };
  return walk(settings, '');
}

/** The secret strings in `settings` (env and header values, webhook URL credentials and query values). */
export function secretsOf(settings: unknown, token: string | null): string[] {
  const out = new Set<string>();
  if (token) out.add(token);
  const walk = (v: unknown, key: string): void => {
    if (Array.isArray(v)) return v.forEach((x) => walk(x, ''));
    if (isObject(v)) {
      if (key === 'env' || key === 'headers') {
        for (const x of Object.values(v)) if (typeof x === 'string') out.add(x);
        return;
      }
      for (const [k, x] of Object.entries(v)) walk(x, k);
      return;
    }
    if (key === 'url' && typeof v === 'string') {
      try {
        const u = new URL(v);
        for (const s of [u.username, u.password, ...u.searchParams.values()]) {
          out.add(s);
          out.add(decodeURIComponent(s));
        }
      } catch {
        // Not a URL: nothing to take apart.
      }
    }
  };
  walk(settings, '');
  return [...out].filter((s) => s.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
}

/** `text` with every occurrence of each secret replaced (longest first, so none is left half). */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join(REDACTED);
  return out;
}
