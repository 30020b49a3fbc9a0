// Settings errors in plain words: the key, the expected form and a command that works — not the
// validator's "expected array, received string".
import { describe, expect, it } from 'vitest';

import {
  mergeSettings,
  defaultSettings,
  settingsSchema,
  toSettingsIssues,
} from '../../src/shared/settings-schema.js';

const issuesOf = (patch: unknown) => {
  const r = settingsSchema.safeParse(mergeSettings(defaultSettings(), patch));
  if (r.success) throw new Error('expected a validation error');
  return toSettingsIssues(r.error);
};

describe('toSettingsIssues', () => {
  it('webhooks: a bad URL or event names the item and gives a working example', () => {
    const example = `e.g. luna-tray config set notify.webhooks '[{"url":"https://hooks.example.com/luna","events":["crashed","crash-loop"]}]'`;
    expect(issuesOf({ notify: { webhooks: [{ url: 'ftp://x' }] } })).toEqual([
      {
        key: 'notify.webhooks.0.url',
        message: 'must be an http:// or https:// URL, e.g. https://hooks.example.com/luna',
      },
    ]);
    expect(issuesOf({ notify: { webhooks: [{ url: 'https://h.example', events: ['crash'] }] } })).toEqual([
      {
        key: 'notify.webhooks.0.events.0',
        message: `expects one of "crashed", "crash-loop", "recovered", "job-finished", "job-failed", ${example}`,
      },
    ]);
    expect(issuesOf({ notify: { webhooks: [{ url: 'https://h.example', events: [] }] } })[0]!.message).toBe(
      'needs at least one event: crashed, crash-loop, recovered, job-finished, job-failed',
    );
    expect(issuesOf({ notify: { webhooks: 'https://h.example' } })[0]!.message).toBe(
      `expects a list, ${example}`,
    );
    const ok = settingsSchema.parse({ notify: { webhooks: [{ url: 'https://u:p@h.example/x?k=v' }] } });
    expect(ok.notify.webhooks[0]).toEqual({
      url: 'https://u:p@h.example/x?k=v',
      events: ['crashed', 'crash-loop', 'recovered', 'job-finished', 'job-failed'],
      headers: {},
    });
  });

  it('names the expected form and gives a command with a valid value', () => {
    expect(issuesOf({ comfyui: { instances: 'http://127.0.0.1:8188' } })).toEqual([
      {
        key: 'comfyui.instances',
        message: `expects a list, e.g. luna-tray config set comfyui.instances '["http://127.0.0.1:8188"]'`,
      },
    ]);
    expect(issuesOf({ daemon: { port: 'abc' } })[0]!.message).toBe(
      'expects a number, e.g. luna-tray config set daemons.0.port 19283',
    );
    expect(issuesOf({ daemon: { profile: 'nope' } })[0]!.message).toBe(
      'expects one of "comfyui", "custom", "simulator", e.g. luna-tray config set daemons.0.profile comfyui',
    );
    expect(issuesOf({ daemon: { autoStart: 'yes' } })[0]!.message).toContain('expects true or false');
    expect(issuesOf({ comfyui: { path: 5 } })[0]!.message).toBe(
      'expects text, e.g. luna-tray config set comfyui.path /path/to/ComfyUI',
    );
    expect(issuesOf({ daemon: { health: { intervalSec: 0 } } })[0]!.message).toMatch(
      /^must be at least 0\.1, e\.g\./,
    );
  });

  it('keeps the messages the schema wrote itself, and never the raw validator text', () => {
    expect(issuesOf({ daemon: { port: 70000 } })[0]!.message).toBe('must be a port number 1–65535');
    for (const patch of [
      { comfyui: { instances: 'x' } },
      { daemon: { port: 'x' } },
      { daemon: { profile: 'x' } },
      { logs: { bufferSize: 1 } },
    ]) {
      for (const i of issuesOf(patch))
        expect(i.message).not.toMatch(/Invalid input|received|Too small|Invalid option/);
    }
  });

  it('an unknown key is named as such', () => {
    const r = settingsSchema.strict().safeParse({ ...defaultSettings(), extra: 1 });
    expect(r.success).toBe(false);
    if (!r.success) {
      expect(toSettingsIssues(r.error)).toEqual([
        { key: 'extra', message: 'is not a setting (see `luna-tray config get` for all keys)' },
      ]);
    }
  });
});
