import type { Settings } from '../../shared/settings-schema.js';
import { defaultSettings, settingsSchema } from '../../shared/settings-schema.js';
import {
  applySettingsPatch,
  SettingsListeners,
  type SettingsListener,
  type SettingsStore,
  type SettingsUpdateResult,
  prepareSettingsUpdate,
} from './settings-store.js';

/** Settings kept in memory only (tests, and hosts that must not write anything). */
export class MemorySettingsStore implements SettingsStore {
  readonly location = 'memory';
  readonly warnings: readonly string[] = [];
  #settings: Settings;
  readonly #listeners = new SettingsListeners();

  /** Start from the defaults, or from `initial` (a deep-partial patch over the defaults; throws if invalid). */
  constructor(initial?: unknown) {
    if (initial === undefined) {
      this.#settings = defaultSettings();
      return;
    }
    const result = applySettingsPatch(defaultSettings(), initial);
    if (!result.ok) {
      throw new TypeError(
        `invalid initial settings: ${result.issues.map((i) => `${i.key || '(root)'}: ${i.message}`).join('; ')}`,
      );
    }
    this.#settings = settingsSchema.parse(result.settings);
  }

  /** The current settings. */
  get(): Settings {
    return this.#settings;
  }

  /** See {@link SettingsStore.update}. */
  update(patch: unknown): SettingsUpdateResult {
    const previous = this.#settings;
    const { result, changed } = prepareSettingsUpdate(previous, patch, this.location);
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
}
