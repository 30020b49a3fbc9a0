// The Electron host's SettingsStore (docs/architecture.md §12; the split of sindresorhus/conf and
// electron-store): electron-store supplies the file (atomic writes, the data directory); the core supplies
// the rules, shared with the headless JsonFileSettingsStore so both faces treat the same settings.json alike:
// our own pure `migrate()`, key-by-key repair, unknown keys dropped with a warning, every damaged file backed
// up first, never a silent reset. electron-store's `migrations` option is NOT used (unsupported upstream).
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

import ElectronStore from 'electron-store';

import { migrate } from '../core/settings/migrations.js';
import { repairSettings } from '../core/settings/json-file-settings-store.js';
import {
  findUnknownKeys,
  SettingsListeners,
  settingsEqual,
  type SettingsListener,
  type SettingsStore,
  type SettingsUpdateResult,
  prepareSettingsUpdate,
} from '../core/settings/settings-store.js';
import { defaultSettings, SETTINGS_VERSION, type Settings } from '../shared/settings-schema.js';

/** Options of ElectronSettingsStore. */
export interface ElectronSettingsStoreOptions {
  /** The directory of the settings file (the data directory). */
  cwd: string;
  /** File name without `.json` (default `settings`: the same file headless mode uses). */
  name?: string;
  /** Clock for backup file names. */
  now?: () => Date;
}

type Backend = ElectronStore<Record<string, unknown>>;

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A SettingsStore over electron-store, validated with the shared schema. */
export class ElectronSettingsStore implements SettingsStore {
  readonly #warnings: string[] = [];
  readonly #listeners = new SettingsListeners();
  readonly #now: () => Date;
  readonly #store: Backend;
  #settings: Settings;

  constructor(opts: ElectronSettingsStoreOptions) {
    this.#now = opts.now ?? (() => new Date());
    const name = opts.name ?? 'settings';
    const path = join(opts.cwd, `${name}.json`);
    const storeOptions = {
      cwd: opts.cwd,
      name,
      // We validate ourselves; an unparsable file must be backed up first, not cleared.
      clearInvalidConfig: false,
      accessPropertiesByDotNotation: false,
      watch: false,
    };
    let store: Backend;
    let corrupt = false;
    try {
      store = new ElectronStore<Record<string, unknown>>(storeOptions);
    } catch (e) {
      // Not JSON (or truncated): electron-store throws from its constructor. Keep the user's file.
      corrupt = true;
      const backup = this.#backup(path, 'corrupt');
      this.#warnings.push(
        `Settings file ${path} is corrupt: not valid JSON (${errorText(e)}).` +
          `${backup ? ` It was backed up to ${backup};` : ''} using defaults.`,
      );
      store = new ElectronStore<Record<string, unknown>>({ ...storeOptions, clearInvalidConfig: true });
    }
    this.#store = store;
    const loaded = corrupt ? { settings: defaultSettings(), rewrite: true } : this.#load(path);
    this.#settings = loaded.settings;
    if (loaded.rewrite) this.#write(loaded.settings);
  }

  /** Where the settings live. */
  get location(): string {
    return this.#store.path;
  }

  /** Problems found while loading, for the user. */
  get warnings(): readonly string[] {
    return this.#warnings;
  }

  get(): Settings {
    return this.#settings;
  }

  /** Validate the merged result; persist before publishing (a failed write changes nothing). */
  update(patch: unknown): SettingsUpdateResult {
    const previous = this.#settings;
    const { result, changed } = prepareSettingsUpdate(previous, patch, this.location, (next) => {
      this.#store.store = { ...next };
    });
    if (changed && result.ok) {
      this.#settings = result.settings;
      this.#listeners.emit(result.settings, previous);
    }
    return result;
  }

  onDidChange(listener: SettingsListener): () => void {
    return this.#listeners.add(listener);
  }

  #load(path: string): { settings: Settings; rewrite: boolean } {
    const raw: Record<string, unknown> = { ...this.#store.store };
    if (Object.keys(raw).length === 0) return { settings: defaultSettings(), rewrite: true };

    const migrated = migrate(raw);
    let value = migrated.value as Record<string, unknown>;
    let backup: string | null = null;
    if (migrated.isNewer) {
      // Written by a newer Luna Tray: use what we understand, never silently downgrade the file.
      backup = this.#backup(path, `from-v${migrated.fromVersion}`);
      this.#warnings.push(
        `Settings file ${path} was written by a newer Luna Tray (settings version ${migrated.fromVersion}; this ` +
          `version understands ${SETTINGS_VERSION}).${backup ? ` A copy is at ${backup}.` : ''} Only the settings ` +
          'this version knows are used; the file is rewritten only when you change a setting.',
      );
      value = { ...value, version: SETTINGS_VERSION };
    } else if (migrated.applied.length > 0) {
      backup = this.#backup(path, `v${migrated.fromVersion}-backup`);
      this.#warnings.push(
        `Settings file ${path} was migrated from version ${migrated.fromVersion} to ${SETTINGS_VERSION}` +
          `${backup ? `; the original is at ${backup}` : ''}.`,
      );
    }

    const unknownKeys = findUnknownKeys(value);
    const { settings, problems } = repairSettings(value);
    if (unknownKeys.length > 0 || problems.length > 0) {
      backup ??= migrated.isNewer ? null : this.#backup(path, 'corrupt');
      const where = backup ? ` The original is at ${backup}.` : '';
      if (unknownKeys.length > 0)
        this.#warnings.push(`Unknown settings in ${path} were ignored: ${unknownKeys.join(', ')}.${where}`);
      if (problems.length > 0)
        this.#warnings.push(
          `Invalid settings in ${path} were reset to their defaults: ${problems.join('; ')}.${where}`,
        );
    }
    // Rewrite filled-in defaults, migrations and repairs, but only once the original is safe.
    const differs = !settingsEqual(settings, raw);
    const repaired = migrated.applied.length > 0 || unknownKeys.length > 0 || problems.length > 0;
    return { settings, rewrite: !migrated.isNewer && differs && (!repaired || backup !== null) };
  }

  #write(settings: Settings): void {
    try {
      this.#store.store = { ...settings };
    } catch (e) {
      this.#warnings.push(`Could not save settings to ${this.location}: ${errorText(e)}`);
    }
  }

  /** Copy the file aside (`settings.json.<reason>-<stamp>`); null when that failed or there is none. */
  #backup(path: string, reason: string): string | null {
    if (!existsSync(path)) return null;
    const stamp = this.#now().toISOString().replace(/[-:.]/g, '');
    let target = `${path}.${reason}-${stamp}`;
    for (let n = 2; existsSync(target); n++) target = `${path}.${reason}-${stamp}-${n}`;
    try {
      copyFileSync(path, target);
      return target;
    } catch (e) {
      this.#warnings.push(
        `Could not back up ${path} to ${target}: ${errorText(e)}. The file is left untouched.`,
      );
      return null;
    }
  }
}
