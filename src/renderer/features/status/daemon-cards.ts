// A card per daemon on the Status tab when several are configured (docs/settings.md, "Several
// daemons"): state, models, VRAM and the daemon's own buttons. With one daemon the cards stay hidden
// and the panel is exactly the one-daemon panel (the header acts on it).
import type { RendererApi } from '../../../shared/contract/renderer-api.js';
import { allowedActions, describeState, type TrayColor } from '../../../shared/daemon-status.js';
import type { DaemonSummary } from '../../../shared/daemon-summary.js';
import { button, h, replaceChildren, setHidden, setText } from '../../lib/dom.js';
import { formatGb } from '../../lib/format.js';

export type CardAction = 'start' | 'stop' | 'restart' | 'unload';
const CARD_ACTIONS: readonly CardAction[] = ['start', 'stop', 'restart', 'unload'];

/** What one card shows: plain data, computed without the DOM (tested in test/renderer). */
export interface DaemonCardModel {
  id: string;
  name: string;
  color: TrayColor;
  stateWords: string;
  /** "127.0.0.1:19283 · PID 4242" */
  where: string;
  /** "clip_l, vae" or "No models loaded" / "Not running". */
  models: string;
  /** "6.1 / 24 GiB" summed over the daemon's devices, or "—". */
  vram: string;
  enabled: Record<CardAction, boolean>;
}

/** The card of one daemon. A disabled daemon cannot be started from its card. */
export function daemonCardModel(d: DaemonSummary, now = Date.now()): DaemonCardModel {
  const status = d.snapshot.status;
  const allowed = allowedActions(status);
  const live = status.state === 'running' || status.state === 'unresponsive';
  const used = d.vram.reduce((s, v) => s + v.usedGb, 0);
  const total = d.vram.reduce((s, v) => s + v.totalGb, 0);
  return {
    id: d.id,
    name: d.name,
    color: d.color,
    stateWords: d.enabled ? describeState(status, now) : `disabled · ${describeState(status, now)}`,
    where: `${d.host}:${d.port}${d.pid !== null ? ` · PID ${d.pid}` : ''}`,
    models: !live ? 'Not running' : d.models.length === 0 ? 'No models loaded' : d.models.join(', '),
    vram: live && d.vram.length > 0 ? `${formatGb(used)} / ${formatGb(total)}` : '—',
    enabled: { ...allowed, start: allowed.start && d.enabled },
  };
}

/** The cards section. */
export interface DaemonCards {
  element: HTMLElement;
  update(daemons: readonly DaemonSummary[]): void;
}

/**
 * Build the cards; each button calls `daemon:<action>` with the card's daemon id, so acting on one
 * card never touches another daemon. `onLogs` opens the log view filtered to that daemon.
 */
export function createDaemonCards(api: RendererApi, onLogs: (daemonId: string) => void): DaemonCards {
  const list = h('ul', { class: 'daemon-cards', attrs: { 'aria-label': 'daemons' } });
  const element = h(
    'section',
    { class: 'daemons', attrs: { 'aria-label': 'Daemons', 'data-testid': 'daemon-cards' } },
    h('h2', { text: 'Daemons' }),
    list,
  );
  setHidden(element, true);
  const cards = new Map<string, ReturnType<typeof buildCard>>();
  const pending = new Map<string, CardAction>();
  let latest: readonly DaemonSummary[] = [];

  function buildCard(id: string) {
    const dot = h('span', { class: 'state-dot', attrs: { role: 'img' } });
    const title = h('h3', { class: 'daemon-name' });
    const words = h('span', { class: 'state-words', attrs: { 'data-testid': 'daemon-state' } });
    const where = h('p', { class: 'muted daemon-where' });
    const models = h('dd', { attrs: { 'data-testid': 'daemon-models' } });
    const vram = h('dd', { attrs: { 'data-testid': 'daemon-vram' } });
    const error = h('div', { class: 'inline-error', attrs: { role: 'alert' } });
    setHidden(error, true);
    const buttons = Object.fromEntries(
      CARD_ACTIONS.map((a) => {
        const b = button(capitalise(a), `${capitalise(a)} ${id}`, () => void run(id, a));
        b.dataset.action = a;
        return [a, b];
      }),
    ) as Record<CardAction, HTMLButtonElement>;
    const logs = button('Logs', `Logs of ${id}`, () => onLogs(id));
    logs.dataset.action = 'logs';
    const element = h(
      'li',
      { class: 'daemon-card', attrs: { 'data-daemon-id': id } },
      h('div', { class: 'state' }, dot, title, words),
      where,
      h('dl', { class: 'facts' }, h('dt', { text: 'Models' }), models, h('dt', { text: 'VRAM' }), vram),
      h('div', { class: 'actions', attrs: { role: 'group' } }, ...Object.values(buttons), logs),
      error,
    );
    return { element, dot, title, words, where, models, vram, error, buttons, logs };
  }

  async function run(id: string, action: CardAction): Promise<void> {
    if (pending.has(id)) return;
    pending.set(id, action);
    const card = cards.get(id);
    if (card) setHidden(card.error, true);
    render();
    const res = await api.invoke(`daemon:${action}`, { daemon: id });
    pending.delete(id);
    if (!res.ok && card) {
      setText(card.error, `${capitalise(action)} failed: ${res.error.message}`);
      setHidden(card.error, false);
    }
    render();
  }

  function render(): void {
    const now = Date.now();
    // One daemon: the header is its card (the panel looks and reads as it always did, with no
    // second set of buttons in the page).
    const several = latest.length >= 2;
    setHidden(element, !several);
    const ids = new Set(several ? latest.map((d) => d.id) : []);
    for (const [id, c] of cards) {
      if (!ids.has(id)) {
        c.element.remove();
        cards.delete(id);
      }
    }
    const ordered: HTMLElement[] = [];
    for (const d of several ? latest : []) {
      let c = cards.get(d.id);
      if (!c) cards.set(d.id, (c = buildCard(d.id)));
      const m = daemonCardModel(d, now);
      c.dot.dataset.color = m.color;
      c.dot.setAttribute('aria-label', `${m.name} state colour ${m.color}`);
      // Names and model names come from settings and the daemon: text nodes only, never markup.
      setText(c.title, m.name);
      setText(c.words, pending.has(d.id) ? `${pending.get(d.id)}…` : m.stateWords);
      setText(c.where, m.where);
      setText(c.models, m.models);
      setText(c.vram, m.vram);
      c.element.dataset.state = d.state;
      for (const a of CARD_ACTIONS) {
        c.buttons[a].disabled = pending.has(d.id) || !m.enabled[a];
        c.buttons[a].setAttribute('aria-label', `${capitalise(a)} ${m.name}`);
      }
      c.logs.setAttribute('aria-label', `Logs of ${m.name}`);
      ordered.push(c.element);
    }
    // Settings order; re-append only when it changed (keeps focus on a button across updates).
    if (ordered.some((el, i) => list.children[i] !== el) || list.children.length !== ordered.length) {
      replaceChildren(list, ...ordered);
    }
  }

  return {
    element,
    update(daemons) {
      latest = daemons;
      render();
    },
  };
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
