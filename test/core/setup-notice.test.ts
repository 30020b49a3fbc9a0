// The first-start hint: nothing configured → one "not set up yet" warning that names the Settings
// field and the CLI command, logged once, and stepping aside once Start is tried or the settings fix it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { createLunaCore } from '../../src/core/app/luna-core.js';
import { MemorySettingsStore } from '../../src/core/settings/memory-settings-store.js';
import { defaultSettings } from '../../src/shared/settings-schema.js';
import { SIM_PATH } from '../helpers/sim.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function core() {
  const dataDir = mkdtempSync(join(tmpdir(), 'luna-setup-notice-'));
  dirs.push(dataDir);
  const settingsStore = new MemorySettingsStore(defaultSettings());
  const c = await createLunaCore({ dataDir, settingsStore, simulatorPath: SIM_PATH });
  return { c, settingsStore, dataDir };
}

const mentions = (texts: string[]) => texts.filter((t) => t.includes('comfyui.path is not set'));

describe('the first-start hint', () => {
  it('is one warning naming the Settings field and the CLI command (state, not a log line)', async () => {
    const { c } = await core();
    try {
      const warnings = c.snapshot().warnings;
      expect(mentions(warnings.map((w) => w.message))).toHaveLength(1);
      const [w] = warnings;
      expect(w!.message).toMatch(/^Not set up yet: comfyui\.path is not set/);
      expect(w!.message).toContain('Settings → ComfyUI → "ComfyUI folder"');
      expect(w!.message).toContain('`luna-tray config set comfyui.path /path/to/ComfyUI`');
      // The log view sits beside the warnings in the panel: a log line would show it twice.
      expect(mentions(c.store.since(0).entries.map((e) => e.text))).toHaveLength(0);
    } finally {
      await c.dispose({ keepDaemon: true });
    }
  });

  it('steps aside once Start is tried: the error carries the words, not a second copy', async () => {
    const { c } = await core();
    try {
      const r = await c.handlers['daemon:start']({});
      expect(r.ok).toBe(false);
      const s = c.snapshot();
      expect(s.status.state).toBe('failed');
      expect('message' in s.status && s.status.message).toContain('comfyui.path is not set');
      expect(s.warnings.map((w) => w.id)).not.toContain('setup');
    } finally {
      await c.dispose({ keepDaemon: true });
    }
  });

  it('goes away when the settings fix it (a ComfyUI folder, or the simulator profile)', async () => {
    const { c, settingsStore, dataDir } = await core();
    try {
      expect(c.snapshot().warnings.map((w) => w.id)).toContain('setup');
      expect(settingsStore.update({ comfyui: { path: dataDir } }).ok).toBe(true);
      expect(c.snapshot().warnings.map((w) => w.id)).not.toContain('setup');
    } finally {
      await c.dispose({ keepDaemon: true });
    }
  });
});
