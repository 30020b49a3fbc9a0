import { describe, expect, it } from 'vitest';

import { lastErrorText, progressText } from '../../src/renderer/features/comfy/progress-text.js';

const base = {
  promptId: 'p1',
  node: '3',
  nodeTitle: 'Main sampler',
  value: 0,
  max: 0,
  startedAt: 1_000,
  stepsVisible: false,
};

describe('the panel progress text', () => {
  it("another client's prompt: running, elapsed, the node, and where the step progress went; never 0 / 0", () => {
    const t = progressText(base, 13_500);
    expect(t).toEqual({
      label: 'Main sampler',
      caption: 'running · 12s elapsed',
      bar: null,
      note: expect.stringContaining('only to the client that queued this prompt'),
    });
    expect(JSON.stringify(t)).not.toContain('0 / 0');
    expect(progressText({ ...base, node: null, nodeTitle: null }, 2_000).label).toBe('prompt');
  });

  it('a prompt whose steps reach us: node, step and percentage', () => {
    const t = progressText({ ...base, stepsVisible: true, value: 7, max: 20 }, 4_000);
    expect(t).toEqual({
      label: 'Main sampler',
      caption: 'step 7 / 20 · 35% · 3s',
      bar: { value: 7, max: 20 },
      note: null,
    });
  });

  it('the last error carries its time', () => {
    const at = Date.UTC(2026, 0, 2, 3, 4, 5);
    const text = lastErrorText({
      promptId: 'p',
      nodeId: '3',
      nodeType: 'KSampler',
      exceptionType: 'torch.OutOfMemoryError',
      message: 'out of memory',
      at,
    });
    expect(text).toBe(
      `Last error at ${new Date(at).toLocaleString()} in KSampler: torch.OutOfMemoryError: out of memory`,
    );
  });
});
