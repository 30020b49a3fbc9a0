import { describe, expect, it, vi } from 'vitest';

import { createNotifier, notificationFor } from '../../src/main/notifications.js';
import type { DaemonStatus } from '../../src/shared/daemon-status.js';
import { STATUSES } from './helpers/fixtures.js';

const externalStop: DaemonStatus = { state: 'stopped', at: 1, reason: 'external-shutdown' };
const startFailed: DaemonStatus = {
  state: 'failed',
  at: 1,
  kind: 'start-failed',
  message: 'exit 1 before binding',
};

describe('notificationFor', () => {
  it.each([
    ['running → backoff', STATUSES.running, STATUSES.backoff, 'crash'],
    ['unresponsive → backoff', STATUSES.unresponsive, STATUSES.backoff, 'crash'],
    ['backoff → failed (crash loop)', STATUSES.backoff, STATUSES.failed, 'crash-loop'],
    ['starting → failed', STATUSES.starting, startFailed, 'start-failed'],
    ['running → stopped (external)', STATUSES.running, externalStop, 'external-stop'],
    ['running → stopping', STATUSES.running, STATUSES.stopping, null],
    ['stopping → stopped (user)', STATUSES.stopping, STATUSES.stopped, null],
    ['starting → running', STATUSES.starting, STATUSES.running, null],
    ['initial failed', null, startFailed, null],
    ['starting → backoff (not a crash of a running daemon)', STATUSES.starting, STATUSES.backoff, null],
  ] as const)('%s', (_l, prev, next, kind) => {
    expect(notificationFor(prev, next)?.kind ?? null).toBe(kind);
  });
});

function setup(enabled = true) {
  let t = 0;
  const show = vi.fn();
  const flags = { enabled };
  const n = createNotifier({ show, now: () => t, enabled: () => flags.enabled, dedupeMs: 60_000 });
  return { n, show, flags, advance: (ms: number) => (t += ms) };
}

describe('createNotifier', () => {
  it('notifies a crash once per minute (dedupe), again after the window', () => {
    const { n, show, advance } = setup();
    n.onStatus(STATUSES.running);
    n.onStatus(STATUSES.backoff);
    n.onStatus(STATUSES.running);
    n.onStatus(STATUSES.backoff);
    expect(show).toHaveBeenCalledTimes(1);
    expect(show).toHaveBeenCalledWith('Luna daemon crashed', 'exited with code 1');
    advance(60_001);
    n.onStatus(STATUSES.running);
    n.onStatus(STATUSES.backoff);
    expect(show).toHaveBeenCalledTimes(2);
  });

  it('different kinds are not deduplicated against each other', () => {
    const { n, show } = setup();
    n.onStatus(STATUSES.running);
    n.onStatus(STATUSES.backoff);
    n.onStatus(STATUSES.failed);
    expect(show.mock.calls.map((c): unknown => c[0])).toEqual([
      'Luna daemon crashed',
      'Luna daemon keeps crashing',
    ]);
  });

  it('is silent when app.notifications is off (read at notification time)', () => {
    const { n, show, flags } = setup(false);
    n.onStatus(STATUSES.running);
    n.onStatus(externalStop);
    n.notifyJobFailed('http://127.0.0.1:8188', 'OOM');
    expect(show).not.toHaveBeenCalled();
    flags.enabled = true;
    n.onStatus(STATUSES.running);
    n.onStatus(externalStop);
    expect(show).toHaveBeenCalledWith('Luna daemon stopped', expect.stringContaining('outside'));
  });

  it('job failures dedupe per instance', () => {
    const { n, show } = setup();
    n.notifyJobFailed('http://a', 'OOM');
    n.notifyJobFailed('http://a', 'OOM again');
    n.notifyJobFailed('http://b', 'bad node');
    expect(show).toHaveBeenCalledTimes(2);
  });

  it('a finished job notifies only with the notify.jobFinished opt-in (and app.notifications on)', () => {
    let t = 0;
    const show = vi.fn();
    const flags = { enabled: true, jobFinished: false };
    const n = createNotifier({
      show,
      now: () => t,
      enabled: () => flags.enabled,
      jobFinished: () => flags.jobFinished,
    });
    n.notifyJobFinished('http://a', 'Prompt p1 finished in 3.0 s.');
    expect(show).not.toHaveBeenCalled();
    flags.jobFinished = true;
    n.notifyJobFinished('http://a', 'Prompt p2 finished in 3.0 s.');
    expect(show).toHaveBeenCalledWith('ComfyUI job finished (http://a)', 'Prompt p2 finished in 3.0 s.');
    flags.enabled = false;
    t += 120_000;
    n.notifyJobFinished('http://a', 'Prompt p3 finished.');
    expect(show).toHaveBeenCalledTimes(1);
  });

  it('Check status always reports, even with notifications off', () => {
    const { n, show } = setup(false);
    n.notifyCheckResult({ ok: true, value: { message: 'pong in 3 ms' } });
    n.notifyCheckResult({ ok: false, error: { code: 'not-running', message: 'nothing listens on 19283' } });
    expect(show.mock.calls).toEqual([
      ['Luna daemon status', 'pong in 3 ms'],
      ['Luna daemon status', 'nothing listens on 19283'],
    ]);
  });
});

describe('several daemons', () => {
  const clip = { id: 'clip', name: 'CLIP' };
  const vae = { id: 'vae', name: 'VAE' };

  it('names the daemon in the title', () => {
    expect(notificationFor(STATUSES.running, STATUSES.backoff, 'VAE')?.title).toBe('Luna daemon VAE crashed');
    expect(notificationFor(STATUSES.backoff, STATUSES.failed, 'GPU 1')?.title).toBe(
      'Luna daemon GPU 1 keeps crashing',
    );
  });

  it('follows transitions per daemon and dedupes per daemon', () => {
    const { n, show } = setup();
    n.onStatus(STATUSES.running, clip);
    n.onStatus(STATUSES.running, vae);
    // The CLIP daemon's crash is not hidden by the VAE daemon's status arriving in between.
    n.onStatus(STATUSES.stopped, vae);
    n.onStatus(STATUSES.backoff, clip);
    n.onStatus(STATUSES.running, vae);
    n.onStatus(STATUSES.backoff, vae);
    expect(show.mock.calls.map((c) => c[0] as string)).toEqual([
      'Luna daemon CLIP crashed',
      'Luna daemon VAE crashed',
    ]);
  });
});
