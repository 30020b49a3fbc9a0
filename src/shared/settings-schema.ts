import { z } from 'zod';

/** The current settings version. Bump it and add a migration in `src/core/settings/migrations.ts`. */
export const SETTINGS_VERSION = 2;

const device = z
  .string()
  .regex(/^(|cpu|cuda:\d+)$/, 'must be empty, "cpu" or "cuda:N" (e.g. cuda:0)')
  .default('');

const port = z
  .number()
  .int()
  .min(1, 'must be a port number 1–65535')
  .max(65535, 'must be a port number 1–65535');

/** Restart policy with pm2-like semantics (docs/architecture.md §11). */
export const restartPolicySchema = z
  .object({
    /** Restart the daemon when it exits without being asked to. */
    enabled: z.boolean().default(true),
    /** First backoff delay. */
    initialDelayMs: z.number().int().min(0).max(600_000).default(1_000),
    /** Backoff cap. */
    maxDelayMs: z.number().int().min(0).max(3_600_000).default(30_000),
    /** Each quick crash multiplies the delay by this. */
    multiplier: z.number().min(1).max(10).default(2),
    /** An uptime this long counts as stable: the attempt counter resets. */
    stableAfterSec: z.number().min(0).max(86_400).default(30),
    /** After this many quick (unstable) crashes in a row the supervisor gives up (`failed`, crash loop). */
    maxQuickCrashes: z.number().int().min(1).max(100).default(5),
    /** Restart a daemon that stops answering pings (after `daemon.health.failuresBeforeUnresponsive`). */
    restartUnresponsive: z.boolean().default(true),
  })
  .prefault({});

export const healthSchema = z
  .object({
    /** Ping interval while running. */
    intervalSec: z.number().min(0.1).max(3600).default(2),
    /** Consecutive failed pings before `unresponsive`. */
    failuresBeforeUnresponsive: z.number().int().min(1).max(100).default(3),
    /** Per-ping timeout. */
    pingTimeoutMs: z.number().int().min(50).max(60_000).default(2_000),
    /** How often models/VRAM are refreshed while running. */
    infoIntervalSec: z.number().min(0.2).max(3600).default(2),
  })
  .prefault({});

export const daemonSettingsSchema = z
  .object({
    /**
     * `comfyui`: find Python and the Luna daemon under `comfyui.path` (unless `daemon.command` is
     * set); `custom`: run `daemon.command` with `daemon.args`; `simulator`: the bundled Luna daemon
     * simulator (demo, tests).
     */
    profile: z.enum(['comfyui', 'custom', 'simulator']).default('comfyui'),
    /** Executable (usually a Python interpreter). Empty: auto-detected from `comfyui.path`. */
    command: z.string().default(''),
    /** Arguments (usually the path of `daemon_server.py`). Empty: auto-detected. */
    args: z.array(z.string()).default([]),
    /** Working directory. Empty: the ComfyUI root, or the data directory. */
    cwd: z.string().default(''),
    /** Extra environment variables for the daemon. */
    env: z.record(z.string(), z.string()).default({}),
    /** The daemon's host. Loopback only: the daemon has no authentication. */
    host: z
      .string()
      .default('127.0.0.1')
      .refine((h) => h === '127.0.0.1' || h === 'localhost' || h === '::1', {
        message: 'must be a loopback address (127.0.0.1, localhost or ::1): the daemon has no authentication',
      }),
    port: port.default(19283),
    /** The WebSocket monitor port; 0 means "do not use the WebSocket feed". */
    wsPort: z.number().int().min(0).max(65535).default(19285),
    generation: z.enum(['auto', 'current', 'legacy']).default('auto'),
    /** Start the daemon when Luna Tray starts. */
    autoStart: z.boolean().default(false),
    /** Readiness deadline: importing torch is slow. */
    startTimeoutSec: z.number().min(1).max(3600).default(120),
    /** Grace period after the protocol `shutdown` before SIGTERM. */
    stopGraceSec: z.number().min(0).max(600).default(5),
    /** After SIGTERM, how long before the tree kill. */
    killTimeoutSec: z.number().min(0).max(600).default(3),
    /** Passed to the daemon as `LUNA_ATTENTION_MODE` and re-applied after each start. */
    attentionMode: z.enum(['', 'auto', 'flash', 'split', 'pytorch']).default(''),
    /**
     * Devices re-applied with `set_clip_device` / `set_vae_device` / `set_llm_device` after every
     * (re)start (docs/daemon-protocol.md §3.6: the daemon only reads them from its config.py). Empty = leave
     * the daemon's own choice.
     */
    devices: z.object({ clip: device, vae: device, llm: device }).prefault({}),
    restart: restartPolicySchema,
    health: healthSchema,
  })
  .prefault({});
