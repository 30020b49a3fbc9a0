import type { ExitRecord, FailureKind, Generation } from '../../shared/daemon-status.js';
import type { LogLevel } from '../../shared/log-entry.js';
import type { OneDaemonSettings } from '../../shared/settings-schema.js';
import type { LogStore } from '../logs/log-store.js';
import { errorMessage } from '../util/error-message.js';
import { findDaemonToAdopt, type AdoptionFinding } from './adoption.js';
import type { DaemonEndpoint } from './endpoint.js';
import { explainEarlyExit } from './exit-classification.js';
import { waitReady, type OwnedChild } from './owned-child.js';
import type { PidFile } from './pid-file.js';
import { effectiveDaemonPorts, type DaemonPortKind } from './port-conflict.js';
import { runPreflight } from './preflight.js';
import { LaunchError, type LaunchedProcess, type ProcessLauncher } from './process-launcher.js';
import { processStartTime } from './processes.js';
import { killSpawned } from './stop-sequence.js';

/**
 * One start attempt, from "is a daemon already there?" to "it answers": adoption, the pre-flight
 * (preflight.ts), the spawn, the PID file and readiness. It changes no status itself: it hands the
 * spawned process to the coordinator (`takeChild`) and returns what happened, so the coordinator
 * alone decides what each outcome means for the status and the restart policy.
 */

export type StartResult =
  | { kind: 'aborted' }
  | Extract<AdoptionFinding, { kind: 'adopt' }>
  | { kind: 'failed'; failure: FailureKind; message: string; lastExit?: ExitRecord }
  | { kind: 'ready'; child: OwnedChild; generation: Generation }
  /** An automatic restart whose process exited before answering: the restart policy judges it. */
  | { kind: 'exited'; exit: ExitRecord };

export interface StartSequenceOptions {
  /** The settings with this daemon's block as `daemon`, read once for the whole attempt. */
  settings: OneDaemonSettings;
  /** Host, ports and launch, fixed for the life of the process (endpoint.ts). */
  endpoint: DaemonEndpoint;
  /** An automatic restart (an early exit is then a crash, not something to explain). */
  auto: boolean;
  /** A stop cancels the attempt. */
  signal: AbortSignal;
  pidFile: PidFile;
  dataDir: string;
  simulatorPath: string;
  launcher: ProcessLauncher;
  store: LogStore;
  now: () => number;
  log: (level: LogLevel, text: string) => void;
  /** Make the spawned process THE daemon (its exit handling, the `spawned` status). */
  takeChild: (proc: LaunchedProcess) => OwnedChild;
  /** The last exit the coordinator recorded (a timed-out start's, once it was killed). */
  lastExit: () => ExitRecord | null;
  /** Describe who holds a port, for an early exit that looks like a port conflict. */
  conflict: (port: number, kind: DaemonPortKind) => Promise<string>;
}

export async function runStartSequence(o: StartSequenceOptions): Promise<StartResult> {
  const { settings, endpoint: ep, signal, log } = o;
  const d = settings.daemon;
  const found = await findDaemonToAdopt({ ...ep, pidFile: o.pidFile, signal, log });
  if (found.kind === 'aborted') return found;
  if (found.kind === 'refuse') return failed('port-conflict', found.message);
  if (found.kind === 'adopt') return found;

  const pre = await runPreflight({
    dataDir: o.dataDir,
    simulatorPath: o.simulatorPath,
    settings,
    ...ep,
    probed: found.probed,
    stopAtFirstFailure: true,
  });
  if (pre.failure || !pre.profile)
    return failed(pre.failure?.kind ?? 'start-failed', pre.failure?.message ?? '');
  const profile = pre.profile;
  for (const note of profile.notes) log('info', note);
  if (signal.aborted) return { kind: 'aborted' };

  let proc: LaunchedProcess;
  try {
    proc = o.launcher.launch({
      command: profile.command,
      args: profile.args,
      cwd: profile.cwd,
      env: profile.env,
    });
  } catch (e) {
    const enoent = e instanceof LaunchError && e.code === 'ENOENT';
    return failed(
      enoent ? 'missing-python' : 'start-failed',
      `Could not run ${profile.command}: ${enoent ? 'file not found' : errorMessage(e)}. Check daemon.command (or comfyui.path).`,
    );
  }
  log('info', `Started ${profile.description} (PID ${proc.pid}).`);
  const child = o.takeChild(proc);
  void processStartTime(proc.pid).then((startTime) =>
    o.pidFile
      .write({ pid: proc.pid, startTime, command: profile.command, port: ep.port, startedAt: o.now() })
      .catch((e) => log('warning', `Could not write the PID file: ${errorMessage(e)}`)),
  );

  const ready = await waitReady(child, {
    ...ep,
    timeoutMs: d.startTimeoutSec * 1000,
    store: o.store,
    signal,
  });
  if (ready.kind === 'ready') return { kind: 'ready', child, generation: ready.generation };
  if (ready.kind === 'aborted') return ready;
  if (ready.kind === 'timeout') {
    await killSpawned({ pid: proc.pid, exit: child.exit }, log);
    const lastExit = o.lastExit();
    return {
      ...failed(
        'start-timeout',
        `The daemon did not answer a ping within ${d.startTimeoutSec} s. Importing torch can be slow: raise daemon.startTimeoutSec, or read the logs.`,
      ),
      ...(lastExit ? { lastExit } : {}),
    };
  }
  if (o.auto) return { kind: 'exited', exit: ready.exit };
  const early = await explainEarlyExit(ready.exit, {
    command: profile.command,
    host: ep.host,
    ports: effectiveDaemonPorts(settings),
    conflict: o.conflict,
  });
  return { ...failed(early.kind, early.message), lastExit: ready.exit };
}

function failed(failure: FailureKind, message: string): StartResult & { kind: 'failed' } {
  return { kind: 'failed', failure, message };
}
