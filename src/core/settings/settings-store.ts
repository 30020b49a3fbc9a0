import type { Settings, SettingsIssue } from '../../shared/settings-schema.js';
import { MAX_JSON_DEPTH, inspectJson } from '../util/json-guard.js';
import {
  defaultSettings,
  mergeSettings,
  settingsSchema,
  toSettingsIssues,
  usesDaemonAlias,
} from '../../shared/settings-schema.js';

/** Result of {@link SettingsStore.update}. */
export type SettingsUpdateResult =
  | { ok: true; settings: Settings }
  /** `saveError`: the settings were valid but could not be written (disk full, I/O error, read-only file). */
  | { ok: false; issues: SettingsIssue[]; saveError?: string };

/** Called after every change with the new and the previous settings. */
export type SettingsListener = (settings: Settings, previous: Settings) => void;

/**
 * What core sees of settings persistence (docs/architecture.md §12). Implementations: `MemorySettingsStore`
 * (tests), `JsonFileSettingsStore` (headless), `ElectronSettingsStore` (main).
 */
export interface SettingsStore {
  /** The current, valid settings. Treat as read-only. */
  get(): Settings;
  /**
   * Merge a deep-partial patch into the current settings (arrays and `env` replace, objects merge),
   * validate the whole result, and keep it only when valid. Unknown keys are rejected.
   */
  update(patch: unknown): SettingsUpdateResult;
  /** Subscribe to changes; returns the disposer. */
  onDidChange(listener: SettingsListener): () => void;
  /** Where settings live (a file path, or `memory`). */
  readonly location: string;
  /** Problems found while loading (corrupt file backed up, unknown keys dropped, …), for the user. */
  readonly warnings: readonly string[];
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Dotted keys present in `value` but not in the settings schema (compared with the defaults; the
 * contents of a daemon's `env` are free-form). Each daemon entry — in a `daemons` list, an index
 * patch `{daemons: {"1": …}}` or the single-daemon form `daemon` — is compared with a default entry.
 */
export function findUnknownKeys(value: unknown, shape: unknown = defaultSettings(), prefix = ''): string[] {
  if (!isPlainObject(value) || !isPlainObject(shape)) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    const key = prefix ? `${prefix}.${k}` : k;
    // Own keys only: `__proto__` or `constructor` must not pass as known through the prototype.
    if (prefix === '' && k === 'daemon' && !Object.hasOwn(shape, k)) {
      out.push(...findUnknownKeys(v, entryShape(shape), key));
    } else if (!Object.hasOwn(shape, k)) out.push(key);
    else if (Array.isArray(shape[k]) && isPlainObject((shape[k] as unknown[])[0])) {
      const element = (shape[k] as unknown[])[0];
      const items: [string, unknown][] = Array.isArray(v)
        ? v.map((item, i) => [String(i), item])
        : isPlainObject(v)
          ? Object.entries(v)
          : [];
      for (const [i, item] of items) out.push(...findUnknownKeys(item, element, `${key}.${i}`));
    } else if (!/^daemons?(\.\d+)?\.env$/.test(key)) out.push(...findUnknownKeys(v, shape[k], key));
  }
  return out;
}

/** The shape of one daemon entry: the first default entry. */
function entryShape(shape: Record<string, unknown>): unknown {
  return Array.isArray(shape.daemons) ? shape.daemons[0] : undefined;
}

/**
 * Validate `patch` merged into `current`: the shared core of every store's `update`. Returns the
 * new settings, or issues with dotted keys.
 */
export function applySettingsPatch(current: Settings, patch: unknown): SettingsUpdateResult {
  if (!isPlainObject(patch)) {
    return { ok: false, issues: [{ key: '', message: 'a settings update must be an object' }] };
  }
  const problems = inspectJson(patch, MAX_JSON_DEPTH);
  if (problems.forbiddenKey !== null)
    return { ok: false, issues: [{ key: problems.forbiddenKey, message: 'forbidden key' }] };
  if (problems.tooDeep !== null) {
    return { ok: false, issues: [{ key: '', message: `nested deeper than ${problems.tooDeep} levels` }] };
  }
  const unknown = findUnknownKeys(patch);
  if (unknown.length > 0) {
    return { ok: false, issues: unknown.map((key) => ({ key, message: 'unknown setting' })) };
  }
  const parsed = settingsSchema.safeParse(mergeSettings(current, patch));
  if (!parsed.success) {
    const issues = toSettingsIssues(parsed.error);
    // A patch in the single-daemon form hears about its keys in that form (`daemon.port`).
    if (!usesDaemonAlias(patch)) return { ok: false, issues };
    return {
      ok: false,
      issues: issues.map((i) => ({
        key: i.key.replace(/^daemons\.0(?=\.|$)/, 'daemon'),
        message: i.message.replace(/config set daemons\.0\./g, 'config set daemon.'),
      })),
    };
  }
  return { ok: true, settings: parsed.data };
}

/**
 * The update algorithm every store shares: validate the merged patch, treat an identical result as
 * a no-op, then persist — a failed write changes nothing and comes back as an issue. `changed` tells
 * the store to adopt `result.settings` and publish it. Stores differ only in `persist` (none in
 * memory, an atomic file write, electron-store).
 */
export function prepareSettingsUpdate(
  current: Settings,
  patch: unknown,
  location: string,
  persist?: (next: Settings) => void,
): { result: SettingsUpdateResult; changed: boolean } {
  const result = applySettingsPatch(current, patch);
  if (!result.ok) return { result, changed: false };
  if (settingsEqual(current, result.settings))
    return { result: { ok: true, settings: current }, changed: false };
  try {
    persist?.(result.settings);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const saveError = `could not save settings to ${location}: ${message}`;
    return { result: { ok: false, issues: [{ key: '', message: saveError }], saveError }, changed: false };
  }
  return { result, changed: true };
}

/** Structural equality of two JSON-like values (settings are plain JSON data). */
export function settingsEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A listener registry shared by the stores; a throwing listener does not stop the others. */
export class SettingsListeners {
  readonly #listeners = new Set<SettingsListener>();

  /** Add a listener; returns the disposer. */
  add(listener: SettingsListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Call every listener. */
  emit(settings: Settings, previous: Settings): void {
    for (const listener of this.#listeners) {
      try {
        listener(settings, previous);
      } catch (error) {
        // One broken subscriber must not hide the change from the others (or fail the update).
        console.error('settings listener failed:', error);
      }
    }
  }
}
