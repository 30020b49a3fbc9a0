import { SETTINGS_VERSION } from '../../shared/settings-schema.js';

/**
 * Our own versioned, pure settings migrations (docs/architecture.md §12; electron-store/conf `migrations` are
 * not used, upstream marks them unsupported). Each step maps version N to N+1 and never mutates its
 * input.
 *
 * Versions:
 * - 0: the unversioned flat layout the original Python tray's users may have written by hand:
 *   `pythonPath`, `daemonScript`, `comfyuiPath`, `port`, `autoStart`.
 * - 1: the nested layout (`daemon`, `comfyui`, `app`, `logs`): one daemon.
 * - 2: several daemons: the `daemon` block became the list `daemons`, its one entry with the id
 *   `default` (docs/settings.md, "Several daemons").
 */

/** One migration step. */
export interface Migration {
  from: number;
  to: number;
  /** Short description, reported in {@link MigrationResult.applied}. */
  name: string;
  up(value: Record<string, unknown>): Record<string, unknown>;
}

/** Result of {@link migrate}. */
export interface MigrationResult {
  /** The migrated value (the input itself when nothing applied). */
  value: unknown;
  /** The detected version of the input; `null` when it has an unusable `version` field or is no object. */
  fromVersion: number | null;
  /** Names of the steps applied, oldest first. */
  applied: string[];
  /** The input comes from a NEWER version than this build knows: it was not changed. */
  isNewer: boolean;
}

/** The keys of the v0 flat layout. */
export const V0_KEYS = ['pythonPath', 'daemonScript', 'comfyuiPath', 'port', 'autoStart'] as const;
const V1_SECTIONS = ['daemon', 'daemons', 'comfyui', 'app', 'logs', 'notify'];

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function toNumberIfNumeric(v: unknown): unknown {
  return typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v;
}

function toBooleanIfWord(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const s = v.trim().toLowerCase();
  if (s === 'true' || s === 'yes' || s === '1') return true;
  if (s === 'false' || s === 'no' || s === '0') return false;
  return v;
}

/** v0 (flat, unversioned) → v1 (nested). Unknown v0 keys are carried over so the store can warn about them. */
const v0ToV1: Migration = {
  from: 0,
  to: 1,
  name: 'v0→v1: flat pythonPath/daemonScript/comfyuiPath/port/autoStart → daemon.*, comfyui.path',
  up(v0) {
    const daemon: Record<string, unknown> = {};
    const comfyui: Record<string, unknown> = {};
    const rest: Record<string, unknown> = {};
    for (const [k, value] of Object.entries(v0)) {
      if (!(V0_KEYS as readonly string[]).includes(k) && k !== 'version') rest[k] = value;
    }
    const hasText = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';
    const isSet = (v: unknown): boolean => v !== undefined && v !== null && v !== '';
    // Wrong types are carried over as they are: validation then names the key and resets it.
    if (isSet(v0.pythonPath)) daemon.command = v0.pythonPath;
    if (isSet(v0.daemonScript))
      daemon.args = typeof v0.daemonScript === 'string' ? [v0.daemonScript] : v0.daemonScript;
    if (isSet(v0.port)) daemon.port = toNumberIfNumeric(v0.port);
    if (isSet(v0.autoStart)) daemon.autoStart = toBooleanIfWord(v0.autoStart);
    if (isSet(v0.comfyuiPath)) comfyui.path = v0.comfyuiPath;
    // An explicit interpreter + script without a ComfyUI folder is a custom command; with a ComfyUI
    // folder, the comfyui profile uses the explicit command/args and still sets PYTHONPATH (§3.3).
    daemon.profile =
      !hasText(v0.comfyuiPath) && hasText(v0.pythonPath) && hasText(v0.daemonScript) ? 'custom' : 'comfyui';
    return { ...rest, version: 1, daemon, comfyui };
  },
};

/**
 * v1 → v2: the single `daemon` block becomes the first (and only) entry of `daemons`, id `default`,
 * so its PID file and log file keep their names (`daemon.pid.json`, `logs/daemon.log`) and a daemon
 * the previous version left running is still adopted. A non-object `daemon` is carried into the
 * entry as it is: validation then names the key and resets it.
 */
const v1ToV2: Migration = {
  from: 1,
  to: 2,
  name: 'v1→v2: daemon → daemons[0] (id "default")',
  up(v1) {
    const { daemon, ...rest } = v1;
    const fields = isPlainObject(daemon) ? daemon : {};
    return {
      ...rest,
      version: 2,
      daemons: [{ ...fields, id: 'default', name: 'Luna daemon', enabled: true }],
    };
  },
};

/** All steps, in order. */
export const MIGRATIONS: readonly Migration[] = [v0ToV1, v1ToV2];

/** Detect the version of a raw settings value (see the version list at the top of this file). */
export function detectVersion(raw: unknown): number | null {
  if (!isPlainObject(raw)) return null;
  if ('version' in raw) {
    const v = raw.version;
    return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : null;
  }
  const keys = Object.keys(raw);
  const isFlat = keys.some((k) => (V0_KEYS as readonly string[]).includes(k));
  const isNested = keys.some((k) => V1_SECTIONS.includes(k));
  // Without a version field: flat keys mean v0, a single `daemon` block v1; anything else (including
  // `{}`) is read as current.
  if (isFlat && !isNested) return 0;
  return 'daemon' in raw && !('daemons' in raw) ? 1 : SETTINGS_VERSION;
}

/**
 * Bring a raw settings value (parsed JSON) up to {@link SETTINGS_VERSION}. Pure: the input is not
 * modified. A value from a newer version is returned unchanged with `isNewer: true` (the caller must
 * not silently downgrade it).
 */
export function migrate(raw: unknown): MigrationResult {
  const fromVersion = detectVersion(raw);
  if (fromVersion === null || !isPlainObject(raw))
    return { value: raw, fromVersion, applied: [], isNewer: false };
  if (fromVersion > SETTINGS_VERSION) return { value: raw, fromVersion, applied: [], isNewer: true };
  let value: Record<string, unknown> = raw;
  const applied: string[] = [];
  for (let v = fromVersion; v < SETTINGS_VERSION; v++) {
    const step = MIGRATIONS.find((m) => m.from === v);
    if (!step) throw new MigrationGapError(v);
    value = step.up(value);
    applied.push(step.name);
  }
  return { value, fromVersion, applied, isNewer: false };
}

/** A programmer error: no migration step starts at a version below the current one. */
export class MigrationGapError extends Error {
  override readonly name = 'MigrationGapError';
  constructor(readonly version: number) {
    super(`No settings migration from version ${version}: add one to src/core/settings/migrations.ts`);
  }
}
