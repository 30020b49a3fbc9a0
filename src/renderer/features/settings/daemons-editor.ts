// The Settings tab's daemon list (docs/settings.md, "Several daemons"): add, remove, reorder,
// rename, enable, change a port, or apply a preset. It saves `daemons` as a whole list through
// `settings:update`; the server's issues are shown beside the list. The full per-daemon launch
// settings stay in the form below (the first daemon) and in `luna-tray config set daemons`.
import type { DaemonPreset } from '../../../shared/contract/invoke.js';
import type { RendererApi } from '../../../shared/contract/renderer-api.js';
import type { DaemonEntry, Settings } from '../../../shared/settings-schema.js';
import { button, h, replaceChildren, setHidden, setText } from '../../lib/dom.js';
import { addDaemon, moveDaemon, removeDaemon } from './daemons-list.js';

/** The daemon list editor. */
export interface DaemonsEditor {
  element: HTMLElement;
  /** Settings loaded or changed elsewhere: an unsaved edit is kept, otherwise the list follows. */
  load(settings: Settings): void;
}

/**
 * The `daemons` list of settings, or null for settings without one (an older server speaking the
 * single-`daemon` settings): the editor then stays hidden rather than offering what cannot be saved.
 */
export function daemonsOf(settings: Settings): DaemonEntry[] | null {
  const list = (settings as unknown as { daemons?: unknown }).daemons;
  return Array.isArray(list) ? (list as DaemonEntry[]) : null;
}

