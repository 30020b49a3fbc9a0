import { join } from 'node:path';

/** The id of the daemon that today's single `daemon` settings block describes. */
export const DEFAULT_DAEMON_ID = 'default';

/**
 * Where one daemon's PID file and log file live in the data directory. The default daemon keeps the
 * names it had before several daemons existed (`daemon.pid.json`, `logs/daemon.log`), so an upgrade
 * still adopts the daemon an earlier run left behind; any other daemon gets `daemon-<id>.pid.json`
 * and `logs/<id>.log` (docs/settings.md).
 */
export function daemonPaths(dataDir: string, id: string): { pidFile: string; logFile: string } {
  // The id becomes part of a file name: never a path of its own.
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(id)) throw new Error(`Not a daemon id: ${JSON.stringify(id)}`);
  if (id === DEFAULT_DAEMON_ID) {
    return { pidFile: join(dataDir, 'daemon.pid.json'), logFile: join(dataDir, 'logs', 'daemon.log') };
  }
  return { pidFile: join(dataDir, `daemon-${id}.pid.json`), logFile: join(dataDir, 'logs', `${id}.log`) };
}
