import { mergeSettings, settingsSchema, type Settings } from '../../shared/settings-schema.js';
import type { SettingsStore } from '../settings/settings-store.js';

/**
 * A settings store seen through fixed overrides that are never written to disk: `serve --demo`
 * runs the simulator profile without changing the user's saved launch profile.
 */
export function withOverrides(inner: SettingsStore, overrides: Record<string, unknown>): SettingsStore {
  const apply = (s: Settings): Settings => settingsSchema.parse(mergeSettings(s, overrides));
  return {
    get: () => apply(inner.get()),
    update(patch) {
      const r = inner.update(patch);
      return r.ok ? { ok: true, settings: apply(r.settings) } : r;
    },
    onDidChange: (listener) => inner.onDidChange((s, previous) => listener(apply(s), apply(previous))),
    get location() {
      return inner.location;
    },
    get warnings() {
      return inner.warnings;
    },
  };
}