/** One daemon's settings: what today's `daemon` block holds (a Supervisor reads only this). */
export type DaemonConfig = z.infer<typeof daemonSettingsSchema>;

/**
 * A daemon id: the key of one entry of `settings.daemons`. It names the daemon's log file
 * (`logs/<id>.log`) and its control-API path (`/luna/daemons/<id>/…`), so it is kept to a safe
 * slug (docs/settings.md).
 */
export const daemonIdSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9_-]{0,31}$/,
    'must be 1–32 lowercase letters, digits, "-" or "_", starting with a letter or digit (e.g. "clip")',
  );

/**
 * One entry of `daemons`: what the single `daemon` block holds, plus who it is and whether Luna Tray
 * supervises it (`enabled`). Ids, ports and hosts are checked across entries by `daemonsSchema`.
 */
export const daemonEntrySchema = daemonSettingsSchema.unwrap().extend({
  id: daemonIdSchema,
  /** Shown in the tray, the panel, notifications and `luna-tray status`. */
  name: z.string().trim().min(1, 'must not be empty (e.g. "CLIP")').max(80, 'must be at most 80 characters'),
  /** Supervised (started, watched, listed in the tray colour) only when true. */
  enabled: z.boolean().default(true),
});
export type DaemonEntry = z.infer<typeof daemonEntrySchema>;

/** The entry today's single daemon becomes (settings v1 `daemon` → v2 `daemons[0]`). */
export const DEFAULT_DAEMON_ENTRY = { id: 'default', name: 'Luna daemon' } as const;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/**
 * Every daemon Luna Tray knows, in the order the tray, panel and CLI list them; the first is the one
 * the original `/luna/daemon/*` routes and single-daemon callers act on. Across entries: ids are
 * unique, and no port (main or monitor) is used twice, enabled or not — a disabled daemon enabled
 * later must not collide (docs/settings.md, "Several daemons").
 */
export const daemonsSchema = z
  .array(daemonEntrySchema)
  .min(1, 'needs at least one daemon (e.g. luna-tray config preset single)')
  .max(32, 'at most 32 daemons')
  .superRefine((list, ctx) => {
    const ids = new Map<string, number>();
    const ports = new Map<number, string>();
    list.forEach((d, i) => {
      const first = ids.get(d.id);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [i, 'id'],
          message: `"${d.id}" is already the id of daemons.${first}: give each daemon its own id`,
        });
      } else ids.set(d.id, i);
      // The host refine of each entry already says "loopback only"; this names the daemon too.
      if (!LOOPBACK.has(d.host)) return;
      for (const [field, port] of [
        ['port', d.port],
        ['wsPort', d.wsPort],
      ] as const) {
        if (port === 0) continue;
        const owner = ports.get(port);
        if (owner !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [i, field],
            message: `${port} is already used by ${owner}: give each daemon its own ports (e.g. luna-tray config set daemons.${i}.${field} ${suggestPort(list)})`,
          });
        } else ports.set(port, `daemon "${d.id}" (daemons.${i}.${field})`);
      }
    });
  })
  .default(() => [daemonEntrySchema.parse({ ...DEFAULT_DAEMON_ENTRY })]);

