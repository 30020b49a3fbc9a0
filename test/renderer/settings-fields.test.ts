import { describe, expect, it } from 'vitest';

import {
  FIELD_KEYS,
  SETTINGS_FORM,
  diffSettings,
  formatField,
  issuesByField,
  parseField,
  validateDraft,
  withValue,
  type FieldSpec,
} from '../../src/renderer/features/settings/settings-fields.js';
import { defaultSettings, settingsForDaemon } from '../../src/shared/settings-schema.js';

/** Every leaf key of the defaults (arrays and records are leaves: one field each). */
function leafKeys(v: unknown, prefix = ''): string[] {
  if (v && typeof v === 'object' && !Array.isArray(v) && !prefix.endsWith('env')) {
    return Object.entries(v).flatMap(([k, x]) => leafKeys(x, prefix ? `${prefix}.${k}` : k));
  }
  return [prefix];
}

const spec = (key: string): FieldSpec => SETTINGS_FORM.flatMap((g) => g.fields).find((f) => f.key === key)!;

describe('settings form', () => {
  it('has exactly one field for every setting of the schema (except version and the daemon list)', () => {
    // The form edits the first daemon as `daemon.*`; its id, name and enabled flag, and the other
    // daemons, belong to the daemon list editor.
    const listOwned = new Set(['version', 'daemon.id', 'daemon.name', 'daemon.enabled']);
    const schemaKeys = leafKeys(settingsForDaemon(defaultSettings()))
      .filter((k) => !listOwned.has(k))
      .sort();
    expect([...FIELD_KEYS].sort()).toEqual(schemaKeys);
  });

  it('groups: daemon, restart policy, health, comfyui, app, logs', () => {
    expect(SETTINGS_FORM.map((g) => g.title)).toEqual([
      'Daemon',
      'Restart policy',
      'Health',
      'ComfyUI',
      'App',
      'Notifications',
      'Logs',
    ]);
  });

  it('parses and formats every kind, round trip', () => {
    const d = settingsForDaemon(defaultSettings());
    for (const f of SETTINGS_FORM.flatMap((g) => g.fields)) {
      const value = f.key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], d);
      const parsed = parseField(f, formatField(f, value));
      expect(parsed, f.key).toEqual({ ok: true, value });
    }
  });

  it('reports unparsable input per field', () => {
    expect(parseField(spec('daemon.port'), 'abc')).toEqual({ ok: false, message: 'must be a number' });
    expect(parseField(spec('daemon.port'), '1.5')).toEqual({ ok: false, message: 'must be a whole number' });
    expect(parseField(spec('daemon.env'), 'A=1\nnonsense')).toEqual({
      ok: false,
      message: 'line 2: expected NAME=value',
    });
    expect(parseField(spec('daemon.env'), 'A=1=2\n\nB=')).toEqual({ ok: true, value: { A: '1=2', B: '' } });
    expect(parseField(spec('comfyui.instances'), ' http://a:1 \n\nhttp://b:2')).toEqual({
      ok: true,
      value: ['http://a:1', 'http://b:2'],
    });
  });

  it('client validation: the shared zod schema, issues mapped to fields', () => {
    let draft = withValue(defaultSettings(), 'daemon.port', 70000);
    draft = withValue(draft, 'comfyui.instances', ['http://127.0.0.1:8188', 'not a url']);
    const byField = issuesByField(validateDraft(draft));
    // The schema names the first daemon `daemons.0`; the form's field is `daemon.port`.
    expect(validateDraft(draft).map((i) => i.key)).toContain('daemons.0.port');
    expect(byField.get('daemon.port')).toEqual(['must be a port number 1–65535']);
    expect(byField.get('comfyui.instances')?.[0]).toMatch(/^item 2: must be an http/);
    expect(validateDraft(defaultSettings())).toEqual([]);
  });

  it('server issues with unknown keys are kept (form-level)', () => {
    const m = issuesByField([
      { key: 'daemon.restart', message: 'bad policy' },
      { key: 'weird', message: 'x' },
    ]);
    expect(m.get('')).toEqual(['daemon.restart: bad policy', 'weird: x']);
  });

  it('diffSettings sends only what changed', () => {
    const base = defaultSettings();
    let draft = withValue(base, 'daemon.health.intervalSec', 5);
    draft = withValue(draft, 'daemon.env', { A: '1' });
    expect(diffSettings(base, base)).toEqual({});
    // The first daemon's fields patch entry 0 of the daemon list.
    expect(diffSettings(base, draft)).toEqual({
      daemons: { 0: { health: { intervalSec: 5 }, env: { A: '1' } } },
    });
  });
});
