import {
  getSettingByKey,
  mergeSettings,
  patchForKey,
  settingsSchema,
  toSettingsIssues,
  type Settings,
  type SettingsIssue,
} from '../../../shared/settings-schema.js';

/** How a setting is edited. */
export type FieldKind = 'text' | 'number' | 'integer' | 'boolean' | 'select' | 'lines' | 'env' | 'json';

/** One form field, addressed by its dotted settings key. */
export interface FieldSpec {
  key: string;
  label: string;
  kind: FieldKind;
  options?: readonly string[];
  help?: string;
  /** Only the desktop app honours it (headless mode has no login item or notifications). */
  desktopOnly?: boolean;
}

/** A titled group of fields. */
export interface FieldGroup {
  title: string;
  fields: readonly FieldSpec[];
}

/** Every setting of the schema, grouped as the form shows them (a test checks none is missing). */
export const SETTINGS_FORM: readonly FieldGroup[] = [
  {
    title: 'Daemon',
    fields: [
      {
        key: 'daemon.profile',
        label: 'Launch profile',
        kind: 'select',
        options: ['comfyui', 'custom', 'simulator'],
      },
      {
        key: 'daemon.command',
        label: 'Command (Python)',
        kind: 'text',
        help: 'Empty: detected from the ComfyUI folder.',
      },
      { key: 'daemon.args', label: 'Arguments (one per line)', kind: 'lines' },
      { key: 'daemon.cwd', label: 'Working directory', kind: 'text' },
      { key: 'daemon.env', label: 'Environment (NAME=value per line)', kind: 'env' },
      {
        key: 'daemon.host',
        label: 'Host',
        kind: 'text',
        help: 'Loopback only: the daemon has no authentication.',
      },
      { key: 'daemon.port', label: 'Port', kind: 'integer' },
      { key: 'daemon.wsPort', label: 'WebSocket monitor port (0 = off)', kind: 'integer' },
      {
        key: 'daemon.generation',
        label: 'Protocol generation',
        kind: 'select',
        options: ['auto', 'current', 'legacy'],
      },
      { key: 'daemon.autoStart', label: 'Start the daemon with Luna Tray', kind: 'boolean' },
      { key: 'daemon.startTimeoutSec', label: 'Start timeout (s)', kind: 'number' },
      { key: 'daemon.stopGraceSec', label: 'Stop grace period (s)', kind: 'number' },
      { key: 'daemon.killTimeoutSec', label: 'Kill timeout after SIGTERM (s)', kind: 'number' },
      {
        key: 'daemon.attentionMode',
        label: 'Attention mode',
        kind: 'select',
        options: ['', 'auto', 'flash', 'split', 'pytorch'],
      },
      {
        key: 'daemon.devices.clip',
        label: 'CLIP device',
        kind: 'text',
        help: 'Empty, cpu or cuda:N; re-applied after every start.',
      },
      { key: 'daemon.devices.vae', label: 'VAE device', kind: 'text', help: 'Empty, cpu or cuda:N.' },
      { key: 'daemon.devices.llm', label: 'LLM device', kind: 'text', help: 'Empty, cpu or cuda:N.' },
    ],
  },
  {
    title: 'Restart policy',
    fields: [
      { key: 'daemon.restart.enabled', label: 'Restart after a crash', kind: 'boolean' },
      { key: 'daemon.restart.initialDelayMs', label: 'First delay (ms)', kind: 'integer' },
      { key: 'daemon.restart.maxDelayMs', label: 'Maximum delay (ms)', kind: 'integer' },
      { key: 'daemon.restart.multiplier', label: 'Delay multiplier', kind: 'number' },
      { key: 'daemon.restart.stableAfterSec', label: 'Stable after (s)', kind: 'number' },
      { key: 'daemon.restart.maxQuickCrashes', label: 'Give up after quick crashes', kind: 'integer' },
      { key: 'daemon.restart.restartUnresponsive', label: 'Restart when unresponsive', kind: 'boolean' },
    ],
  },
  {
    title: 'Health',
    fields: [
      { key: 'daemon.health.intervalSec', label: 'Ping interval (s)', kind: 'number' },
      {
        key: 'daemon.health.failuresBeforeUnresponsive',
        label: 'Failed pings before unresponsive',
        kind: 'integer',
      },
      { key: 'daemon.health.pingTimeoutMs', label: 'Ping timeout (ms)', kind: 'integer' },
      { key: 'daemon.health.infoIntervalSec', label: 'Models/VRAM refresh (s)', kind: 'number' },
    ],
  },
  {
    title: 'ComfyUI',
    fields: [
      { key: 'comfyui.path', label: 'ComfyUI folder', kind: 'text' },
      { key: 'comfyui.instances', label: 'Instances (one URL per line)', kind: 'lines' },
      { key: 'comfyui.discover', label: 'Discover local instances', kind: 'boolean' },
      { key: 'comfyui.pollIntervalSec', label: 'Poll interval (s)', kind: 'number' },
    ],
  },
  {
    title: 'App',
    fields: [
      { key: 'app.openAtLogin', label: 'Open at login', kind: 'boolean', desktopOnly: true },
      { key: 'app.keepDaemonOnExit', label: 'Keep the daemon running on exit', kind: 'boolean' },
      { key: 'app.notifications', label: 'Notifications', kind: 'boolean', desktopOnly: true },
    ],
  },
  {
    title: 'Notifications',
    fields: [
      {
        key: 'notify.webhooks',
        label: 'Webhooks (JSON list)',
        kind: 'json',
        help: '[{"url": "https://hooks.example.com/luna", "events": ["crashed", "crash-loop", "recovered", "job-finished", "job-failed"]}] — see docs/webhooks.md',
      },
      {
        key: 'notify.jobFinished',
        label: 'Notify when a ComfyUI job finishes',
        kind: 'boolean',
        desktopOnly: true,
      },
    ],
  },
  {
    title: 'Logs',
    fields: [
      { key: 'logs.bufferSize', label: 'Entries kept in memory', kind: 'integer' },
      { key: 'logs.fileMaxBytes', label: 'Log file size before rotation (bytes)', kind: 'integer' },
      { key: 'logs.fileCount', label: 'Rotated files kept', kind: 'integer' },
      { key: 'logs.maxLineLength', label: 'Maximum line length', kind: 'integer' },
    ],
  },
];