/** A port no entry uses, for the example in a collision message. */
function suggestPort(list: readonly { port: number; wsPort: number }[]): number {
  const used = new Set(list.flatMap((d) => [d.port, d.wsPort]));
  let p = 19283;
  while (used.has(p) || p === 19299) p++;
  return p;
}

const instanceUrl = z.string().refine((u) => /^https?:\/\/[^/\s]+/.test(u), {
  message: 'must be an http:// or https:// URL, e.g. http://127.0.0.1:8188',
});

export const comfyuiSettingsSchema = z
  .object({
    /** The ComfyUI root folder (the one with `main.py` and `custom_nodes/`). */
    path: z.string().default(''),
    /** ComfyUI instances to watch. */
    instances: z.array(instanceUrl).default(['http://127.0.0.1:8188']),
    /** Also look for instances on local ports 8188–8199 and 8000. */
    discover: z.boolean().default(false),
    pollIntervalSec: z.number().min(0.5).max(3600).default(5),
  })
  .prefault({});

export const appSettingsSchema = z
  .object({
    openAtLogin: z.boolean().default(false),
    /** Leave the daemon running when Luna Tray exits. */
    keepDaemonOnExit: z.boolean().default(false),
    notifications: z.boolean().default(true),
  })
  .prefault({});

/** What a webhook can be told about (docs/webhooks.md). */
export const WEBHOOK_EVENTS = ['crashed', 'crash-loop', 'recovered', 'job-finished', 'job-failed'] as const;
export type WebhookEventName = (typeof WEBHOOK_EVENTS)[number];

const webhookUrl = z.string().refine(
  (u) => {
    try {
      const url = new URL(u);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
    } catch {
      return false;
    }
  },
  { message: 'must be an http:// or https:// URL, e.g. https://hooks.example.com/luna' },
);

export const webhookSchema = z.object({
  /** Where the JSON body is POSTed. Userinfo and query values are secrets: never logged. */
  url: webhookUrl,
  /** Which events go to this URL. */
  events: z
    .array(z.enum(WEBHOOK_EVENTS))
    .min(1, `needs at least one event: ${WEBHOOK_EVENTS.join(', ')}`)
    .default([...WEBHOOK_EVENTS]),
  /** Extra request headers (e.g. Authorization); their values are never logged. */
  headers: z.record(z.string(), z.string()).default({}),
});
export type WebhookSettings = z.infer<typeof webhookSchema>;

export const notifySettingsSchema = z
  .object({
    /** Opt-in: POST events to these URLs (docs/webhooks.md). */
    webhooks: z.array(webhookSchema).default([]),
    /** Opt-in: a desktop notification when a ComfyUI job finishes (failures always notify). */
    jobFinished: z.boolean().default(false),
  })
  .prefault({});

export const logSettingsSchema = z
  .object({
    /** Entries kept in memory. */
    bufferSize: z.number().int().min(100).max(1_000_000).default(50_000),
    /** Size of one log file before rotation. */
    fileMaxBytes: z
      .number()
      .int()
      .min(1024)
      .max(1024 * 1024 * 1024)
      .default(10 * 1024 * 1024),
    /** Rotated files kept. */
    fileCount: z.number().int().min(1).max(100).default(5),
    /** Lines longer than this are truncated with a marker. */
    maxLineLength: z
      .number()
      .int()
      .min(80)
      .max(10 * 1024 * 1024)
      .default(16 * 1024),
  })
  .prefault({});

export const settingsSchema = z.object({
  version: z.literal(SETTINGS_VERSION).default(SETTINGS_VERSION),
  daemons: daemonsSchema,
  comfyui: comfyuiSettingsSchema,
  app: appSettingsSchema,
  logs: logSettingsSchema,
  notify: notifySettingsSchema,
});
export type Settings = z.infer<typeof settingsSchema>;

