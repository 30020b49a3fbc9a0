import type { DaemonStatus, ExitRecord, FailureKind, Generation } from '../../shared/daemon-status.js';

/** Everything that can happen to the daemon, as the supervisor observes it. */
export type StatusEvent =
  | { type: 'start-requested'; attempt: number }
  | { type: 'spawned'; pid: number }
  | { type: 'ready'; pid: number | null; adopted: boolean; generation: Generation }
  | { type: 'ping-failed'; failedPings: number; threshold: number }
  | { type: 'ping-ok' }
  | { type: 'stop-requested' }
  | { type: 'stop-escalated'; step: 'terminating' | 'killing' }
  | { type: 'stopped'; reason: 'user' | 'external-shutdown'; lastExit?: ExitRecord }
  | { type: 'backoff'; attempt: number; retryAt: number; message: string; lastExit?: ExitRecord }
  | { type: 'failed'; kind: FailureKind; message: string; lastExit?: ExitRecord };

export const INITIAL_STATUS: DaemonStatus = { state: 'stopped', at: 0, reason: 'initial' };

/**
 * The pure status reducer: `transition(status, event, now)`. An event that makes no sense in the
 * current state (a late `ready` after a stop, a ping result while stopped) returns the SAME object,
 * so callers can detect "no change" with `===`. Side effects live in the Supervisor.
 */
export function transition(status: DaemonStatus, event: StatusEvent, now: number): DaemonStatus {
  const s = status.state;
  switch (event.type) {
    case 'start-requested':
      // A start is meaningful from rest (stopped/failed) and when a scheduled restart fires.
      if (s === 'stopped' || s === 'failed' || s === 'backoff') {
        return { state: 'starting', at: now, pid: null, attempt: event.attempt };
      }
      return status;
    case 'spawned':
      if (s === 'starting') return { ...status, at: now, pid: event.pid };
      return status;
    case 'ready':
      if (s === 'starting' || s === 'stopped' || s === 'failed' || s === 'backoff') {
        return {
          state: 'running',
          at: now,
          pid: event.pid,
          since: now,
          adopted: event.adopted,
          generation: event.generation,
        };
      }
      return status;
    case 'ping-failed':
      if ((s === 'running' || s === 'unresponsive') && event.failedPings >= event.threshold) {
        return {
          state: 'unresponsive',
          at: s === 'unresponsive' ? status.at : now,
          pid: status.pid,
          since: status.since,
          adopted: status.adopted,
          generation: status.generation,
          failedPings: event.failedPings,
        };
      }
      return status;
    case 'ping-ok':
      if (s === 'unresponsive') {
        return {
          state: 'running',
          at: now,
          pid: status.pid,
          since: status.since,
          adopted: status.adopted,
          generation: status.generation,
        };
      }
      return status;
    case 'stop-requested':
      if (s === 'starting' || s === 'running' || s === 'unresponsive') {
        return { state: 'stopping', at: now, pid: status.pid, step: 'shutdown-sent' };
      }
      if (s === 'backoff') return { state: 'stopped', at: now, reason: 'user', lastExit: status.lastExit };
      return status;
    case 'stop-escalated':
      if (s === 'stopping' && status.step !== event.step) return { ...status, at: now, step: event.step };
      return status;
    case 'stopped':
      if (s === 'stopped') return status;
      return {
        state: 'stopped',
        at: now,
        reason: event.reason,
        ...(event.lastExit ? { lastExit: event.lastExit } : {}),
      };
    case 'backoff':
      if (s === 'stopped' && status.reason === 'user') return status;
      return {
        state: 'backoff',
        at: now,
        attempt: event.attempt,
        retryAt: event.retryAt,
        message: event.message,
        ...(event.lastExit ? { lastExit: event.lastExit } : {}),
      };
    case 'failed':
      return {
        state: 'failed',
        at: now,
        kind: event.kind,
        message: event.message,
        ...(event.lastExit ? { lastExit: event.lastExit } : {}),
      };
  }
}
