import { basename } from 'node:path';

import type { PreflightReport } from '../../shared/contract/invoke.js';
import type { FailureKind } from '../../shared/daemon-status.js';
import type { DaemonConfig, OneDaemonSettings } from '../../shared/settings-schema.js';
import type { ProbeResult } from '../daemon/generation-probe.js';
import { checkPython, resolveLaunchProfile, type LaunchProfile } from '../settings/launch-profile.js';
import { describePortConflict, effectiveDaemonPorts, type DaemonPortKind } from './port-conflict.js';
import { isPortFree } from './port-owner.js';

/**
 * The ONE pre-flight of a daemon launch, shared by the panel's "Test launch profile" (which shows
 * every check) and Start (which stops at the first failure, and takes its failure kind): the launch
 * profile, its interpreter, the daemon port, the WebSocket port. Whoever already answers on the
 * daemon port was probed by the caller (a Start adopts a Luna daemon before it gets here).
 */

export type PreflightCheck = PreflightReport['checks'][number];

export interface PreflightInput {
  /** The settings with this daemon's block as `daemon`. */
  settings: OneDaemonSettings;
  /** Host and port in use (the running daemon's endpoint, or the settings'). */
  host: string;
  port: number;
  /** What answered on the daemon port. */
  probed: ProbeResult['generation'];
  dataDir: string;
  simulatorPath: string;
  /** Start: stop at the first failed check. */
  stopAtFirstFailure?: boolean;
  /** For tests: whether a port is free (default: try to bind it). */
  isPortFree?: (port: number, host: string) => Promise<boolean>;
  /** For tests: run the interpreter check (default {@link checkPython}). */
  checkPython?: (command: string) => Promise<{ ok: boolean; message: string }>;
}

export interface PreflightResult {
  checks: PreflightCheck[];
  /** The first failure, with the status kind a Start reports; null when every check passed. */
  failure: { kind: FailureKind; message: string } | null;
  /** The resolved launch profile, when it resolved. */
  profile: LaunchProfile | null;
}

export async function runPreflight(input: PreflightInput): Promise<PreflightResult> {
  const { settings, host, port } = input;
  const checks: PreflightCheck[] = [];
  let failure: PreflightResult['failure'] = null;
  let profile: LaunchProfile | null = null;
  const portFree = input.isPortFree ?? isPortFree;
  const conflict = (p: number, kind: DaemonPortKind, notLuna = false) =>
    describePortConflict({ host, port: p, kind, settings, notLuna });
  /** Record a check; false when the pre-flight should stop here. */
  const add = (check: PreflightCheck, kind: FailureKind = 'start-failed'): boolean => {
    checks.push(check);
    if (!check.ok && !failure) failure = { kind, message: check.message };
    return check.ok || !input.stopAtFirstFailure;
  };

  const resolved = resolveLaunchProfile(settings, {
    dataDir: input.dataDir,
    simulatorPath: input.simulatorPath,
  });
  if (!resolved.ok) {
    add({ name: 'launch profile', ok: false, message: resolved.message }, resolved.kind);
    return { checks, failure, profile };
  }
  profile = resolved;
  add({ name: 'launch profile', ok: true, message: resolved.description });
  if (looksLikePython(resolved.command)) {
    const py = await (input.checkPython ?? checkPython)(resolved.command);
    if (!add({ name: 'python', ok: py.ok, message: py.message }, 'missing-python'))
      return { checks, failure, profile };
  }

  const name = `port ${port}`;
  if (input.probed === 'none') {
    add({ name, ok: true, message: `port ${port} is free` });
  } else if (input.probed === 'not-luna') {
    if (!add({ name, ok: false, message: await conflict(port, 'daemon', true) }, 'port-conflict'))
      return { checks, failure, profile };
  } else {
    add({
      name,
      ok: true,
      message: `a Luna daemon (${input.probed} protocol) already answers on ${port}: it would be adopted, not started twice`,
    });
  }
  // The daemon binds the WebSocket port FIRST and aborts if it is busy (docs/daemon-protocol.md
  // §3.7). With the comfyui profile the real daemon binds the ports of its own config.py.
  const wsPort = effectiveDaemonPorts(settings).wsPort;
  if (wsPort > 0 && input.probed === 'none') {
    const free = await portFree(wsPort, host);
    add(
      {
        name: `port ${wsPort}`,
        ok: free,
        message: free ? `port ${wsPort} is free` : await conflict(wsPort, 'ws'),
      },
      'port-conflict',
    );
  }
  return { checks, failure, profile };
}

/** The panel's report of a pre-flight. */
export function preflightReport(result: PreflightResult, d: DaemonConfig): PreflightReport {
  const p = result.profile;
  return {
    ok: result.failure === null,
    command: p?.command ?? d.command,
    args: p?.args ?? d.args,
    cwd: p?.cwd ?? d.cwd,
    checks: result.checks,
  };
}

function looksLikePython(command: string): boolean {
  return /python/i.test(basename(command));
}
