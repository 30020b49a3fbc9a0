import { describe, expect, it } from 'vitest';

import { applySettingsPatch } from '../../src/core/settings/settings-store.js';
import { defaultSettings, getSettingByKey, patchForKey } from '../../src/shared/settings-schema.js';

const entry = (id: string, port: number, extra: Record<string, unknown> = {}) => ({
  id,
  name: id.toUpperCase(),
  port,
  wsPort: 0,
  ...extra,
});
const issuesOf = (patch: unknown) => {
  const r = applySettingsPatch(defaultSettings(), patch);
  if (r.ok) throw new Error('expected a validation error');
  return r.issues;
};

describe('settings.daemons', () => {
  it('accepts several daemons and keeps their order', () => {
    const r = applySettingsPatch(defaultSettings(), { daemons: [entry('clip', 19283), entry('vae', 19284)] });
    expect(r.ok && r.settings.daemons.map((d) => [d.id, d.port, d.enabled])).toEqual([
      ['clip', 19283, true],
      ['vae', 19284, true],
    ]);
  });

  it('refuses two daemons with one id, naming both entries', () => {
    expect(issuesOf({ daemons: [entry('gpu', 19283), entry('gpu', 19293)] })).toEqual([
      { key: 'daemons.1.id', message: '"gpu" is already the id of daemons.0: give each daemon its own id' },
    ]);
  });

  it('refuses one port twice (main or monitor, enabled or not) with a command that fixes it', () => {
    const [same] = issuesOf({ daemons: [entry('a', 19283), entry('b', 19283, { enabled: false })] });
    expect(same).toEqual({
      key: 'daemons.1.port',
      message:
        '19283 is already used by daemon "a" (daemons.0.port): give each daemon its own ports (e.g. luna-tray config set daemons.1.port 19284)',
    });
    const [ws] = issuesOf({ daemons: [entry('a', 19283, { wsPort: 19285 }), entry('b', 19285)] });
    expect(ws!.key).toBe('daemons.1.port');
    expect(ws!.message).toMatch(/19285 is already used by daemon "a" \(daemons\.0\.wsPort\)/);
  });

  it('refuses a non-loopback host and an unsafe id', () => {
    const issues = issuesOf({ daemons: [entry('ok', 19283), entry('../x', 19284, { host: '0.0.0.0' })] });
    expect(issues.map((i) => i.key).sort()).toEqual(['daemons.1.host', 'daemons.1.id']);
    expect(issues.find((i) => i.key === 'daemons.1.host')!.message).toMatch(/loopback/);
  });

  it('refuses an empty list and unknown keys inside an entry', () => {
    expect(issuesOf({ daemons: [] })[0]!.key).toBe('daemons');
    expect(issuesOf({ daemons: [{ ...entry('a', 19283), colour: 'red' }] })).toEqual([
      { key: 'daemons.0.colour', message: 'unknown setting' },
    ]);
  });

  it('the single-daemon form and dotted keys address entries without replacing the list', () => {
    const two = applySettingsPatch(defaultSettings(), {
      daemons: [entry('clip', 19283), entry('vae', 19284)],
    });
    if (!two.ok) throw new Error('setup');
    // `config set daemon.port N` is the first daemon's port; `daemons.1.port` the second's.
    const first = applySettingsPatch(two.settings, patchForKey('daemon.port', 19400));
    const second = applySettingsPatch(two.settings, patchForKey('daemons.1.port', 19401));
    expect(first.ok && first.settings.daemons.map((d) => d.port)).toEqual([19400, 19284]);
    expect(second.ok && second.settings.daemons.map((d) => d.port)).toEqual([19283, 19401]);
    expect(getSettingByKey(two.settings, 'daemon.port')).toBe(19283);
    expect(getSettingByKey(two.settings, 'daemons.1.id')).toBe('vae');
    // Its errors are named in the form it used.
    const bad = applySettingsPatch(two.settings, { daemon: { port: 19284 } });
    expect(!bad.ok && bad.issues.map((i) => i.key)).toEqual(['daemons.1.port']);
    const badType = applySettingsPatch(two.settings, { daemon: { port: 'x' } });
    expect(!badType.ok && badType.issues[0]).toEqual({
      key: 'daemon.port',
      message: 'expects a number, e.g. luna-tray config set daemon.port 19283',
    });
  });
});
