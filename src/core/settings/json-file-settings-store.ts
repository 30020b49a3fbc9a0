import { copyFileSync, existsSync, readFileSync } from 'node:fs';

import type { Settings } from '../../shared/settings-schema.js';
import {
  defaultSettings,
  getSettingByKey,
  SETTINGS_VERSION,
  settingsSchema,
} from '../../shared/settings-schema.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import { MAX_JSON_DEPTH, inspectJson } from '../util/json-guard.js';
import { migrate } from './migrations.js';
import {
  findUnknownKeys,
  SettingsListeners,
  settingsEqual,
  type SettingsListener,
  type SettingsStore,
  type SettingsUpdateResult,
  prepareSettingsUpdate,
} from './settings-store.js';

/** Options of {@link JsonFileSettingsStore}. */
export interface JsonFileSettingsStoreOptions {
  /** Clock for backup names, for tests. */
  now?: () => Date;
}

/** Result of {@link JsonFileSettingsStore.reload}. */
export interface SettingsReloadResult {
  changed: boolean;
  /** Warnings produced by this reload (also appended to `warnings`). */
  warnings: string[];
}

interface LoadResult {
  settings: Settings;
  warnings: string[];
  /** Write the repaired/migrated settings back (only when the original is safely backed up). */
  shouldRewrite: boolean;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Reset every invalid value to its default while keeping every valid one: repeatedly validate and
 * delete the offending key (for an array element, the whole array). Returns the settings and one
 * line per problem.
 */
export function repairSettings(raw: Record<string, unknown>): { settings: Settings; problems: string[] } {
  const value = structuredClone(raw);
  const problems: string[] = [];
  const defaults = defaultSettings();
  for (let attempt = 0; attempt < 20; attempt++) {
    const parsed = settingsSchema.safeParse(value);
    if (parsed.success) return { settings: parsed.data, problems };
    let removedAny = false;
    for (const issue of parsed.error.issues) {
      const removed = removeAt(value, issue.path);
      if (removed === null) continue;
      removedAny = true;
      const fallback = getSettingByKey(defaults, removed);
      problems.push(`${removed}: ${issue.message} (using the default: ${JSON.stringify(fallback)})`);
    }
    if (!removedAny) break;
  }
  problems.push('the file could not be repaired key by key: using all defaults');
  return { settings: defaults, problems };
}

/** Delete the deepest object property on `path` (array elements delete their array); returns its dotted key. */
function removeAt(root: Record<string, unknown>, path: readonly PropertyKey[]): string | null {
  let container: unknown = root;
  let target: { obj: Record<string, unknown>; key: string; depth: number } | null = null;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    if (isPlainObject(container) && typeof seg === 'string' && seg in container) {
      target = { obj: container, key: seg, depth: i };
      container = container[seg];
    } else if (Array.isArray(container) && typeof seg === 'number') {
      container = container[seg];
    } else {
      break;
    }
  }
  if (!target) return null;
  delete target.obj[target.key];
  return path
    .slice(0, target.depth + 1)
    .map(String)
    .join('.');
}

/**
 * Settings in a JSON file (headless host; docs/architecture.md §12). Loading never throws and never resets
 * silently:
 * - missing file → defaults, no warning (the file is created on the first change);
 * - unreadable (permissions) → defaults and a warning;
 * - not JSON, empty or truncated → the file is copied to `<path>.corrupt-<timestamp>`, defaults are
 *   used and written, and a warning names the backup;
 * - parseable but with invalid values → same backup, every VALID key is kept and only the invalid
 *   ones fall back to their defaults (one warning line per key);
 * - unknown keys → dropped with a warning (the backup keeps them);
 * - an older version → migrated (`migrations.ts`), the original is backed up, the result written;
 * - a NEWER version → backed up and a warning; the keys this version understands are used, but the
 *   file is not rewritten until the user changes a setting (no silent downgrade).
 * Writes are atomic (temporary file + rename) with mode 0600.
 */
export class JsonFileSettingsStore implements SettingsStore {
  readonly location: string;
  readonly #warnings: string[] = [];
  readonly #listeners = new SettingsListeners();
  readonly #now: () => Date;
  #settings: Settings;

  constructor(path: string, options: JsonFileSettingsStoreOptions = {}) {
    this.location = path;
    this.#now = options.now ?? (() => new Date());
    const loaded = this.#load();
    this.#settings = loaded.settings;
    this.#warnings.push(...loaded.warnings);
    if (loaded.shouldRewrite) this.#tryWrite(loaded.settings);
  }

  /** Problems found while loading or reloading, for the user. */
  get warnings(): readonly string[] {
    return this.#warnings;
  }

  /** The current settings. */
  get(): Settings {
    return this.#settings;
  }

  /** See {@link SettingsStore.update}. Persists before publishing; a failed write changes nothing. */
  update(patch: unknown): SettingsUpdateResult {
    const previous = this.#settings;
    const { result, changed } = prepareSettingsUpdate(previous, patch, this.location, (next) =>
      writeFileAtomicSync(this.location, `${JSON.stringify(next, null, 2)}\n`),
    );
    if (changed && result.ok) {
      this.#settings = result.settings;
      this.#listeners.emit(result.settings, previous);
    }
    return result;
  }

