import type { RendererApi } from '../../../shared/contract/renderer-api.js';
import { allowedActions, colorOf, describeState, type DaemonStatus } from '../../../shared/daemon-status.js';
import type { DaemonSnapshot } from '../../../shared/snapshot.js';
import { button, h, setHidden, setText } from '../../lib/dom.js';
import { formatDateTime, formatDuration } from '../../lib/format.js';

type Action = 'start' | 'stop' | 'restart' | 'unload';

/** Words shown while a call is in flight, before the status push arrives. */
const PENDING_WORDS: Record<Action, string> = {
  start: 'starting…',
  stop: 'stopping…',
  restart: 'restarting…',
  unload: 'unloading models…',
};

/** The header: state dot and words, uptime, PID, restarts, and the daemon buttons. */
export interface StatusHeader {
  element: HTMLElement;
  update(snapshot: DaemonSnapshot): void;
  dispose(): void;
}

/** Build the header; buttons call `daemon:<action>` through the bridge. */
export function createStatusHeader(api: RendererApi): StatusHeader {
  let snapshot: DaemonSnapshot | null = null;
  let pending: Action | null = null;
  let actionError: { action: Action; message: string } | null = null;

  const dot = h('span', {
    class: 'state-dot',
    attrs: { 'data-color': 'gray', role: 'img', 'aria-label': 'daemon state colour gray' },
  });
  const words = h('span', {
    class: 'state-words',
    attrs: { 'aria-live': 'polite', 'data-testid': 'state-words' },
    text: 'loading…',
  });
  const facts = h('dl', { class: 'facts', attrs: { 'aria-label': 'daemon facts' } });
  const error = h('div', { class: 'inline-error', attrs: { role: 'alert', 'data-testid': 'action-error' } });
  const lastProblem = h('div', { class: 'last-problem', attrs: { 'data-testid': 'last-problem' } });
  setHidden(error, true);

  const buttons: Record<Action, HTMLButtonElement> = {
    start: button('Start', 'Start the Luna daemon', () => void run('start')),
    stop: button('Stop', 'Stop the Luna daemon', () => void run('stop')),
    restart: button('Restart', 'Restart the Luna daemon', () => void run('restart')),
    unload: button('Unload', 'Unload all models from the Luna daemon', () => void run('unload')),
  };
  for (const [k, b] of Object.entries(buttons)) b.dataset.action = k;

  const factEls = {
    uptime: fact('Uptime'),
    pid: fact('PID'),
    restarts: fact('Restarts'),
    mode: fact('Mode'),
    generation: fact('Protocol'),
  };
  for (const f of Object.values(factEls)) facts.append(f.dt, f.dd);

  const element = h(
    'header',
    { class: 'status-header', attrs: { 'aria-label': 'Luna daemon status' } },
    h('div', { class: 'state' }, dot, words),
    facts,
    h(
      'div',
      { class: 'actions', attrs: { role: 'group', 'aria-label': 'daemon actions' } },
      ...Object.values(buttons),
    ),
    error,
    lastProblem,
  );

  async function run(action: Action): Promise<void> {
    if (pending) return;
    pending = action;
    actionError = null;
    render();
    const channel = `daemon:${action}` as const;
    const res = await api.invoke(channel, {});
    pending = null;
    actionError = res.ok ? null : { action, message: res.error.message };
    render();
  }

  /**
   * The failed action's words, unless the state line already says them (a Start refused for a
   * missing setting fails the daemon with the same message): one message is shown once.
   */
  function renderActionError(status: DaemonStatus): void {
    const said = status.state === 'failed' && actionError?.message === status.message;
    setText(error, actionError ? `${capitalise(actionError.action)} failed: ${actionError.message}` : '');
    setHidden(error, !actionError || said);
  }

  function render(): void {
    const now = Date.now();
    const status = snapshot?.status;
    if (!status) {
      for (const b of Object.values(buttons)) b.disabled = true;
      return;
    }
    const color = colorOf(status);
    if (dot.dataset.color !== color) {
      dot.dataset.color = color;
      dot.setAttribute('aria-label', `daemon state colour ${color}`);
    }
    element.dataset.state = status.state;
    setText(words, pending ? PENDING_WORDS[pending] : describeState(status, now));
    const allowed = allowedActions(status);
    for (const [k, b] of Object.entries(buttons) as [Action, HTMLButtonElement][]) {
      b.disabled = pending !== null || !allowed[k];
      b.setAttribute('aria-busy', String(pending === k));
    }
    renderFacts(status, now);
    renderActionError(status);
  }

  function renderFacts(status: DaemonStatus, now: number): void {
    const s = snapshot!;
    const up =
      status.state === 'running' || status.state === 'unresponsive'
        ? formatDuration(now - status.since)
        : '—';
    setText(factEls.uptime.dd, up);
    const pid = 'pid' in status && status.pid !== null ? String(status.pid) : '—';
    setText(factEls.pid.dd, pid);
    setText(factEls.restarts.dd, String(s.restarts));
    const adopted = 'adopted' in status ? (status.adopted ? 'adopted' : 'spawned') : '—';
    setText(factEls.mode.dd, adopted);
    const gen = 'generation' in status ? status.generation : (s.info?.generation ?? '—');
    setText(factEls.generation.dd, gen);
    setText(lastProblem, problemText(status, s));
  }

  // Live uptime and backoff countdown.
  const ticker = setInterval(() => {
    if (snapshot && !document.hidden) render();
  }, 1000);

  render();
  return {
    element,
    update(next) {
      snapshot = next;
      render();
    },
    dispose() {
      clearInterval(ticker);
    },
  };
}

/**
 * The last error or exit, in words (empty when there is nothing to say). While a daemon runs, an
 * exit is history: it belongs to an earlier run and says so. Nothing the state line already says.
 */
export function problemText(status: DaemonStatus, s: Pick<DaemonSnapshot, 'lastExit'>): string {
  const parts: string[] = [];
  // A failed state's words already carry its message ("failed: …"); backoff's say only when.
  if (status.state === 'backoff') parts.push(`Last error: ${status.message}`);
  const exit = s.lastExit;
  if (exit) {
    const how =
      exit.cause === 'unresponsive'
        ? 'killed by Luna Tray because it stopped answering'
        : exit.signal
          ? `signal ${exit.signal}`
          : `code ${exit.code ?? '?'}`;
    const live = status.state === 'running' || status.state === 'unresponsive' || status.state === 'starting';
    parts.push(`${live ? 'Previous run ended' : 'Last exit'}: ${how} at ${formatDateTime(exit.at)}`);
  }
  return parts.join(' · ');
}

function fact(label: string): { dt: HTMLElement; dd: HTMLElement } {
  return {
    dt: h('dt', { text: label }),
    dd: h('dd', { text: '—', attrs: { 'data-fact': label.toLowerCase() } }),
  };
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
