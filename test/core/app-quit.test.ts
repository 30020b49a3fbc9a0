// `app:quit` (the panel's Quit): answered first, then the host's Exit; an error where the host has none.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it, vi } from 'vitest';

import { createLunaCore } from '../../src/core/app/luna-core.js';
import { MemorySettingsStore } from '../../src/core/settings/memory-settings-store.js';
import { defaultSettings } from '../../src/shared/settings-schema.js';
import { SIM_PATH } from '../helpers/sim.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function core(onQuit?: () => void) {
  const dataDir = mkdtempSync(join(tmpdir(), 'luna-quit-core-'));
  dirs.push(dataDir);
  return createLunaCore({
    dataDir,
    settingsStore: new MemorySettingsStore(defaultSettings()),
    simulatorPath: SIM_PATH,
    onQuit,
  });
}

describe('app:quit', () => {
  it('answers, then calls the host’s quit (not before the answer)', async () => {
    const onQuit = vi.fn();
    const c = await core(onQuit);
    try {
      expect(await c.handlers['app:quit']({})).toEqual({
        ok: true,
        value: { message: 'Luna Tray is quitting.' },
      });
      expect(onQuit).not.toHaveBeenCalled();
      await vi.waitFor(() => expect(onQuit).toHaveBeenCalledTimes(1));
    } finally {
      await c.dispose({ keepDaemon: true });
    }
  });

  it('is an error where the host cannot quit', async () => {
    const c = await core();
    try {
      expect(await c.handlers['app:quit']({})).toMatchObject({
        ok: false,
        error: { code: 'operation-failed' },
      });
    } finally {
      await c.dispose({ keepDaemon: true });
    }
  });
});
