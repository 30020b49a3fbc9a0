import type { OneDaemonSettings } from '../../shared/settings-schema.js';
import { readDaemonConfigPorts } from '../settings/launch-profile.js';
import { findPortOwner, isPortFree, type PortOwner } from './port-owner.js';

/** Which of the daemon's two ports (docs/daemon-protocol.md §2). */
export type DaemonPortKind = 'daemon' | 'ws';

const WHAT: Record<DaemonPortKind, string> = {
  daemon: 'the daemon port',
  ws: 'the WebSocket monitor port',
};

/**
 * A port conflict in words: which port, held by whom, and advice that works for the launch profile.
 * With the `comfyui` profile the real daemon takes its ports from its own `config.py` (it has no
 * command-line arguments, §3.4), so changing `daemon.port` alone would not move it.
 */
export async function describePortConflict(opts: {
  host: string;
  port: number;
  kind: DaemonPortKind;
  settings: OneDaemonSettings;
  /** The holder answered but is not a Luna daemon. */
  notLuna?: boolean;
  lookup?: (port: number, host: string) => Promise<PortOwner | null>;
}): Promise<string> {
  const owner = await (opts.lookup ?? findPortOwner)(opts.port, opts.host);
  const who = owner ? `PID ${owner.pid} (${owner.name})` : 'another program';
  const head = `Port ${opts.port} (${WHAT[opts.kind]}) is in use by ${who}${opts.notLuna ? ', which is not a Luna daemon' : ''}.`;
  const key = opts.kind === 'daemon' ? 'daemon.port' : 'daemon.wsPort';
  if (opts.settings.daemon.profile !== 'comfyui') {
    return `${head} Stop that program, or set ${key} to a free port.`;
  }
  const configName = opts.kind === 'daemon' ? 'DAEMON_PORT' : 'DAEMON_WS_PORT';
  const cfg = opts.settings.comfyui.path ? readDaemonConfigPorts(opts.settings.comfyui.path) : null;
  const where = cfg?.file ?? 'ComfyUI-Luna-Collection/luna_daemon/config.py';
  return `${head} Stop that program. The Luna daemon takes its ports from ${where} (${configName}), not from Luna Tray: to move it, change ${configName} there and set ${key} to the same number.`;
}

/**
 * The daemon died with "Address already in use": which of its ports is still held? The WebSocket
 * port is bound first (§3.7), so it is checked first. Null when both are free again.
 */
export async function heldDaemonPort(
  host: string,
  port: number,
  wsPort: number,
): Promise<{ port: number; kind: DaemonPortKind } | null> {
  if (wsPort > 0 && !(await isPortFree(wsPort, host))) return { port: wsPort, kind: 'ws' };
  if (!(await isPortFree(port, host))) return { port, kind: 'daemon' };
  return null;
}

/** The ports the daemon will really bind: `config.py`'s with the comfyui profile when readable, else the settings'. */
export function effectiveDaemonPorts(settings: OneDaemonSettings): { port: number; wsPort: number } {
  const d = settings.daemon;
  if (d.profile === 'comfyui' && settings.comfyui.path && d.args.length === 0) {
    const cfg = readDaemonConfigPorts(settings.comfyui.path);
    return { port: cfg?.port ?? d.port, wsPort: cfg?.wsPort ?? d.wsPort };
  }
  return { port: d.port, wsPort: d.wsPort };
}
