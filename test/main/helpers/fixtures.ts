// Shared builders for main-process tests: one status per state, snapshots, settings, a fake LunaCore.
import { vi, type Mock } from 'vitest';

import type { LunaCore } from '../../../src/core/app/luna-core.types.js';
import { MemorySettingsStore } from '../../../src/core/settings/memory-settings-store.js';
import type { EventChannel, EventPayload } from '../../../src/shared/contract/events.js';
import type { InvokeHandlers } from '../../../src/shared/contract/renderer-api.js';
import { INVOKE_CHANNELS, type InvokeChannel } from '../../../src/shared/contract/invoke.js';
import type { DaemonStatus } from '../../../src/shared/daemon-status.js';
import type { DaemonInfo } from '../../../src/shared/daemon-info.js';
import {
  defaultSettings,
  mergeSettings,
  settingsSchema,
  type Settings,
} from '../../../src/shared/settings-schema.js';
import type { DaemonSnapshot } from '../../../src/shared/snapshot.js';

const T = 1_700_000_000_000;

/** One status per state, plus the adopted and legacy variants of `running`. */
export const STATUSES = {
  stopped: { state: 'stopped', at: T, reason: 'initial' },
  starting: { state: 'starting', at: T, pid: 42, attempt: 1 },
  running: { state: 'running', at: T, pid: 42, since: T, adopted: false, generation: 'current' },
  'running-adopted': { state: 'running', at: T, pid: null, since: T, adopted: true, generation: 'current' },
  'running-legacy': { state: 'running', at: T, pid: 42, since: T, adopted: false, generation: 'legacy' },
  unresponsive: {
    state: 'unresponsive',
    at: T,
    pid: 42,
    since: T,
    adopted: false,
    generation: 'current',
    failedPings: 3,
  },
  stopping: { state: 'stopping', at: T, pid: 42, step: 'shutdown-sent' },
  backoff: { state: 'backoff', at: T, attempt: 2, retryAt: T + 4_000, message: 'exited with code 1' },
  failed: { state: 'failed', at: T, kind: 'crash-loop', message: 'crashed 5 times in a row' },
} as const satisfies Record<string, DaemonStatus>;

export type StatusName = keyof typeof STATUSES;
export const NOW = T;

/** A `get_info` result with 2 models and 6.1 / 24 GB VRAM over two devices. */
export function info(overrides: Partial<DaemonInfo> = {}): DaemonInfo {
  return {
    generation: 'current',
    status: 'ok',
    uptimeSec: 10,
    requestCount: 1,
    clipRequestCount: 0,
    vaeRequestCount: 0,
    serviceType: 'full',
    attentionMode: null,
    devices: {},
    vram: [
      { device: 'cuda:0', usedGb: 4.0, totalGb: 12 },
      { device: 'cuda:1', usedGb: 2.1, totalGb: 12 },
    ],
    models: [
      { name: 'clip_l', source: 'clip_pool' },
      { name: 'vae', source: 'weight_registry' },
    ],
    clipPool: null,
    raw: {},
    ...overrides,
  };
}

export function snapshot(status: DaemonStatus, withInfo: DaemonInfo | null = null): DaemonSnapshot {
  return {
    status,
    info: withInfo,
    infoAt: withInfo ? T : null,
    restarts: 0,
    lastExit: null,
    process: null,
    warnings: [],
    logSeq: 0,
  };
}

export function settings(patch: unknown = {}): Settings {
  return settingsSchema.parse(mergeSettings(defaultSettings(), patch));
}

type Listener = (payload: unknown) => void;

/** The handler table as mocks (each still callable as the real handler type). */
export type MockHandlers = { [K in InvokeChannel]: Mock<InvokeHandlers[K]> };

/** A LunaCore made of vi.fn()s, with `emit` to push events. */
export function fakeCore(initial: DaemonSnapshot = snapshot(STATUSES.stopped)) {
  let current = initial;
  const listeners = new Map<string, Set<Listener>>();
  const handlers = Object.fromEntries(
    INVOKE_CHANNELS.map((c) => [c, vi.fn(async () => ({ ok: true, value: { message: `${c} ok` } }))]),
  ) as unknown as MockHandlers;
  // The list and the bulk action answer in their own shapes (one daemon unless a test says more).
  handlers['daemons:list'].mockImplementation(async () => ({ ok: true, value: { daemons: [] } }));
  handlers['daemons:act'].mockImplementation(async () => ({ ok: true, value: { results: [] } }));
  const core = {
    handlers,
    events: {
      on<K extends EventChannel>(channel: K, listener: (payload: EventPayload<K>) => void) {
        let set = listeners.get(channel);
        if (!set) listeners.set(channel, (set = new Set()));
        set.add(listener as Listener);
        return () => set.delete(listener as Listener);
      },
    },
    snapshot: vi.fn(() => current),
    settings: vi.fn(() => defaultSettings()),
    navigate: vi.fn(),
    autoStart: vi.fn(),
    dispose: vi.fn<(opts?: { keepDaemon?: boolean }) => Promise<void>>(async () => {}),
  } satisfies LunaCore;
  return {
    core,
    handlers,
    setSnapshot(s: DaemonSnapshot) {
      current = s;
    },
    emit<K extends EventChannel>(channel: K, payload: EventPayload<K>) {
      for (const l of listeners.get(channel) ?? []) l(payload);
    },
    listenerCount(channel: EventChannel) {
      return listeners.get(channel)?.size ?? 0;
    },
  };
}

/** The core's in-memory SettingsStore (a real implementation, not a fake). */
export function memorySettingsStore(initial: Settings = defaultSettings()): MemorySettingsStore {
  return new MemorySettingsStore(initial);
}

/** Wait for setImmediate-deferred work and resolved promises. */
export async function flush(times = 3): Promise<void> {
  for (let i = 0; i < times; i++) await new Promise((r) => setImmediate(r));
}
