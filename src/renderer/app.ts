import type { RendererApi } from '../shared/contract/renderer-api.js';
import type { DaemonSummary } from '../shared/daemon-summary.js';
import type { DaemonSnapshot } from '../shared/snapshot.js';
import { createComfyView } from './features/comfy/comfy-view.js';
import { createDevicesView } from './features/devices/devices-view.js';
import { LogBuffer } from './features/logs/log-buffer.js';
import { LogSync } from './features/logs/log-sync.js';
import { createLogsView } from './features/logs/logs-view.js';
import { createSettingsView } from './features/settings/settings-view.js';
import { createDaemonCards } from './features/status/daemon-cards.js';
import { createStatusHeader } from './features/status/status-header.js';
import { createStatusView } from './features/status/status-view.js';
import { button, h, setHidden, setText } from './lib/dom.js';
import { downloadBase64 } from './lib/download.js';
import { VIEWS, VIEW_TITLES, viewFromHash, type View } from './lib/views.js';

/** While disconnected, how often to ask the server whether the session is still valid. */
const PROBE_INTERVAL_MS = 5_000;

/**
 * Start the panel in `root` with a bridge. Loads the initial state, subscribes to pushes and
 * re-syncs after every (re)connection. Returns a disposer.
 */
export function startApp(root: HTMLElement, api: RendererApi): () => void {
  const disposers: (() => void)[] = [];

  const header = createStatusHeader(api);
  const statusView = createStatusView();
  const buffer = new LogBuffer();
  const logsView = createLogsView(buffer);
  const logSync = new LogSync(api, buffer, logsView.listener);
  const settingsView = createSettingsView(api);
  const comfyView = createComfyView(api);
  const devicesView = createDevicesView(api);
  // Several daemons: a card each on the Status tab; a card's Logs opens the log filtered to it.
  const daemonCards = createDaemonCards(api, (id) => {
    logsView.showDaemon(id);
    show('logs', true);
  });
  statusView.element.prepend(daemonCards.element);
  disposers.push(
    () => header.dispose(),
    () => logsView.dispose(),
    () => devicesView.dispose(),
  );

  const banner = h('div', {
    class: 'banner',
    attrs: { role: 'alert', 'data-testid': 'disconnected-banner' },
  });
  setHidden(banner, true);
  const loadError = h('div', {
    class: 'inline-error',
    attrs: { role: 'alert', 'data-testid': 'load-error' },
  });
  setHidden(loadError, true);

  // ---- tabs ----------------------------------------------------------------------------------
  const panels: Record<View, HTMLElement> = {
    status: statusView.element,
    logs: logsView.element,
    settings: settingsView.element,
    comfy: comfyView.element,
    devices: devicesView.element,
  };
  const tabs = {} as Record<View, HTMLButtonElement>;
  const tablist = h('nav', { class: 'tabs', attrs: { role: 'tablist', 'aria-label': 'views' } });
  for (const v of VIEWS) {
    const tab = h('button', {
      class: 'tab',
      text: VIEW_TITLES[v],
      attrs: {
        type: 'button',
        role: 'tab',
        id: `tab-${v}`,
        'aria-controls': `panel-${v}`,
        'aria-label': `${VIEW_TITLES[v]} view`,
        'data-view': v,
      },
      on: { click: () => show(v, true) },
    });
    tabs[v] = tab;
    tablist.append(tab);
    const panel = panels[v];
    panel.id = `panel-${v}`;
    panel.setAttribute('role', 'tabpanel');
    panel.setAttribute('aria-labelledby', `tab-${v}`);
  }
  let current: View = viewFromHash(location.hash) ?? 'status';

  function show(v: View, updateHash: boolean): void {
    current = v;
    for (const k of VIEWS) {
      tabs[k].setAttribute('aria-selected', String(k === v));
      tabs[k].tabIndex = k === v ? 0 : -1;
      setHidden(panels[k], k !== v);
    }
    root.dataset.view = v;
    if (updateHash && location.hash !== `#${v}`) history.replaceState(null, '', `#${v}`);
    if (v === 'logs') logsView.shown();
    if (v === 'devices') devicesView.shown();
    else devicesView.hidden();
  }

  const kind = h('span', { class: 'transport muted', text: api.kind === 'electron' ? 'desktop' : 'browser' });
  // Exit without the tray (docs/desktop.md: Linux without a tray host has no tray menu at all).
  const quit = button(
    'Quit',
    'Quit Luna Tray (the daemon is stopped unless "keep daemon on exit" is set)',
    () => {
      quit.disabled = true;
      void api.invoke('app:quit', {}).then((res) => {
        setText(banner, res.ok ? 'Luna Tray is quitting…' : res.error.message);
        setHidden(banner, false);
        if (!res.ok) quit.disabled = false;
      });
    },
  );
  quit.dataset.action = 'quit';
  // A bug report's attachment: built by the core with secrets removed (docs/diagnostics.md).
  const diagnosticsNote = h('span', {
    class: 'muted',
    attrs: { role: 'status', 'data-testid': 'diagnostics-note' },
  });
  const diagnostics = button(
    'Save diagnostics',
    'Save diagnostics: an archive for bug reports, secrets removed',
    () => {
      diagnostics.disabled = true;
      void api.invoke('app:diagnostics', {}).then((res) => {
        diagnostics.disabled = false;
        if (res.ok) downloadBase64(res.value.fileName, res.value.archive);
        setText(
          diagnosticsNote,
          res.ok
            ? `Diagnostics saved as ${res.value.fileName} (token, env values and webhook secrets removed).`
            : `Could not save diagnostics: ${res.error.message}`,
        );
      });
    },
  );
  diagnostics.dataset.action = 'diagnostics';
  root.append(
    // The page's one heading, for screen readers (the visible title is the daemon state).
    h('h1', { class: 'visually-hidden', text: 'Luna Tray' }),
    h('header', { class: 'top' }, header.element, kind, diagnosticsNote, diagnostics, quit),
    banner,
    loadError,
    tablist,
    h('main', { class: 'panels' }, ...VIEWS.map((v) => panels[v])),
  );
  show(current, false);

  // ---- data ----------------------------------------------------------------------------------
  function applySnapshot(s: DaemonSnapshot): void {
    header.update(s);
    statusView.update(s);
    devicesView.status(s);
  }

  function applyDaemons(daemons: readonly DaemonSummary[]): void {
    daemonCards.update(daemons);
    logsView.setDaemons(daemons);
  }

  async function loadDaemons(): Promise<void> {
    const res = await api.invoke('daemons:list', {});
    if (!res.ok) return reportLoadError('the daemons', res.error.message);
    applyDaemons(res.value.daemons);
  }

  function reportLoadError(what: string, message: string): void {
    setText(loadError, `Could not load ${what}: ${message}`);
    setHidden(loadError, false);
  }

  async function loadSnapshot(): Promise<DaemonSnapshot | null> {
    const res = await api.invoke('daemon:get-snapshot', {});
    if (!res.ok) {
      reportLoadError('the daemon status', res.error.message);
      return null;
    }
    applySnapshot(res.value);
    return res.value;
  }

  async function loadSettings(initial: boolean): Promise<void> {
    const res = await api.invoke('settings:get', {});
    if (!res.ok) return reportLoadError('the settings', res.error.message);
    if (initial) settingsView.load(res.value.settings, res.value.path);
    else settingsView.external(res.value.settings);
  }

  async function loadInstances(): Promise<void> {
    const res = await api.invoke('comfy:list-instances', {});
    if (!res.ok) return reportLoadError('the ComfyUI instances', res.error.message);
    comfyView.update(res.value);
  }

  /** After a (re)connection: everything may have changed while the events were not flowing. */
  async function resync(): Promise<void> {
    const s = await loadSnapshot();
    await Promise.all([
      logSync.resync(s ? s.logSeq : null),
      loadSettings(false),
      loadInstances(),
      loadDaemons(),
    ]);
  }

  // Subscribe first, then load: pushes that arrive during the load are queued by LogSync and
  // deduplicated by seq, so nothing falls between the two (docs/architecture.md §13).
  disposers.push(
    api.on('daemon:status-changed', (s) => applySnapshot(s)),
    api.on('daemons:changed', ({ daemons }) => applyDaemons(daemons)),
    api.on('logs:appended', ({ entries }) => logSync.handleAppended(entries)),
    api.on('settings:changed', (s) => settingsView.external(s)),
    api.on('comfy:instances-changed', (d) => comfyView.update(d)),
    api.on('app:navigate', ({ view, daemon }) => {
      if (view === 'logs' && daemon !== undefined) logsView.showDaemon(daemon);
      show(view, true);
    }),
  );

  let probeTimer: ReturnType<typeof setInterval> | null = null;
  const stopProbe = () => {
    if (probeTimer) clearInterval(probeTimer);
    probeTimer = null;
  };
  const probe = async () => {
    const res = await api.invoke('daemon:get-snapshot', {});
    if (banner.hidden) return;
    if (!res.ok && (res.error.code === 'unauthorized' || res.error.code === 'forbidden')) {
      setText(banner, res.error.message);
    } else if (res.ok) {
      applySnapshot(res.value);
    }
  };
  disposers.push(
    api.onConnection((connected) => {
      if (!connected) {
        setText(banner, 'Waiting for Luna Tray… (the connection to its server was lost; reconnecting)');
        setHidden(banner, false);
        root.dataset.connected = 'false';
        if (!probeTimer) {
          probeTimer = setInterval(() => void probe(), PROBE_INTERVAL_MS);
          setTimeout(() => void probe(), 1000);
        }
      } else {
        setHidden(banner, true);
        setHidden(loadError, true);
        root.dataset.connected = 'true';
        stopProbe();
        void resync();
      }
    }),
    stopProbe,
  );

  void (async () => {
    await Promise.all([loadSnapshot(), logSync.load(), loadSettings(true), loadInstances(), loadDaemons()]);
    root.dataset.loaded = 'true';
  })();

  // ---- navigation and keyboard ---------------------------------------------------------------
  const onHash = () => {
    const v = viewFromHash(location.hash);
    if (v && v !== current) show(v, false);
  };
  const onKey = (ev: KeyboardEvent) => {
    const mod = ev.ctrlKey || ev.metaKey;
    const target = ev.target as HTMLElement | null;
    const typing =
      !!target &&
      (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA' || target.tagName === 'SELECT');
    if (mod && ev.key.toLowerCase() === 'f') {
      ev.preventDefault();
      show('logs', true);
      logsView.focusSearch();
    } else if (ev.key === 'End' && !typing && current === 'logs') {
      ev.preventDefault();
      logsView.follow();
    } else if (ev.key === 'Escape' && current === 'logs') {
      logsView.clearSearch();
    } else if (
      (ev.key === 'ArrowRight' || ev.key === 'ArrowLeft') &&
      target?.getAttribute('role') === 'tab'
    ) {
      const i = VIEWS.indexOf(current);
      const next = VIEWS[(i + (ev.key === 'ArrowRight' ? 1 : VIEWS.length - 1)) % VIEWS.length]!;
      show(next, true);
      tabs[next].focus();
    }
  };
  window.addEventListener('hashchange', onHash);
  window.addEventListener('keydown', onKey);
  disposers.push(
    () => window.removeEventListener('hashchange', onHash),
    () => window.removeEventListener('keydown', onKey),
  );

  return () => {
    for (const d of disposers.splice(0).reverse()) d();
  };
}