export function createDaemonsEditor(api: RendererApi): DaemonsEditor {
  let base: DaemonEntry[] = [];
  let draft: DaemonEntry[] = [];
  let presets: DaemonPreset[] = [];

  const rows = h('ol', { class: 'daemon-list', attrs: { 'aria-label': 'daemon list' } });
  const error = h('div', { class: 'inline-error', attrs: { role: 'alert', 'data-testid': 'daemons-error' } });
  const saved = h('span', { class: 'saved', attrs: { role: 'status' } });
  setHidden(error, true);
  const addBtn = button('Add daemon', 'add daemon (a disabled copy on free ports)', () => {
    if (draft[0]) edit(addDaemon(draft, draft[0]));
  });
  addBtn.dataset.action = 'add-daemon';
  const saveBtn = button('Save daemons', 'save daemons (the whole list)', () => void save(), 'primary');
  saveBtn.dataset.action = 'save-daemons';
  const revertBtn = button('Revert', 'revert the daemon list', () => edit(base));
  const presetSelect = h('select', {
    attrs: { 'aria-label': 'daemon preset', 'data-testid': 'daemon-preset' },
  });
  const presetBtn = button('Apply preset', 'apply preset (the chosen one)', () => void applyPreset());
  const presetNote = h('p', { class: 'muted' });
  const presetGroup = h(
    'div',
    { class: 'daemon-presets', attrs: { role: 'group', 'aria-label': 'daemon presets' } },
    presetSelect,
    presetBtn,
    presetNote,
  );
  setHidden(presetGroup, true);

  const element = h(
    'section',
    { class: 'settings-daemons', attrs: { 'aria-label': 'Daemons', 'data-testid': 'daemons-editor' } },
    h('h2', { text: 'Daemons' }),
    rows,
    h(
      'div',
      { class: 'daemon-list-actions', attrs: { role: 'group', 'aria-label': 'daemon list actions' } },
      addBtn,
      saveBtn,
      revertBtn,
      saved,
    ),
    error,
    presetGroup,
  );

  setHidden(element, true);

  function edit(next: DaemonEntry[]): void {
    draft = next;
    setText(saved, '');
    render();
  }

  function patchAt(i: number, change: Partial<DaemonEntry>): void {
    draft = draft.map((d, j) => (j === i ? { ...d, ...change } : d));
    setText(saved, '');
    renderButtons();
  }

  function render(): void {
    replaceChildren(rows, ...draft.map((d, i) => row(d, i)));
    renderButtons();
  }

  function renderButtons(): void {
    const dirty = JSON.stringify(draft) !== JSON.stringify(base);
    saveBtn.disabled = !dirty;
    revertBtn.disabled = !dirty;
  }

  function row(d: DaemonEntry, i: number): HTMLElement {
    // Values go into inputs as properties: a name is text, never markup.
    const name = h('input', {
      attrs: { type: 'text', 'aria-label': `name of daemon ${i + 1}`, 'data-field': 'name' },
    });
    name.value = d.name;
    name.addEventListener('input', () => patchAt(i, { name: name.value }));
    const id = h('input', {
      attrs: { type: 'text', 'aria-label': `id of daemon ${i + 1}`, 'data-field': 'id', spellcheck: 'false' },
    });
    id.value = d.id;
    id.addEventListener('input', () => patchAt(i, { id: id.value }));
    const port = h('input', {
      attrs: { type: 'number', step: '1', 'aria-label': `port of daemon ${i + 1}`, 'data-field': 'port' },
    });
    port.value = String(d.port);
    port.addEventListener('input', () => patchAt(i, { port: Number(port.value) }));
    const enabled = h('input', {
      attrs: { type: 'checkbox', 'aria-label': `daemon ${i + 1} enabled`, 'data-field': 'enabled' },
    });
    enabled.checked = d.enabled;
    enabled.addEventListener('change', () => patchAt(i, { enabled: enabled.checked }));
    const up = button('↑', `move daemon ${i + 1} up`, () => edit(moveDaemon(draft, i, -1)));
    const down = button('↓', `move daemon ${i + 1} down`, () => edit(moveDaemon(draft, i, 1)));
    const remove = button('Remove', `remove daemon ${i + 1}`, () => edit(removeDaemon(draft, d.id)));
    up.disabled = i === 0;
    down.disabled = i === draft.length - 1;
    remove.disabled = draft.length <= 1;
    up.dataset.action = 'up';
    down.dataset.action = 'down';
    remove.dataset.action = 'remove';
    return h(
      'li',
      { class: 'daemon-row', attrs: { 'data-daemon-id': d.id } },
      h('label', {}, 'Name ', name),
      h('label', {}, 'Id ', id),
      h('label', {}, 'Port ', port),
      h('label', { class: 'check' }, enabled, 'Enabled'),
      up,
      down,
      remove,
    );
  }

  async function save(): Promise<void> {
    saveBtn.disabled = true;
    setHidden(error, true);
    const res = await api.invoke('settings:update', { patch: { daemons: draft } });
    if (res.ok) {
      base = daemonsOf(res.value.settings) ?? draft;
      edit(base);
      setText(saved, 'Saved.');
      return;
    }
    const issues = (res.error.issues ?? []).map((i) => `${i.key}: ${i.message}`);
    setText(error, `Not saved: ${issues.length > 0 ? issues.join('; ') : res.error.message}`);
    setHidden(error, false);
    renderButtons();
  }

  async function loadPresets(): Promise<void> {
    const res = await api.invoke('daemons:list-presets', {});
    if (!res.ok) return;
    presets = res.value.presets;
    replaceChildren(
      presetSelect,
      ...presets.map((p) => h('option', { text: p.name, attrs: { value: p.id } })),
    );
    const describe = () =>
      setText(presetNote, presets.find((p) => p.id === presetSelect.value)?.description ?? '');
    presetSelect.onchange = describe;
    describe();
    setHidden(presetGroup, presets.length === 0);
  }

  async function applyPreset(): Promise<void> {
    const preset = presets.find((p) => p.id === presetSelect.value);
    if (!preset) return;
    presetBtn.disabled = true;
    setHidden(error, true);
    const res = await api.invoke('daemons:apply-preset', { preset: preset.id });
    presetBtn.disabled = false;
    if (res.ok) {
      base = daemonsOf(res.value.settings) ?? base;
      edit(base);
      setText(saved, `Applied "${preset.name}".`);
    } else {
      setText(error, `Preset not applied: ${res.error.message}`);
      setHidden(error, false);
    }
  }

  void loadPresets();
  return {
    element,
    load(settings) {
      const list = daemonsOf(settings);
      setHidden(element, list === null);
      if (list === null) return;
      const dirty = JSON.stringify(draft) !== JSON.stringify(base);
      base = list;
      if (!dirty) edit(base);
      else renderButtons();
    },
  };
}