/** All field keys of the form. */
export const FIELD_KEYS: readonly string[] = SETTINGS_FORM.flatMap((g) => g.fields.map((f) => f.key));

/** A field's raw input: the text of an input/textarea/select, or a checkbox state. */
export type RawValue = string | boolean;

/** Parse a field's raw input into a settings value; a message when it cannot even be parsed. */
export function parseField(
  spec: FieldSpec,
  raw: RawValue,
): { ok: true; value: unknown } | { ok: false; message: string } {
  switch (spec.kind) {
    case 'boolean':
      return { ok: true, value: raw === true };
    case 'text':
    case 'select':
      return { ok: true, value: String(raw) };
    case 'number':
    case 'integer': {
      const s = String(raw).trim();
      const n = Number(s);
      if (s === '' || !Number.isFinite(n)) return { ok: false, message: 'must be a number' };
      if (spec.kind === 'integer' && !Number.isInteger(n))
        return { ok: false, message: 'must be a whole number' };
      return { ok: true, value: n };
    }
    case 'lines':
      return {
        ok: true,
        value: String(raw)
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l !== ''),
      };
    case 'json': {
      const text = String(raw).trim();
      if (text === '') return { ok: true, value: [] };
      try {
        return { ok: true, value: JSON.parse(text) as unknown };
      } catch {
        return { ok: false, message: 'must be JSON, e.g. [{"url": "https://hooks.example.com/luna"}]' };
      }
    }
    case 'env': {
      const env: Record<string, string> = {};
      for (const [i, line] of String(raw).split('\n').entries()) {
        if (line.trim() === '') continue;
        const eq = line.indexOf('=');
        if (eq <= 0) return { ok: false, message: `line ${i + 1}: expected NAME=value` };
        env[line.slice(0, eq).trim()] = line.slice(eq + 1);
      }
      return { ok: true, value: env };
    }
  }
}

/** A settings value as a field's raw input (the inverse of `parseField`). */
export function formatField(spec: FieldSpec, value: unknown): RawValue {
  switch (spec.kind) {
    case 'boolean':
      return value === true;
    case 'lines':
      return Array.isArray(value) ? value.join('\n') : '';
    case 'json':
      return Array.isArray(value) && value.length === 0 ? '' : JSON.stringify(value, null, 2);
    case 'env':
      return value && typeof value === 'object'
        ? Object.entries(value as Record<string, string>)
            .map(([k, v]) => `${k}=${v}`)
            .join('\n')
        : '';
    default:
      if (value === undefined || value === null) return '';
      if (typeof value === 'string') return value;
      if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
        return value.toString();
      return JSON.stringify(value);
  }
}

/** Set one dotted key in a settings draft (returns a new object; the draft may be invalid). */
export function withValue(draft: Settings, key: string, value: unknown): Settings {
  return mergeSettings(draft, patchForKey(key, value)) as Settings;
}

/** Read a dotted key. */
export function valueOf(settings: Settings, key: string): unknown {
  return getSettingByKey(settings, key);
}

/** Validate a draft with the shared schema; issues by dotted key. */
export function validateDraft(draft: unknown): SettingsIssue[] {
  const r = settingsSchema.safeParse(draft);
  return r.success ? [] : toSettingsIssues(r.error);
}

/**
 * Attach issues to form fields: an issue on `comfyui.instances.1` belongs to `comfyui.instances`
 * (the longest field key that is a prefix); issues with no field are returned under `''`.
 */
export function issuesByField(
  issues: readonly SettingsIssue[],
  keys: readonly string[] = FIELD_KEYS,
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const raw of issues) {
    // The form's `daemon.*` fields edit the first daemon, which the schema names `daemons.0`.
    const issue = { ...raw, key: raw.key.replace(/^daemons\.0(?=\.|$)/, 'daemon') };
    let best = '';
    for (const k of keys) {
      if ((issue.key === k || issue.key.startsWith(`${k}.`)) && k.length > best.length) best = k;
    }
    const rest = best && issue.key !== best ? issue.key.slice(best.length + 1) : '';
    // For list items, say which one (`item 2: must be an http:// URL`).
    const message =
      rest !== '' && /^\d+$/.test(rest) ? `item ${Number(rest) + 1}: ${issue.message}` : issue.message;
    const list = out.get(best) ?? [];
    list.push(best === '' ? `${issue.key || 'settings'}: ${message}` : message);
    out.set(best, list);
  }
  return out;
}

/** A patch holding only the keys of `draft` that differ from `base` (arrays and records compared whole). */
export function diffSettings(
  base: Settings,
  draft: Settings,
  keys: readonly string[] = FIELD_KEYS,
): Record<string, unknown> {
  let patch: Record<string, unknown> = {};
  for (const k of keys) {
    const a = valueOf(base, k);
    const b = valueOf(draft, k);
    if (JSON.stringify(a) !== JSON.stringify(b))
      patch = mergeSettings(patch as Settings, patchForKey(k, b)) as Record<string, unknown>;
  }
  return patch;
}
