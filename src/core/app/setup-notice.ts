import type { DaemonStatus } from '../../shared/daemon-status.js';
import type { OneDaemonSettings } from '../../shared/settings-schema.js';
import { resolveLaunchProfile, type LaunchProfileOptions } from '../settings/launch-profile.js';

/**
 * The first-start hint. With nothing configured the daemon cannot start, and a newcomer should learn
 * why, and where to fix it, before pressing Start. It is one warning (the panel's Status tab,
 * `luna-tray status`, one log line) shown only while nothing has happened yet: once Start is tried
 * the error state carries the same words, so the hint steps aside instead of repeating them.
 */
export function setupNotice(
  settings: OneDaemonSettings,
  status: DaemonStatus,
  options: LaunchProfileOptions,
): string | null {
  if (status.state !== 'stopped' || status.reason !== 'initial') return null;
  const profile = resolveLaunchProfile(settings, options);
  return !profile.ok && profile.kind === 'not-configured' ? `Not set up yet: ${profile.message}` : null;
}
