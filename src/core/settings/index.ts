/**
 * Settings persistence (docs/architecture.md §12): the store interface, its implementations, migrations,
 * launch profiles.
 */
export type { SettingsListener, SettingsStore, SettingsUpdateResult } from './settings-store.js';
export { applySettingsPatch, findUnknownKeys } from './settings-store.js';
export { MemorySettingsStore } from './memory-settings-store.js';
export { JsonFileSettingsStore, repairSettings } from './json-file-settings-store.js';
export type { JsonFileSettingsStoreOptions, SettingsReloadResult } from './json-file-settings-store.js';
export { detectVersion, migrate, MigrationGapError, MIGRATIONS, V0_KEYS } from './migrations.js';
export type { Migration, MigrationResult } from './migrations.js';
export { checkPython, detectFromComfyUI, resolveLaunchProfile } from './launch-profile.js';
export type {
  ComfyUIDetection,
  LaunchProfile,
  LaunchProfileError,
  LaunchProfileOptions,
  LaunchProfileResult,
  PythonCheck,
} from './launch-profile.js';