/**
 * The settings one daemon's supervisor sees: the shared sections plus its own entry in the place of
 * the single `daemon` block it had before several daemons existed.
 */
export type OneDaemonSettings = Omit<Settings, 'daemons'> & { daemon: DaemonConfig };

/** The first daemon: the one the original routes and single-daemon callers act on. */
export function firstDaemon(settings: Pick<Settings, 'daemons'>): DaemonEntry {
  return settings.daemons[0]!;
}

/** `settings` as the daemon `id` (or the first daemon) sees it; null when there is no such daemon. */
export function settingsForDaemon(settings: Settings, id?: string): OneDaemonSettings | null {
  const entry = id === undefined ? settings.daemons[0] : settings.daemons.find((d) => d.id === id);
  if (!entry) return null;
  const { daemons: _all, ...shared } = settings;
  return { ...shared, daemon: entry };
}

/** A deep-partial settings update, as `PUT /settings` and `settings:update` accept. */
export type SettingsPatch = {
  [K in keyof Settings]?: Settings[K] extends object ? DeepPartial<Settings[K]> : Settings[K];
};
type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K];
};

/** The defaults, as a fresh object. */
export function defaultSettings(): Settings {
  return settingsSchema.parse({});
}

/** A validation problem, addressed by dotted key (`daemon.port`). */
export interface SettingsIssue {
  key: string;
  message: string;
}

/**
 * zod issues → `{key, message}` with dotted keys, for inline errors in the panel and the CLI. The
 * validator's own wording ("expected array, received string") becomes plain words naming the
 * expected form and, for a settings key, an example command; messages the schema wrote itself
 * (e.g. "must be a port number 1–65535") are kept.
 */
export function toSettingsIssues(error: z.ZodError): SettingsIssue[] {
  return error.issues.flatMap((i) => {
    const key = i.path.map(String).join('.');
    if (i.code === 'unrecognized_keys') {
      return i.keys.map((k) => ({
        key: key ? `${key}.${k}` : k,
        message: 'is not a setting (see `luna-tray config get` for all keys)',
      }));
    }
    return [{ key, message: plainMessage(i, key) }];
  });
}

const FORM: Record<string, string> = {
  array: 'a list',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  string: 'text',
  object: 'an object',
  record: 'an object',
};

/** Examples for settings whose default is no example (an empty string or list). */
const EXAMPLES: Record<string, unknown> = {
  'comfyui.path': '/path/to/ComfyUI',
  'daemon.command': '/path/to/ComfyUI/venv/bin/python',
  'daemon.args': ['/path/to/daemon_server.py'],
  'daemon.cwd': '/path/to/ComfyUI',
  'daemon.env': { CUDA_VISIBLE_DEVICES: '0' },
  'notify.webhooks': [{ url: 'https://hooks.example.com/luna', events: ['crashed', 'crash-loop'] }],
};

function plainMessage(i: z.core.$ZodIssue, key: string): string {
  const example = exampleCommand(key);
  const eg = example ? `, e.g. ${example}` : '';
  switch (i.code) {
    case 'invalid_type':
      return `expects ${FORM[i.expected] ?? i.expected}${eg}`;
    case 'invalid_value':
      return `expects one of ${i.values.map((v) => JSON.stringify(v)).join(', ')}${eg}`;
    case 'too_small':
      return i.message.startsWith('Too small') ? `must be at least ${String(i.minimum)}${eg}` : i.message;
    case 'too_big':
      return i.message.startsWith('Too big') ? `must be at most ${String(i.maximum)}${eg}` : i.message;
    default:
      return i.message;
  }
}

