import type { DaemonSummary } from '../../shared/daemon-summary.js';
import { colorOf } from '../../shared/daemon-state.js';
import type { DaemonConfig } from '../../shared/settings-schema.js';
import type { DaemonSnapshot } from '../../shared/snapshot.js';

/** One daemon's one-line view (`GET /luna/daemons`, `daemons:list`) from its settings and snapshot. */
export function summarizeDaemon(
  who: { id: string; name: string; enabled: boolean },
  config: Pick<DaemonConfig, 'host' | 'port' | 'wsPort'>,
  snapshot: DaemonSnapshot,
): DaemonSummary {
  const status = snapshot.status;
  return {
    id: who.id,
    name: who.name,
    enabled: who.enabled,
    host: config.host,
    port: config.port,
    wsPort: config.wsPort,
    state: status.state,
    color: colorOf(status),
    pid: 'pid' in status ? status.pid : null,
    models: snapshot.info?.models.map((m) => m.name) ?? [],
    vram: snapshot.info?.vram ?? [],
    snapshot,
  };
}
