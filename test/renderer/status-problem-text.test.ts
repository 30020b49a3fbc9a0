import { describe, expect, it } from 'vitest';

import { problemText } from '../../src/renderer/features/status/status-header.js';

const exit = { code: 1, signal: null, at: Date.UTC(2026, 0, 2, 3, 4, 5), stderrTail: [] };

describe('the status header problem line', () => {
  it('while the daemon runs, an exit is the previous run’s, with its time — not current', () => {
    const t = problemText(
      { state: 'running', at: 2, pid: 7, since: 2, adopted: false, generation: 'current' },
      { lastExit: exit },
    );
    expect(t).toMatch(/^Previous run ended: code 1 at .+/);
    expect(t).not.toContain('Last exit');
  });

  it('when stopped, the last exit is shown as such', () => {
    const t = problemText({ state: 'stopped', at: 2, reason: 'user' }, { lastExit: exit });
    expect(t).toMatch(/^Last exit: code 1 at .+/);
  });

  it('a hang kill says Luna Tray killed it because it stopped answering, not "signal SIGKILL"', () => {
    const t = problemText(
      { state: 'backoff', at: 2, attempt: 1, retryAt: 3, message: 'x' },
      { lastExit: { ...exit, code: null, signal: 'SIGKILL', cause: 'unresponsive' } },
    );
    expect(t).toContain('killed by Luna Tray because it stopped answering');
    expect(t).not.toContain('signal SIGKILL');
  });

  it('a failed state’s message is not repeated: the state line already says it', () => {
    const t = problemText(
      { state: 'failed', at: 2, kind: 'not-configured', message: 'comfyui.path is not set' },
      { lastExit: null },
    );
    expect(t).toBe('');
  });
});
