// The contract's channel NAMES without zod, for the sandboxed preload: its allowlist needs only the
// names, and importing invoke.ts/events.ts would bundle zod into out/preload/index.cjs. The type-only
// imports below are erased at build time; the assertions make the compiler reject a list that drifts
// from the contract (a missing or extra name), and test/preload/channels.test.ts compares at runtime.
import type { EventChannel } from './events.js';
import type { InvokeChannel } from './invoke.js';

/** Every invoke channel of `invokeContract`, by name. */
export const INVOKE_CHANNEL_NAMES = [
  'daemon:get-snapshot',
  'daemon:start',
  'daemon:stop',
  'daemon:restart',
  'daemon:unload',
  'daemon:check',
  'daemon:test-profile',
  'daemons:list',
  'daemons:act',
  'daemons:list-presets',
  'daemons:apply-preset',
  'logs:get-since',
  'settings:get',
  'settings:update',
  'comfy:list-instances',
  'comfy:free-vram',
  'comfy:interrupt',
  'comfy:clear-queue',
  'comfy:dismiss-error',
  'comfy:report-progress',
  'devices:get',
  'devices:set-device',
  'devices:set-attention-mode',
  'gpus:get',
  'gpus:get-history',
  'app:quit',
  'app:diagnostics',
] as const satisfies readonly InvokeChannel[];

/** Every push channel of `eventContract`, by name. */
export const EVENT_CHANNEL_NAMES = [
  'daemon:status-changed',
  'daemons:changed',
  'logs:appended',
  'settings:changed',
  'comfy:instances-changed',
  'app:navigate',
] as const satisfies readonly EventChannel[];

type Exhaustive<All, Listed> = [Exclude<All, Listed>] extends [never]
  ? true
  : { missing: Exclude<All, Listed> };
// Compile-time: a contract channel missing from a list above is a type error here.
const invokeListIsComplete: Exhaustive<InvokeChannel, (typeof INVOKE_CHANNEL_NAMES)[number]> = true;
const eventListIsComplete: Exhaustive<EventChannel, (typeof EVENT_CHANNEL_NAMES)[number]> = true;
void invokeListIsComplete;
void eventListIsComplete;

const invokeSet: ReadonlySet<string> = new Set(INVOKE_CHANNEL_NAMES);
const eventSet: ReadonlySet<string> = new Set(EVENT_CHANNEL_NAMES);

/** True when `name` is an invoke channel of the contract. */
export function isInvokeChannel(name: unknown): name is InvokeChannel {
  return typeof name === 'string' && invokeSet.has(name);
}

/** True when `name` is a push channel of the contract. */
export function isEventChannel(name: unknown): name is EventChannel {
  return typeof name === 'string' && eventSet.has(name);
}
