import { findPortOwner, type PortOwner } from './port-owner.js';

/** Whether the WebSocket status feed may be trusted as the supervised daemon's own. */
export type FeedProof = { trusted: true; pid: number } | { trusted: false; reason: string };

/**
 * The daemon binds its WebSocket monitor and its protocol port in one process (docs/daemon-protocol.md
 * §3.7, §10), so the feed belongs to the daemon we supervise exactly when the same process listens on
 * both ports. Anything else (another daemon's monitor, an unrelated program, an OS that will not say
 * who listens) is not trusted: its models, VRAM and uptime would be someone else's, and its messages
 * would hide a hang of ours.
 */
export async function proveFeedOwnership(
  host: string,
  port: number,
  wsPort: number,
  lookup: (port: number, host: string) => Promise<PortOwner | null> = findPortOwner,
): Promise<FeedProof> {
  const [daemon, feed] = await Promise.all([lookup(port, host), lookup(wsPort, host)]);
  if (!feed) {
    return {
      trusted: false,
      reason: `cannot tell which process listens on the WebSocket port ${wsPort}`,
    };
  }
  if (!daemon) {
    return { trusted: false, reason: `cannot tell which process listens on the daemon port ${port}` };
  }
  if (daemon.pid !== feed.pid) {
    return {
      trusted: false,
      reason: `the WebSocket port ${wsPort} belongs to PID ${feed.pid} (${feed.name}), the daemon port ${port} to PID ${daemon.pid} (${daemon.name})`,
    };
  }
  return { trusted: true, pid: daemon.pid };
}
