// The core's `logs:appended` pushes: coalesced, read back from the store only while someone listens
// (a flood with no panel open builds no entries; docs/benchmarks.md, control-api-flood).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it, vi } from 'vitest';

import { createLunaCore } from '../../src/core/app/luna-core.js';
import { MemorySettingsStore } from '../../src/core/settings/memory-settings-store.js';
import type { LogEntry } from '../../src/shared/log-entry.js';
import { defaultSettings } from '../../src/shared/settings-schema.js';
import { SIM_PATH } from '../helpers/sim.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function core() {
  const dataDir = mkdtempSync(join(tmpdir(), 'luna-push-core-'));
  dirs.push(dataDir);
  return createLunaCore({
    dataDir,
    settingsStore: new MemorySettingsStore(defaultSettings()),
    simulatorPath: SIM_PATH,
    logPushIntervalMs: 5,
  });
}

const entry = (text: string): LogEntry => ({
  seq: 0,
  ts: Date.now(),
  source: 'stderr',
  level: 'info',
  logger: undefined,
  text,
});

describe('logs:appended pushes', () => {
  it('build no entries without a listener, and push only what came after one subscribed', async () => {
    const c = await core();
    try {
      const since = vi.spyOn(c.store, 'since');
      c.store.append([entry('before 1'), entry('before 2')]);
      await new Promise((r) => setTimeout(r, 30));
      expect(since).not.toHaveBeenCalled();

      const pushed: string[][] = [];
      const off = c.events.on('logs:appended', ({ entries }) => pushed.push(entries.map((e) => e.text)));
      c.store.append([entry('after 1')]);
      c.store.append([entry('after 2')]);
      await vi.waitFor(() => expect(pushed.flat()).toEqual(['after 1', 'after 2']));
      // Coalesced: both appends went out in one push.
      expect(pushed).toHaveLength(1);
      off();
    } finally {
      await c.dispose({ keepDaemon: true });
    }
  });
});