  /** See {@link SettingsStore.onDidChange}. */
  onDidChange(listener: SettingsListener): () => void {
    return this.#listeners.add(listener);
  }

  /** Re-read the file (external edits); notifies listeners when the settings changed. */
  reload(): SettingsReloadResult {
    const loaded = this.#load();
    this.#warnings.push(...loaded.warnings);
    if (loaded.shouldRewrite) this.#tryWrite(loaded.settings);
    const previous = this.#settings;
    if (settingsEqual(previous, loaded.settings)) return { changed: false, warnings: loaded.warnings };
    this.#settings = loaded.settings;
    this.#listeners.emit(loaded.settings, previous);
    return { changed: true, warnings: loaded.warnings };
  }

  #tryWrite(settings: Settings): void {
    try {
      writeFileAtomicSync(this.location, `${JSON.stringify(settings, null, 2)}\n`);
    } catch (error) {
      this.#warnings.push(`Could not save settings to ${this.location}: ${errorText(error)}`);
    }
  }

  /** Copy the current file aside; returns the backup path, or null (with a warning) when that failed. */
  #backup(reason: string, warnings: string[]): string | null {
    const stamp = this.#now().toISOString().replace(/[-:.]/g, '');
    let target = `${this.location}.${reason}-${stamp}`;
    for (let n = 2; existsSync(target); n++) target = `${this.location}.${reason}-${stamp}-${n}`;
    try {
      copyFileSync(this.location, target);
      return target;
    } catch (error) {
      warnings.push(
        `Could not back up ${this.location} to ${target}: ${errorText(error)}. The file is left untouched.`,
      );
      return null;
    }
  }

  #load(): LoadResult {
    const path = this.location;
    const warnings: string[] = [];
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        return { settings: defaultSettings(), warnings, shouldRewrite: false };
      }
      warnings.push(`Could not read settings file ${path} (${errorText(error)}): using defaults.`);
      return { settings: defaultSettings(), warnings, shouldRewrite: false };
    }

    let raw: unknown;
    let parseError: string | null = null;
    if (text.trim() === '') parseError = 'the file is empty';
    else {
      try {
        raw = JSON.parse(text);
      } catch (error) {
        parseError = `not valid JSON (${errorText(error)})`;
      }
    }
    // Deeper than any valid settings: corrupt, before any recursive code can overflow the stack.
    const tooDeep = parseError === null ? inspectJson(raw, MAX_JSON_DEPTH).tooDeep : null;
    if (tooDeep !== null) parseError = `nested deeper than ${tooDeep} levels, unlike any valid settings`;
    if (parseError !== null || !isPlainObject(raw)) {
      const why = parseError ?? 'the file does not contain a JSON object';
      const backup = this.#backup('corrupt', warnings);
      if (backup)
        warnings.push(
          `Settings file ${path} is corrupt: ${why}. It was backed up to ${backup}; using defaults.`,
        );
      else warnings.push(`Settings file ${path} is corrupt: ${why}. Using defaults.`);
      return { settings: defaultSettings(), warnings, shouldRewrite: backup !== null };
    }

    const migrated = migrate(raw);
    let value = migrated.value as Record<string, unknown>;
    let backup: string | null = null;
    let isNewer = false;
    if (migrated.isNewer) {
      isNewer = true;
      backup = this.#backup(`from-v${migrated.fromVersion}`, warnings);
      warnings.push(
        `Settings file ${path} was written by a newer Luna Tray (settings version ${migrated.fromVersion}; this ` +
          `version understands ${SETTINGS_VERSION}). ${backup ? `A copy is at ${backup}. ` : ''}Only the settings ` +
          'this version knows are used; the file is rewritten only when you change a setting.',
      );
      value = { ...value, version: SETTINGS_VERSION };
    } else if (migrated.applied.length > 0) {
      backup = this.#backup(`v${migrated.fromVersion}-backup`, warnings);
      warnings.push(
        `Settings file ${path} was migrated from version ${migrated.fromVersion} to ${SETTINGS_VERSION}` +
          `${backup ? `; the original is at ${backup}` : ''}.`,
      );
    }

    const unknownKeys = findUnknownKeys(value);
    const { settings, problems } = repairSettings(value);
    if (unknownKeys.length > 0 || problems.length > 0) {
      backup ??= isNewer ? null : this.#backup('corrupt', warnings);
      const where = backup ? ` The original is at ${backup}.` : '';
      if (unknownKeys.length > 0)
        warnings.push(`Unknown settings in ${path} were ignored: ${unknownKeys.join(', ')}.${where}`);
      if (problems.length > 0) {
        warnings.push(
          `Invalid settings in ${path} were reset to their defaults: ${problems.join('; ')}.${where}`,
        );
      }
    }
    const changedOnDisk = migrated.applied.length > 0 || unknownKeys.length > 0 || problems.length > 0;
    return { settings, warnings, shouldRewrite: !isNewer && changedOnDisk && backup !== null };
  }
}
