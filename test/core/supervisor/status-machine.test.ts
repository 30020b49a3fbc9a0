import { describe, expect, it } from 'vitest';

import { colorOf, type DaemonStatus } from '../../../src/shared/daemon-status.js';
import { INITIAL_STATUS, transition, type StatusEvent } from '../../../src/core/supervisor/status-machine.js';

const exit = { code: 1, signal: null, at: 5, stderrTail: ['boom'] };
const S = {
  stopped: INITIAL_STATUS,
  userStopped: { state: 'stopped', at: 1, reason: 'user' } as DaemonStatus,
  starting: { state: 'starting', at: 1, pid: 42, attempt: 1 } as DaemonStatus,
  running: {
    state: 'running',
    at: 1,
    pid: 42,
    since: 1,
    adopted: false,
    generation: 'current',
  } as DaemonStatus,
  unresponsive: {
    state: 'unresponsive',
    at: 1,
    pid: 42,
    since: 1,
    adopted: false,
    generation: 'current',
    failedPings: 3,
  } as DaemonStatus,
  stopping: { state: 'stopping', at: 1, pid: 42, step: 'shutdown-sent' } as DaemonStatus,
  backoff: {
    state: 'backoff',
    at: 1,
    attempt: 1,
    retryAt: 2000,
    message: 'x',
    lastExit: exit,
  } as DaemonStatus,
  failed: { state: 'failed', at: 1, kind: 'start-failed', message: 'no' } as DaemonStatus,
};
type Name = keyof typeof S;

const E: Record<string, StatusEvent> = {
  start: { type: 'start-requested', attempt: 1 },
  spawned: { type: 'spawned', pid: 99 },
  ready: { type: 'ready', pid: 99, adopted: false, generation: 'current' },
  adopt: { type: 'ready', pid: null, adopted: true, generation: 'legacy' },
  pingFail1: { type: 'ping-failed', failedPings: 1, threshold: 3 },
  pingFail3: { type: 'ping-failed', failedPings: 3, threshold: 3 },
  pingOk: { type: 'ping-ok' },
  stop: { type: 'stop-requested' },
  term: { type: 'stop-escalated', step: 'terminating' },
  stoppedUser: { type: 'stopped', reason: 'user' },
  stoppedExternal: { type: 'stopped', reason: 'external-shutdown', lastExit: { ...exit, code: 0 } },
  backoff: { type: 'backoff', attempt: 2, retryAt: 9000, message: 'crashed', lastExit: exit },
  fail: { type: 'failed', kind: 'crash-loop', message: 'loop', lastExit: exit },
};

// [from, event, expected state or 'same' (the reducer returns the identical object)]
const table: [Name, keyof typeof E, DaemonStatus['state'] | 'same'][] = [
  ['stopped', 'start', 'starting'],
  ['failed', 'start', 'starting'],
  ['backoff', 'start', 'starting'],
  ['running', 'start', 'same'],
  ['starting', 'start', 'same'],
  ['stopping', 'start', 'same'],
  ['starting', 'spawned', 'starting'],
  ['running', 'spawned', 'same'],
  ['starting', 'ready', 'running'],
  ['stopped', 'adopt', 'running'],
  ['stopping', 'ready', 'same'],
  ['running', 'ready', 'same'],
  ['running', 'pingFail1', 'same'],
  ['running', 'pingFail3', 'unresponsive'],
  ['stopped', 'pingFail3', 'same'],
  ['unresponsive', 'pingOk', 'running'],
  ['running', 'pingOk', 'same'],
  ['running', 'stop', 'stopping'],
  ['starting', 'stop', 'stopping'],
  ['unresponsive', 'stop', 'stopping'],
  ['backoff', 'stop', 'stopped'],
  ['stopped', 'stop', 'same'],
  ['failed', 'stop', 'same'],
  ['stopping', 'term', 'stopping'],
  ['running', 'term', 'same'],
  ['stopping', 'stoppedUser', 'stopped'],
  ['running', 'stoppedExternal', 'stopped'],
  ['stopped', 'stoppedUser', 'same'],
  ['running', 'backoff', 'backoff'],
  ['userStopped', 'backoff', 'same'],
  ['starting', 'fail', 'failed'],
  ['running', 'fail', 'failed'],
];

describe('status machine', () => {
  it.each(table)('%s + %s → %s', (from, ev, expected) => {
    const before = S[from];
    const after = transition(before, E[ev]!, 1234);
    if (expected === 'same') expect(after).toBe(before);
    else {
      expect(after.state).toBe(expected);
      expect(after.at).toBe(1234);
    }
  });

  it('carries the payload of each state', () => {
    const r = transition(S.starting, E.ready!, 50);
    expect(r).toEqual({
      state: 'running',
      at: 50,
      pid: 99,
      since: 50,
      adopted: false,
      generation: 'current',
    });
    const a = transition(S.stopped, E.adopt!, 60);
    expect(a).toMatchObject({ state: 'running', adopted: true, pid: null, generation: 'legacy' });
    const u = transition(S.running, E.pingFail3!, 70);
    expect(u).toMatchObject({ state: 'unresponsive', failedPings: 3, since: 1, pid: 42 });
    const b = transition(S.running, E.backoff!, 80);
    expect(b).toMatchObject({ state: 'backoff', attempt: 2, retryAt: 9000, lastExit: exit });
    const f = transition(S.running, E.fail!, 90);
    expect(f).toMatchObject({ state: 'failed', kind: 'crash-loop', message: 'loop', lastExit: exit });
    const x = transition(S.running, E.stoppedExternal!, 95);
    expect(x).toMatchObject({ state: 'stopped', reason: 'external-shutdown', lastExit: { code: 0 } });
  });

  it('keeps the unresponsive timestamp while pings keep failing', () => {
    const u = transition(S.running, E.pingFail3!, 100);
    const later = transition(u, { type: 'ping-failed', failedPings: 4, threshold: 3 }, 200);
    expect(later.at).toBe(100);
    expect(later).toMatchObject({ failedPings: 4 });
  });

  it.each([
    ['stopped', 'gray'],
    ['starting', 'yellow'],
    ['stopping', 'yellow'],
    ['running', 'green'],
    ['unresponsive', 'red'],
    ['backoff', 'red'],
    ['failed', 'red'],
  ] as const)('%s is %s', (state, color) => {
    expect(colorOf({ state })).toBe(color);
  });
});
