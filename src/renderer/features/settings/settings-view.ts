import type { PreflightReport } from '../../../shared/contract/invoke.js';
import type { RendererApi } from '../../../shared/contract/renderer-api.js';
import type { Settings, SettingsIssue } from '../../../shared/settings-schema.js';
import { button, h, replaceChildren, setHidden, setText } from '../../lib/dom.js';
import { createDaemonsEditor } from './daemons-editor.js';
import {
  SETTINGS_FORM,
  diffSettings,
  formatField,
  issuesByField,
  parseField,
  validateDraft,
  valueOf,
  withValue,
  type FieldSpec,
  type RawValue,
} from './settings-fields.js';

/** The Settings tab. */
export interface SettingsView {
  element: HTMLElement;
  /** Settings loaded from the server (`settings:get`). */
  load(settings: Settings, path: string): void;
  /** A `settings:changed` push. */
  external(settings: Settings): void;
}

interface FieldControl {
  spec: FieldSpec;
  control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
  error: HTMLElement;
}

/** Build the Settings tab: a form for every setting, inline errors (client zod + server issues), Save/Revert, profile test. */
export function createSettingsView(api: RendererApi): SettingsView {
  let base: Settings | null = null;
  let draft: Settings | null = null;
  const parseErrors = new Map<string, string>();
  let clientIssues: SettingsIssue[] = [];
  let serverIssues = new Map<string, string[]>();
  let saving = false;

  const daemons = createDaemonsEditor(api);
  const controls = new Map<string, FieldControl>();
  const form = h('form', {
    class: 'settings-form',
    attrs: { 'aria-label': 'settings', novalidate: true },
    on: { submit: (ev) => ev.preventDefault() },
  });
  for (const group of SETTINGS_FORM) {
    const fs = h('fieldset', { class: 'settings-group' }, h('legend', { text: group.title }));
    for (const spec of group.fields) fs.append(buildField(spec));
    form.append(fs);
  }

  const pathEl = h('p', { class: 'muted', attrs: { 'data-testid': 'settings-path' } });
  const formError = h('div', {
    class: 'inline-error',
    attrs: { role: 'alert', 'data-testid': 'settings-error' },
  });
  const savedEl = h('span', { class: 'saved', attrs: { role: 'status' } });
  const externalNote = h('div', {
    class: 'notice',
    text: 'Settings were changed elsewhere. Revert to load them.',
  });
  setHidden(formError, true);
  setHidden(externalNote, true);
  const saveBtn = button('Save', 'save settings', () => void save(), 'primary');
  const revertBtn = button('Revert', 'revert unsaved changes', () => revert());
  const testBtn = button('Test launch profile', 'test launch profile', () => void testProfile());
  const report = h('div', {
    class: 'profile-report',
    attrs: { 'data-testid': 'profile-report', 'aria-live': 'polite' },
  });

  const element = h(
    'section',
    { class: 'view view-settings', attrs: { 'aria-label': 'Settings' } },
    h(
      'div',
      { class: 'settings-actions', attrs: { role: 'group', 'aria-label': 'settings actions' } },
      saveBtn,
      revertBtn,
      testBtn,
      savedEl,
    ),
    pathEl,
    externalNote,
    formError,
    daemons.element,
    form,
    h('h2', { text: 'Launch profile test' }),
    report,
  );

  function buildField(spec: FieldSpec): HTMLElement {
    const id = `setting-${spec.key.replace(/\./g, '-')}`;
    const errId = `${id}-error`;
    let control: FieldControl['control'];
    const common = {
      id,
      name: spec.key,
      'aria-label': spec.label,
      'aria-describedby': errId,
      'data-key': spec.key,
    };
    switch (spec.kind) {
      case 'boolean':
        control = h('input', { attrs: { ...common, type: 'checkbox' } });
        break;
      case 'select':
        control = h(
          'select',
          { attrs: common },
          ...(spec.options ?? []).map((o) =>
            h('option', { text: o === '' ? '(not set)' : o, attrs: { value: o } }),
          ),
        );
        break;
      case 'lines':
      case 'env':
      case 'json':
        control = h('textarea', { attrs: { ...common, rows: 3, spellcheck: 'false' } });
        break;
      case 'number':
      case 'integer':
        control = h('input', {
          attrs: { ...common, type: 'number', step: spec.kind === 'integer' ? '1' : 'any' },
        });
        break;
      default:
        control = h('input', { attrs: { ...common, type: 'text', spellcheck: 'false' } });
    }
    control.addEventListener(spec.kind === 'boolean' || spec.kind === 'select' ? 'change' : 'input', () =>
      onEdit(spec),
    );
    const error = h('div', { class: 'field-error', attrs: { id: errId, 'data-error-for': spec.key } });
    controls.set(spec.key, { spec, control, error });
    // In the browser (headless mode) say so next to the settings only the desktop app honours.
    const helpText =
      spec.desktopOnly && api.kind === 'http'
        ? `Desktop app only: headless mode (this browser panel) ignores it.${spec.help ? ` ${spec.help}` : ''}`
        : spec.help;
    const helpId = `${id}-help`;
    const help = helpText
      ? h('div', {
          class: 'field-help',
          text: helpText,
          attrs: { id: helpId, 'data-desktop-only': spec.desktopOnly ? 'true' : null },
        })
      : null;
    if (help) control.setAttribute('aria-describedby', `${helpId} ${errId}`);
    const row = h(
      'div',
      { class: `field field-${spec.kind}` },
      h('label', { text: spec.label, attrs: { for: id } }),
      control,
      help,
      error,
    );
    return row;
  }

  function rawOf(c: FieldControl): RawValue {
    return c.control instanceof HTMLInputElement && c.control.type === 'checkbox'
      ? c.control.checked
      : c.control.value;
  }

  function setRaw(c: FieldControl, raw: RawValue): void {
    if (c.control instanceof HTMLInputElement && c.control.type === 'checkbox')
      c.control.checked = raw === true;
    else c.control.value = String(raw);
  }

  function onEdit(spec: FieldSpec): void {
    if (!draft) return;
    const c = controls.get(spec.key)!;
    const parsed = parseField(spec, rawOf(c));
    if (parsed.ok) {
      parseErrors.delete(spec.key);
      draft = withValue(draft, spec.key, parsed.value);
    } else {
      parseErrors.set(spec.key, parsed.message);
    }
    // The server's verdict was about the previous values.
    serverIssues = new Map();
    setHidden(formError, true);
    setText(savedEl, '');
    validate();
  }

  function validate(): void {
    clientIssues = draft ? validateDraft(draft) : [];
    renderErrors();
  }

  function renderErrors(): void {
    const byField = issuesByField(clientIssues);
    for (const [key, c] of controls) {
      const msgs = [
        ...(parseErrors.has(key) ? [parseErrors.get(key)!] : []),
        ...(byField.get(key) ?? []),
        ...(serverIssues.get(key) ?? []),
      ];
      setText(c.error, [...new Set(msgs)].join('; '));
      if (msgs.length > 0) c.control.setAttribute('aria-invalid', 'true');
      else c.control.removeAttribute('aria-invalid');
    }
    const orphans = [...(byField.get('') ?? []), ...(serverIssues.get('') ?? [])];
    if (orphans.length > 0) {
      setText(formError, orphans.join('; '));
      setHidden(formError, false);
    }
    const hasErrors = parseErrors.size > 0 || clientIssues.length > 0;
    const dirty = isDirty();
    saveBtn.disabled = saving || !dirty || hasErrors;
    revertBtn.disabled = saving || !dirty;
    element.dataset.dirty = String(dirty);
  }

  function isDirty(): boolean {
    if (!base || !draft) return false;
    return parseErrors.size > 0 || Object.keys(diffSettings(base, draft)).length > 0;
  }

  function fill(settings: Settings): void {
    for (const c of controls.values()) setRaw(c, formatField(c.spec, valueOf(settings, c.spec.key)));
  }

  function revert(): void {
    if (!base) return;
    draft = base;
    parseErrors.clear();
    serverIssues = new Map();
    setHidden(formError, true);
    setHidden(externalNote, true);
    fill(base);
    validate();
  }

  async function save(): Promise<void> {
    if (!base || !draft) return;
    const patch = diffSettings(base, draft);
    saving = true;
    renderErrors();
    const res = await api.invoke('settings:update', { patch });
    saving = false;
    if (res.ok) {
      base = res.value.settings;
      draft = base;
      fill(base);
      setText(pathEl, `Stored in ${res.value.path}`);
      setText(savedEl, 'Saved.');
      setHidden(externalNote, true);
    } else {
      serverIssues = issuesByField(res.error.issues ?? []);
      setText(formError, `Not saved: ${res.error.message}`);
      setHidden(formError, false);
    }
    validate();
  }

  async function testProfile(): Promise<void> {
    testBtn.disabled = true;
    replaceChildren(report, h('p', { class: 'muted', text: 'Testing…' }));
    const res = await api.invoke('daemon:test-profile', {});
    testBtn.disabled = false;
    if (!res.ok) {
      replaceChildren(report, h('p', { class: 'inline-error', text: `Test failed: ${res.error.message}` }));
      return;
    }
    renderReport(res.value);
  }

  function renderReport(r: PreflightReport): void {
    replaceChildren(
      report,
      h('p', {
        class: r.ok ? 'ok' : 'bad',
        text: r.ok ? '✓ The profile looks runnable.' : '✗ The profile has problems.',
      }),
      h('p', {}, 'Command: ', h('code', { text: [r.command, ...r.args].join(' ') }), ` (in ${r.cwd || '—'})`),
      h(
        'ul',
        { class: 'checks' },
        ...r.checks.map((c) =>
          h(
            'li',
            { class: c.ok ? 'ok' : 'bad', attrs: { 'data-check': c.name } },
            `${c.ok ? '✓' : '✗'} ${c.name}: `,
            c.message,
          ),
        ),
      ),
    );
  }

  renderErrors();
  return {
    element,
    load(settings, path) {
      daemons.load(settings);
      base = settings;
      setText(pathEl, `Stored in ${path}`);
      revert();
    },
    external(settings) {
      daemons.load(settings);
      const wasDirty = isDirty();
      base = settings;
      if (wasDirty) setHidden(externalNote, false);
      else revert();
      renderErrors();
    },
  };
}
