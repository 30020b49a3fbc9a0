// Which daemons a command is about: `--daemon ID` picks one of `settings.daemons`, and without it the
// command reads the list to know whether there is one daemon (output exactly as before several
// existed) or several (a line each). docs/multi-daemon.md, "CLI".
import type { DaemonSummary } from '../shared/daemon-summary.js';
import type { ApiClient } from './api-client.js';
import { UsageError } from './context.js';

/**
 * Every configured daemon, in settings order; null when the server could not list them (then the
 * command behaves as with a single daemon, which every Luna Tray has).
 */
export async function listDaemons(api: ApiClient): Promise<DaemonSummary[] | null> {
  // Typed loosely on purpose: a stand-in or an older server may answer anything here.
  const r = (await api.invoke('daemons:list', {})) as {
    ok?: unknown;
    value?: { daemons?: unknown };
  } | null;
  return r?.ok === true && Array.isArray(r.value?.daemons) ? (r.value.daemons as DaemonSummary[]) : null;
}

/**
 * The daemon `--daemon ID` names. An id that is not configured is a usage error (exit 2) that lists
 * the ids that are, so a typo is fixable from the message alone.
 */
export async function selectDaemon(api: ApiClient, id: string): Promise<DaemonSummary> {
  const list = (await listDaemons(api)) ?? [];
  const found = list.find((d) => d.id === id);
  if (found) return found;
  const ids = list.map((d) => d.id);
  throw new UsageError(
    `--daemon: no daemon "${id}"; the configured daemons are ${ids.join(', ') || '(none)'} (\`luna-tray status\` lists them)`,
  );
}
