import type { DaemonConfig, OneDaemonSettings } from '../../shared/settings-schema.js';

/**
 * Where and how the supervised daemon runs, taken from the settings when it is spawned or adopted
 * and used until that process is gone (docs/daemon-protocol.md §2): a settings change must never
 * send a `shutdown` or a ping to another port while the old daemon still runs. Changes apply at the
 * next start; until then {@link endpointChanges} names them ("restart to apply").
 */
export interface DaemonEndpoint {
  host: DaemonConfig['host'];
  port: number;
  wsPort: number;
  generation: DaemonConfig['generation'];
  /** How the process was launched (compared only, for "restart to apply"). */
  launch: {
    profile: DaemonConfig['profile'];
    command: string;
    args: string[];
    cwd: string;
    comfyPath: string;
  };
}

/** The endpoint the current settings describe. */
export function endpointOf(settings: OneDaemonSettings): DaemonEndpoint {
  const d = settings.daemon;
  return {
    host: d.host,
    port: d.port,
    wsPort: d.wsPort,
    generation: d.generation,
    launch: {
      profile: d.profile,
      command: d.command,
      args: [...d.args],
      cwd: d.cwd,
      comfyPath: settings.comfyui.path,
    },
  };
}

/** The settings that differ from the running daemon's endpoint, in words (`daemon.port 19283 → 19300`). */
export function endpointChanges(running: DaemonEndpoint, settings: OneDaemonSettings): string[] {
  const next = endpointOf(settings);
  const out: string[] = [];
  const cmp = (key: string, a: unknown, b: unknown) => {
    const before = JSON.stringify(a);
    const after = JSON.stringify(b);
    if (before !== after) out.push(`${key} ${before} → ${after}`);
  };
  cmp('daemon.host', running.host, next.host);
  cmp('daemon.port', running.port, next.port);
  cmp('daemon.wsPort', running.wsPort, next.wsPort);
  cmp('daemon.generation', running.generation, next.generation);
  cmp('daemon.profile', running.launch.profile, next.launch.profile);
  cmp('daemon.command', running.launch.command, next.launch.command);
  cmp('daemon.args', running.launch.args, next.launch.args);
  cmp('daemon.cwd', running.launch.cwd, next.launch.cwd);
  cmp('comfyui.path', running.launch.comfyPath, next.launch.comfyPath);
  return out;
}

/** The sentence the panel and CLI show while {@link endpointChanges} is not empty. */
export function restartToApplyMessage(changes: string[]): string {
  return `Settings changed while the daemon runs (${changes.join(', ')}): restart the daemon to apply them. Until then Luna Tray keeps talking to the running daemon where it was started.`;
}