/** `luna-tray config set KEY VALUE` with a valid VALUE (the default, or an example), or null. */
function exampleCommand(issueKey: string): string | null {
  // An issue inside a list of objects (`notify.webhooks.0.url`) is shown with the whole list's example.
  const key = Object.keys(EXAMPLES).find((k) => issueKey.startsWith(`${k}.`)) ?? issueKey;
  // A daemon entry's key (`daemons.2.command`) has the examples of the single daemon's.
  const entryKey = key.replace(/^daemons\.\d+\./, 'daemon.');
  const value = EXAMPLES[key] ?? EXAMPLES[entryKey] ?? getSettingByKey(defaultSettings(), entryKey);
  if (value === undefined || value === '' || (Array.isArray(value) && value.length === 0)) return null;
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  const quoted = /^[\w./:@-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
  return `luna-tray config set ${key} ${quoted}`;
}

/**
 * Deep-merge a patch into settings (arrays and records replace; objects merge). Two forms address
 * daemon entries without replacing the list: `{daemons: {"1": {port: 19300}}}` merges into entry 1,
 * and the single-daemon form `{daemon: {...}}` (settings v1, `config set daemon.port`) merges into
 * the first entry — so callers written for one daemon keep working (docs/settings.md).
 */
export function mergeSettings(base: Settings, patch: unknown): unknown {
  return deepMerge(base, withoutDaemonAlias(patch));
}

/** `{daemon: X, ...}` → `{daemons: {0: X}, ...}` (after any `daemons` of the same patch). */
function withoutDaemonAlias(patch: unknown): unknown {
  if (!isPlainObject(patch) || !('daemon' in patch)) return patch;
  const { daemon, ...rest } = patch;
  if (rest.daemons === undefined) return { ...rest, daemons: { 0: daemon } };
  return { ...rest, daemons: deepMerge(deepMerge([], rest.daemons), { 0: daemon }) };
}

/** True when a patch uses the single-daemon form `daemon` (its issues are then named that way). */
export function usesDaemonAlias(patch: unknown): boolean {
  return isPlainObject(patch) && 'daemon' in patch && !('daemons' in patch);
}

function deepMerge(base: unknown, patch: unknown): unknown {
  if (Array.isArray(base) && isPlainObject(patch) && isIndexPatch(patch)) {
    // `{ "1": {...} }` into a list: merge into those elements (a new index must come next in line).
    const out: unknown[] = [...(base as unknown[])];
    for (const [k, v] of Object.entries(patch)) out[Number(k)] = deepMerge(out[Number(k)] ?? {}, v);
    return out;
  }
  if (!isPlainObject(base) || !isPlainObject(patch)) return patch === undefined ? base : patch;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    // `env` is a record of user variables: a patch replaces it whole, like an array.
    out[k] = k === 'env' ? v : deepMerge(base[k], v);
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isIndexPatch(patch: Record<string, unknown>): boolean {
  const keys = Object.keys(patch);
  return keys.length > 0 && keys.every((k) => /^(0|[1-9]\d{0,2})$/.test(k));
}

/**
 * Read a dotted key from settings (`comfyui.path`, `daemons.1.port`; `daemon.port` is the first
 * daemon's); `undefined` when absent.
 */
export function getSettingByKey(settings: Settings, key: string): unknown {
  let cur: unknown = settings;
  const parts = key.split('.');
  if (parts[0] === 'daemon' && !('daemon' in settings)) parts.splice(0, 1, 'daemons', '0');
  for (const part of parts) {
    if (Array.isArray(cur) && /^\d+$/.test(part)) cur = cur[Number(part)];
    else if (isPlainObject(cur) && Object.hasOwn(cur, part)) cur = cur[part];
    else return undefined;
  }
  return cur;
}

/** Build a patch that sets one dotted key. */
export function patchForKey(key: string, value: unknown): Record<string, unknown> {
  const parts = key.split('.');
  const root: Record<string, unknown> = {};
  let cur = root;
  parts.forEach((part, i) => {
    if (i === parts.length - 1) cur[part] = value;
    else {
      const next: Record<string, unknown> = {};
      cur[part] = next;
      cur = next;
    }
  });
  return root;
}
