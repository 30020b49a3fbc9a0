import type { LogLevel } from '../../shared/log-entry.js';
import type { DaemonConfig } from '../../shared/settings-schema.js';
import type { LunaClient } from '../daemon/luna-client.js';
import { errorMessage } from '../util/error-message.js';
import { findPortOwner, type PortOwner } from './port-owner.js';
import { isDescendantOf } from './processes.js';

/**
 * What happens once a daemon we started is ready: re-apply the user's devices and attention mode
 * (the daemon forgets them on restart, docs/daemon-protocol.md §3.6, §15 problem 13), and check that
 * the process answering on the port is ours (§15 problem 2). Each step only reports; none
 * changes the status.
 */

export interface PostStartOptions {
  /** A client of the daemon's current generation. */
  client: LunaClient;
  config: Pick<DaemonConfig, 'devices' | 'attentionMode'>;
  log: (level: LogLevel, text: string) => void;
  /** Called after a device changed, so the models and devices shown are fresh. */
  refreshInfo: () => void;
}

/** Re-apply devices and attention mode (current generation only: the legacy daemon has neither). */
export async function applyDaemonSettings(o: PostStartOptions): Promise<void> {
  const { client, config: d } = o;
  for (const kind of ['clip', 'vae', 'llm'] as const) {
    const device = d.devices[kind];
    if (!device) continue;
    try {
      const r = await client.setDevice(kind, device);
      o.log('info', `Set the ${kind.toUpperCase()} device to ${r.newDevice} (was ${r.oldDevice}).`);
    } catch (e) {
      o.log('warning', `The daemon refused ${kind.toUpperCase()} device "${device}": ${errorMessage(e)}`);
    }
  }
  if (d.attentionMode) {
    try {
      await client.setAttentionMode(d.attentionMode);
    } catch (e) {
      o.log('warning', `The daemon refused attention mode "${d.attentionMode}": ${errorMessage(e)}`);
    }
  }
  if (Object.values(d.devices).some(Boolean)) o.refreshInfo();
}

/**
 * After a start, the process answering on the port must be our child or one of its descendants (on
 * Windows SO_REUSEADDR lets a second daemon bind the same port). A mismatch is reported loudly; it
 * is not something we can repair by ourselves. Returns the foreign owner, or null.
 */
export async function verifyOwnership(
  o: { host: string; port: number; childPid: number; log: PostStartOptions['log'] },
  lookup: {
    owner?: (port: number, host: string) => Promise<PortOwner | null>;
    isDescendant?: (pid: number, ancestor: number) => Promise<boolean>;
  } = {},
): Promise<PortOwner | null> {
  const owner = await (lookup.owner ?? findPortOwner)(o.port, o.host);
  if (!owner || owner.pid === o.childPid) return null;
  if (await (lookup.isDescendant ?? isDescendantOf)(owner.pid, o.childPid)) return null;
  o.log(
    'error',
    `Port ${o.port} is answered by PID ${owner.pid} (${owner.name}), not by the daemon Luna Tray started (PID ${o.childPid}): two daemons may be sharing the port. Stop the other one.`,
  );
  return owner;
}
