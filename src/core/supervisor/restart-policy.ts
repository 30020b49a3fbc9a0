import type { DaemonConfig } from '../../shared/settings-schema.js';

export type RestartPolicy = DaemonConfig['restart'];

/** Backoff before restart number `attempt` (1-based): exponential, capped. */
export function nextDelayMs(policy: RestartPolicy, attempt: number): number {
  const raw = policy.initialDelayMs * Math.pow(policy.multiplier, Math.max(0, attempt - 1));
  return Math.min(policy.maxDelayMs, Math.round(raw));
}

/** What to do after the daemon exited on its own. */
export type ExitDecision =
  | { action: 'restart'; delayMs: number; quickCrashes: number }
  | { action: 'give-up'; quickCrashes: number }
  | { action: 'stay-stopped'; reason: 'external-shutdown' | 'restart-disabled' };

/**
 * pm2 semantics with our numbers (docs/architecture.md §11):
 * - an exit 0 we did not ask for is somebody's `shutdown` (e.g. the ComfyUI panel): stay stopped;
 * - an uptime past `stableAfterSec` resets the quick-crash counter;
 * - `maxQuickCrashes` quick crashes in a row → give up (crash loop);
 * - otherwise restart after an exponential, capped delay.
 * A user stop never reaches this function: the supervisor does not consult the policy then.
 */
export function decideAfterExit(args: {
  policy: RestartPolicy;
  exitCode: number | null;
  uptimeMs: number;
  quickCrashes: number;
}): ExitDecision {
  const { policy, exitCode, uptimeMs } = args;
  if (exitCode === 0) return { action: 'stay-stopped', reason: 'external-shutdown' };
  if (!policy.enabled) return { action: 'stay-stopped', reason: 'restart-disabled' };
  const stable = uptimeMs >= policy.stableAfterSec * 1000;
  const quickCrashes = stable ? 1 : args.quickCrashes + 1;
  if (!stable && quickCrashes >= policy.maxQuickCrashes) return { action: 'give-up', quickCrashes };
  return { action: 'restart', delayMs: nextDelayMs(policy, quickCrashes), quickCrashes };
}
