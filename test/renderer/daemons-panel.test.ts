import { describe, expect, it } from 'vitest';

import { daemonsOf } from '../../src/renderer/features/settings/daemons-editor.js';
import { addDaemon, moveDaemon, removeDaemon } from '../../src/renderer/features/settings/daemons-list.js';
import { daemonCardModel } from '../../src/renderer/features/status/daemon-cards.js';
import type { DaemonSummary } from '../../src/shared/daemon-summary.js';
import { colorOf, type DaemonStatus } from '../../src/shared/daemon-status.js';
import { daemonEntrySchema, type DaemonEntry, type Settings } from '../../src/shared/settings-schema.js';
import { snapshot } from '../main/helpers/fixtures.js';

const T = 1_700_000_000_000;
const running: DaemonStatus = {
  state: 'running',
  at: T,
  pid: 4242,
  since: T,
  adopted: false,
  generation: 'current',
};
const stopped: DaemonStatus = { state: 'stopped', at: T, reason: 'initial' };

function summary(id: string, status: DaemonStatus, over: Partial<DaemonSummary> = {}): DaemonSummary {
  return {
    id,
    name: id.toUpperCase(),
    enabled: true,
    host: '127.0.0.1',
    port: 19283,
    wsPort: 0,
    state: status.state,
    color: colorOf(status),
    pid: 'pid' in status ? status.pid : null,
    models: [],
    vram: [],
    snapshot: snapshot(status),
    ...over,
  };
}

const entry = (id: string, port: number, wsPort = 0): DaemonEntry =>
  daemonEntrySchema.parse({ id, name: id.toUpperCase(), port, wsPort });

describe('daemonCardModel', () => {
  it('shows state, where, models and summed VRAM of a running daemon', () => {
    const m = daemonCardModel(
      summary('clip', running, {
        models: ['clip_l', 'clip_g'],
        vram: [
          { device: 'cuda:0', usedGb: 2, totalGb: 12 },
          { device: 'cuda:1', usedGb: 1.5, totalGb: 12 },
        ],
      }),
      T,
    );
    expect(m).toMatchObject({
      name: 'CLIP',
      color: 'green',
      stateWords: 'running',
      where: '127.0.0.1:19283 · PID 4242',
      models: 'clip_l, clip_g',
      vram: '3.5 GiB / 24.0 GiB',
      enabled: { start: false, stop: true, restart: true, unload: true },
    });
  });

  it('says "Not running" and hides stale VRAM for a stopped daemon; a disabled one cannot start', () => {
    const m = daemonCardModel(
      summary('vae', stopped, { models: ['vae'], vram: [{ device: 'cuda:0', usedGb: 1, totalGb: 8 }] }),
      T,
    );
    expect(m).toMatchObject({ models: 'Not running', vram: '—', where: '127.0.0.1:19283' });
    expect(m.enabled.start).toBe(true);
    const off = daemonCardModel(summary('vae', stopped, { enabled: false }), T);
    expect(off.enabled.start).toBe(false);
    expect(off.stateWords).toBe('disabled · stopped');
  });
});

describe('daemon list edits', () => {
  const list = [entry('default', 19283, 19285), entry('vae', 19284)];

  it('reorders within bounds', () => {
    expect(moveDaemon(list, 1, -1).map((d) => d.id)).toEqual(['vae', 'default']);
    expect(moveDaemon(list, 0, -1).map((d) => d.id)).toEqual(['default', 'vae']);
    expect(moveDaemon(list, 1, 1).map((d) => d.id)).toEqual(['default', 'vae']);
  });

  it('removes by id but never the last daemon', () => {
    expect(removeDaemon(list, 'default').map((d) => d.id)).toEqual(['vae']);
    expect(removeDaemon([list[0]!], 'default').map((d) => d.id)).toEqual(['default']);
  });

  it('adds a disabled copy of the first with a fresh id and ports that clash with none', () => {
    const added = addDaemon(list, list[0]!);
    const d = added.at(-1)!;
    expect(d).toMatchObject({ id: 'daemon-3', name: 'Daemon 3', enabled: false, autoStart: false });
    const ports = added.flatMap((x) => [x.port, x.wsPort]).filter((p) => p > 0);
    expect(new Set(ports).size).toBe(ports.length);
    expect(d.port).toBe(19286);
    expect(d.wsPort).toBe(19287);
    // The result is a valid entry as the settings schema sees it.
    expect(daemonEntrySchema.safeParse(d).success).toBe(true);
    const again = addDaemon(added, list[0]!);
    expect(again.at(-1)!.id).toBe('daemon-4');
  });
});

describe('daemonsOf', () => {
  it('reads the daemons list, or says there is none (settings without the list keep the editor hidden)', () => {
    const list = [entry('default', 19283)];
    expect(daemonsOf({ daemons: list } as unknown as Settings)).toBe(list);
    expect(daemonsOf({ daemon: {} } as unknown as Settings)).toBeNull();
  });
});
